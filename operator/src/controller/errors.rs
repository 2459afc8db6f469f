//! The controller's `Error`: a stable label for metrics and logs, whether retrying can help,
//! and the `Ready` reason a failure reports.

use kube::runtime::finalizer;

use crate::reconcile;
use crate::status::reasons;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reconcile(#[from] reconcile::Error),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("signing keys: {0}")]
    Keys(String),
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// The output Secret's name is taken by a Secret this pool does not own.
    #[error(
        "spec.secretName: Secret {0} exists and is not this pool's; the operator leaves it alone (pick another name, or delete that Secret)"
    )]
    SecretConflict(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// A stable label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Reconcile(e) => e.metric_label(),
            Self::Kube(_) => "kube_api",
            Self::Keys(_) => "signing_keys",
            Self::Finalizer(_) => "finalizer",
            Self::SecretConflict(_) => "secret_conflict",
            Self::Internal(_) => "internal",
        }
    }

    /// An invalid spec cannot heal by retrying: wait for the next change.
    pub fn waits_for_change(&self) -> bool {
        matches!(
            self,
            Self::Reconcile(
                reconcile::Error::InvalidSpec(_)
                    | reconcile::Error::Desired(_)
                    | reconcile::Error::NotAllowed(_)
            )
        )
    }

    /// The `Ready` reason this failure reports.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Reconcile(reconcile::Error::NotAllowed(_)) => reasons::NOT_ALLOWED,
            _ if self.waits_for_change() => reasons::INVALID_SPEC,
            Self::SecretConflict(_) => reasons::SECRET_CONFLICT,
            Self::Kube(_) | Self::Finalizer(_) => reasons::KUBERNETES_ERROR,
            Self::Keys(_) => reasons::SIGNING_KEY_ERROR,
            Self::Reconcile(reconcile::Error::TriggerUnhealthy(_)) => reasons::TRIGGER_UNHEALTHY,
            Self::Reconcile(_) | Self::Internal(_) => reasons::AWS_ERROR,
        }
    }

    /// The error inside a finalizer's: what Apply or Cleanup returned, or the Kubernetes call
    /// that adding or removing the finalizer made.
    pub fn from_finalizer(e: finalizer::Error<Self>) -> Self {
        match e {
            finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
            finalizer::Error::AddFinalizer(e) | finalizer::Error::RemoveFinalizer(e) => {
                Self::Kube(e)
            }
            other => Self::Finalizer(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_invalid_spec_waits_for_a_change_and_labels_are_stable() {
        let invalid = Error::Reconcile(reconcile::Error::InvalidSpec(
            crate::validate::validate(&serde_yaml::from_str("strategy: magicLink").unwrap())
                .unwrap_err(),
        ));
        assert!(invalid.waits_for_change());
        assert_eq!(invalid.reason(), reasons::INVALID_SPEC);
        assert_eq!(invalid.metric_label(), "invalid_spec");
        let keys = Error::Keys("x".into());
        assert!(!keys.waits_for_change());
        assert_eq!(keys.reason(), reasons::SIGNING_KEY_ERROR);
        assert_eq!(keys.metric_label(), "signing_keys");
    }
}

//! The controller's `Error`: a stable label for metrics and logs, what it calls for (retry with
//! backoff, or wait for a change: one [`Disposition`]), and the `Ready` reason it reports.

use kube::runtime::finalizer;

use crate::reconcile;
pub use crate::reconcile_error::Disposition;
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
    /// The labels of the controller's own failures, with their meaning; the reconcile's are
    /// [`reconcile::Error::METRIC_LABELS`].
    pub const METRIC_LABELS: [(&'static str, &'static str); 5] = [
        ("kube_api", "A Kubernetes API call failed."),
        (
            "signing_keys",
            "The pool's signing-key Secret could not be read or written.",
        ),
        (
            "finalizer",
            "The finalizer could not handle the object (no name, or a finalizer it cannot read); adding or removing it counts as kube_api.",
        ),
        (
            "secret_conflict",
            "spec.secretName names a Secret that is not the pool's.",
        ),
        ("internal", "A bug: the operator's own invariant broke."),
    ];

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

    /// What this failure calls for: the requeue (`wiring::error_policy`) and the `Stalled`
    /// condition (`reporting::report_failure`) both read it.
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::Reconcile(e) => e.disposition(),
            // The name frees only when someone deletes that Secret.
            Self::SecretConflict(_) => Disposition::WaitForChange,
            Self::Kube(_) | Self::Keys(_) | Self::Finalizer(_) | Self::Internal(_) => {
                Disposition::Retry
            }
        }
    }

    /// The `Ready` reason this failure reports.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Reconcile(reconcile::Error::NotAllowed(_)) => reasons::NOT_ALLOWED,
            Self::Reconcile(reconcile::Error::InvalidSpec(_) | reconcile::Error::Desired(_)) => {
                reasons::INVALID_SPEC
            }
            Self::SecretConflict(_) => reasons::SECRET_CONFLICT,
            Self::Kube(_) | Self::Finalizer(_) => reasons::KUBERNETES_ERROR,
            Self::Keys(_) => reasons::SIGNING_KEY_ERROR,
            Self::Reconcile(reconcile::Error::TriggerUnhealthy(_)) => reasons::TRIGGER_UNHEALTHY,
            Self::Reconcile(reconcile::Error::Conflict(
                crate::reconcile_error::Conflict::RelyingPartyIdChange { .. },
            )) => reasons::RELYING_PARTY_ID_CHANGE,
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
    /// Each failure's disposition, `Ready` reason and metrics label. A trigger that refuses its
    /// configuration waits for a change; one whose keys could not be read yet, or that failed
    /// otherwise, is retried.
    fn each_failure_has_one_disposition_reason_and_label() {
        use Disposition::{Retry, WaitForChange};
        use passwordless_contract::probe::{KEYS_UNREADABLE as unreadable, REFUSED_PREFIX};
        let refused = |why: &str| format!("{REFUSED_PREFIX}{why}");
        let unhealthy =
            |reason: &str| Error::Reconcile(reconcile::Error::TriggerUnhealthy(reason.to_owned()));
        let trigger = reasons::TRIGGER_UNHEALTHY;
        let invalid = Error::Reconcile(reconcile::Error::InvalidSpec(
            crate::validate::validate(&serde_yaml::from_str("strategy: magicLink").unwrap())
                .unwrap_err(),
        ));
        let aws = |transient| {
            Error::Reconcile(reconcile::Error::Aws(crate::aws::AwsError::Call {
                operation: "lambda:GetFunction",
                code: "X".into(),
                message: String::new(),
                transient,
            }))
        };
        let cases = [
            (
                invalid,
                WaitForChange,
                reasons::INVALID_SPEC,
                "invalid_spec",
            ),
            (
                Error::SecretConflict("s".into()),
                WaitForChange,
                reasons::SECRET_CONFLICT,
                "secret_conflict",
            ),
            (
                Error::Reconcile(reconcile::Error::NotAllowed(crate::tenancy::NotAllowed {
                    field: "spec.sender.address",
                    message: "n".into(),
                })),
                WaitForChange,
                reasons::NOT_ALLOWED,
                "not_allowed",
            ),
            (
                unhealthy(&refused("PWP_X: too short")),
                WaitForChange,
                trigger,
                "trigger_unhealthy",
            ),
            (
                unhealthy(&refused(&format!(
                    "PWP_SIGNING_KEYS_SECRET: {unreadable}AccessDenied"
                ))),
                Retry,
                trigger,
                "trigger_unhealthy",
            ),
            (
                unhealthy("Task timed out after 5.00 seconds"),
                Retry,
                trigger,
                "trigger_unhealthy",
            ),
            (
                Error::Keys("x".into()),
                Retry,
                reasons::SIGNING_KEY_ERROR,
                "signing_keys",
            ),
            (aws(true), Retry, reasons::AWS_ERROR, "aws_transient"),
            (aws(false), Retry, reasons::AWS_ERROR, "aws_error"),
            (
                Error::Reconcile(reconcile::Error::Conflict(reconcile::Conflict::NoName)),
                Retry,
                reasons::AWS_ERROR,
                "conflict",
            ),
        ];
        for (error, disposition, reason, label) in cases {
            assert_eq!(
                (error.disposition(), error.reason(), error.metric_label()),
                (disposition, reason, label),
                "{error}"
            );
            // The metrics reference lists every label.
            let documented = Error::METRIC_LABELS
                .iter()
                .chain(&reconcile::Error::METRIC_LABELS)
                .any(|(l, _)| *l == label);
            assert!(documented, "{label}");
            // The reference says of each reason whether it stalls: it must be so.
            let documented = reasons::find(reason).expect("every reason is documented");
            let stalls = documented.stalls;
            match disposition {
                WaitForChange => assert_ne!(stalls, reasons::Stalls::Never, "{reason}"),
                Retry => assert_ne!(stalls, reasons::Stalls::Always, "{reason}"),
            }
        }
    }
}

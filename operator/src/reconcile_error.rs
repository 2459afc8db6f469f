//! The error of one reconcile (an apply or a deletion), below the layers that raise it: `stack/`
//! returns it from each step, `reconcile` from the whole, the controller and the CLI report it.

use passwordless_contract::probe;

use crate::aws::AwsError;
use crate::desired::DesiredError;
use crate::tenancy::NotAllowed;
use crate::validate::InvalidSpec;

/// Passes before giving up: a first apply needs two (the role's policy can name the pool only
/// once the pool exists); a third means something keeps changing under us.
pub const MAX_PASSES: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidSpec(#[from] InvalidSpec),
    #[error(transparent)]
    Desired(#[from] DesiredError),
    /// The platform team's tenancy rules do not grant what the spec asks.
    #[error("not allowed: {0}")]
    NotAllowed(#[from] NotAllowed),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{0}")]
    Conflict(String),
    #[error("AWS did not settle after {MAX_PASSES} passes; still pending: {0}")]
    NotConverged(String),
    #[error("recording IDs failed: {0}")]
    Record(String),
    /// The deployed trigger refused its configuration when the operator probed it.
    #[error("the trigger function does not start: {0}")]
    TriggerUnhealthy(String),
}

impl Error {
    /// A stable label for metrics and conditions.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::InvalidSpec(_) | Self::Desired(_) => "invalid_spec",
            Self::NotAllowed(_) => "not_allowed",
            Self::Aws(AwsError::TriggerCode(_)) => "trigger_code",
            Self::Aws(e) if e.is_transient() => "aws_transient",
            Self::Aws(_) => "aws_error",
            Self::Conflict(_) => "conflict",
            Self::NotConverged(_) => "not_converged",
            Self::Record(_) => "record_failed",
            Self::TriggerUnhealthy(_) => "trigger_unhealthy",
        }
    }

    /// What this failure calls for (see [`Disposition`]).
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::InvalidSpec(_) | Self::Desired(_) | Self::NotAllowed(_) => {
                Disposition::WaitForChange
            }
            Self::TriggerUnhealthy(reason) if probe::refused_for_good(reason) => {
                Disposition::WaitForChange
            }
            Self::TriggerUnhealthy(_)
            | Self::Aws(_)
            | Self::Conflict(_)
            | Self::NotConverged(_)
            | Self::Record(_) => Disposition::Retry,
        }
    }
}

/// What a failure calls for: a retry with backoff (it may clear by itself), or a wait for a
/// change of the spec, of the platform team's settings, or of what stands in the way (a
/// Secret's name, a trigger's configuration), re-checked each resync and reported `Stalled`.
/// One answer, which the requeue, the conditions and the metrics label all read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Retry,
    WaitForChange,
}

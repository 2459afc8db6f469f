//! The error of one reconcile (an apply or a deletion), below the layers that raise it: `stack/`
//! returns it from each step, `reconcile` from the whole, the controller and the CLI report it.

use passwordless_contract::probe;

use crate::aws::AwsError;
use crate::desired::DesiredError;
use crate::names::NotOurs;
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
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error("AWS did not settle after {MAX_PASSES} passes; still pending: {0}")]
    NotConverged(String),
    /// Not `#[from]`: the message shows the cause already, and a chain would show it twice.
    #[error("recording IDs failed: {0}")]
    Record(RecordError),
    /// The deployed trigger refused its configuration when the operator probed it.
    #[error("the trigger function does not start: {0}")]
    TriggerUnhealthy(String),
}

/// What stands in the way of a spec that is valid on its own: a resource that is not this
/// pool's, or a pool that cannot become what the spec asks. Each names the field or the resource
/// and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error(transparent)]
    NotOurs(#[from] NotOurs),
    #[error(
        "spec.adopt.userPoolId is {adopt} but this pool manages {recorded}; a PasswordlessPool adopts one pool for its lifetime: create a new one to adopt another"
    )]
    AdoptionChanged { recorded: String, adopt: String },
    #[error("spec.adopt.userPoolId {0} does not exist in this account and region")]
    AdoptedPoolMissing(String),
    #[error(
        "spec.adopt.userPoolId {id} has settings the operator does not manage and an update would reset: {}; remove them from the pool, or manage the pool without the operator",
        .settings.join(", ")
    )]
    UnmanagedSettings { id: String, settings: Vec<String> },
    #[error(
        "the user pool signs in by {found:?} and the spec needs {wanted:?}; Cognito cannot change that: create a new PasswordlessPool"
    )]
    UsernameAttributes {
        found: Vec<String>,
        wanted: Vec<String>,
    },
    #[error(
        "spec.managedLogin: the user pool already has the domain {0}, which the operator did not create and never deletes; name it in spec.managedLogin, or remove it from the pool first"
    )]
    ForeignDomain(String),
    #[error(
        "spec.managedLogin: the user pool's domain {domain} was not made by the operator, which never changes it, and it differs from the spec: {}; match the spec to it, or change the domain by hand",
        .differences.join(", ")
    )]
    ForeignDomainDiffers {
        domain: String,
        differences: Vec<String>,
    },
    /// The domain the spec asks for belongs to another user pool (of any account: names are
    /// unique per region).
    #[error("{field}: the domain {domain} is taken by another user pool; choose another")]
    DomainTaken { field: &'static str, domain: String },
    /// A domain this pool shows (its own, by the pool's tag) now belongs to another user pool.
    #[error("the domain {0} is taken by another user pool")]
    DomainTakenSince(String),
    #[error(
        "spec.rateLimit: the user pool already has web ACL {other}, not this pool's {name}; detach it first, or drop spec.rateLimit and manage WAF yourself"
    )]
    ForeignWebAcl { other: String, name: String },
    #[error("the manifest has no metadata.name")]
    NoName,
    /// A passkey works only on the relying party it was registered for.
    #[error(
        "spec.native.webAuthnRelyingPartyId: the user pool's relying-party id is {from}; changing it to {to} orphans every passkey its users registered, so nothing was changed. If intended, annotate the pool with passwordless-operator.dev/acknowledge-relying-party-id: {to}"
    )]
    RelyingPartyIdChange { from: String, to: String },
}

impl From<RecordError> for Error {
    fn from(e: RecordError) -> Self {
        Self::Record(e)
    }
}

/// Writing the IDs down failed (the state file, the pool's status).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct RecordError(#[from] pub Box<dyn std::error::Error + Send + Sync>);

impl Error {
    /// Every label [`Error::metric_label`] gives, with its meaning: the metrics reference lists
    /// them.
    pub const METRIC_LABELS: [(&'static str, &'static str); 9] = [
        ("invalid_spec", "The spec breaks a rule (InvalidSpec)."),
        (
            "not_allowed",
            "The tenancy rules do not grant what the spec asks (NotAllowed).",
        ),
        (
            "trigger_code",
            "The trigger's deployment package could not be read.",
        ),
        (
            "aws_transient",
            "An AWS call failed in a way that may clear: throttling, a 5xx, a timeout.",
        ),
        ("aws_error", "An AWS call was refused."),
        (
            "conflict",
            "A resource stands in the way: not the pool's, or not what the spec can become.",
        ),
        (
            "not_converged",
            "AWS did not settle within the passes of one reconcile.",
        ),
        (
            "record_failed",
            "The IDs AWS assigned could not be recorded.",
        ),
        (
            "trigger_unhealthy",
            "The trigger refused its configuration, or did not answer the probe.",
        ),
    ];

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
            // Only the spec or the acknowledgement changes it.
            Self::Conflict(Conflict::RelyingPartyIdChange { .. }) => Disposition::WaitForChange,
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

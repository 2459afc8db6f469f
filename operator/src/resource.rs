//! Pure: one kind of AWS resource of a pool as the plan sees it: its label, its AWS name, the
//! fields the spec wants and the fields it has. `stack/` gives each its I/O ([`crate::stack::
//! StackResource`] extends this); `diff` plans with this alone, so the plan never reaches the
//! I/O layer.

use crate::desired::DesiredStack;
use crate::names::StackNames;
use crate::observed::ObservedStack;

/// `(field, rendered value)` pairs, sorted by field; secrets only as fingerprints.
pub type FieldList = Vec<(String, String)>;

/// What the plan knows of one kind of resource.
pub trait Resource: Sync {
    /// What the plan calls it, e.g. `iam role`.
    fn label(&self) -> &'static str;
    /// Its AWS name, for the plan.
    fn name(&self, names: &StackNames, desired: &DesiredStack) -> String;
    /// The fields the spec wants; None: it should not exist.
    fn desired(&self, desired: &DesiredStack) -> Option<FieldList>;
    /// The fields it has; None: it does not exist.
    fn observed(&self, observed: &ObservedStack) -> Option<FieldList>;
    /// Shared or verified by a person: created when missing, never deleted.
    fn kept(&self) -> bool {
        false
    }
    /// Its desired state names the user pool: when the pool is created in a pass, it waits for
    /// the next pass, whose desired state carries the new pool's id.
    fn needs_pool_id(&self) -> bool {
        false
    }
}

/// The resource of `resources` a plan's change names.
pub fn by_label<'r, R: Resource + ?Sized>(resources: &[&'r R], label: &str) -> Option<&'r R> {
    resources.iter().copied().find(|r| r.label() == label)
}

/// Labels, for code that asks about one resource (tests, the plan's readers).
pub mod labels {
    pub const SENDER_IDENTITY: &str = "ses identity";
    pub const EXECUTION_ROLE: &str = "iam role";
    pub const STATE_TABLE: &str = "dynamodb table";
    pub const KEYS_SECRET: &str = "secretsmanager secret";
    pub const TRIGGER_FUNCTION: &str = "lambda function";
    pub const USER_POOL: &str = "cognito user pool";
    pub const INVOKE_PERMISSION: &str = "lambda permission";
    pub const APP_CLIENT: &str = "cognito app client";
    pub const USER_POOL_DOMAIN: &str = "cognito user pool domain";
    pub const LOGIN_STYLE: &str = "cognito managed login style";
    pub const WEB_ACL: &str = "wafv2 web acl";
}

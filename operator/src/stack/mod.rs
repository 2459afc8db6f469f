//! The AWS resources of one pool, as one ordered list: [`STACK`]. Each resource answers the same
//! few questions (its name and fields for the plan, observe, create, update, delete) in its own
//! file. Apply follows the list; deletion follows it in reverse. Adding a resource is a file here
//! and a line in [`STACK`] (plus its desired shape in `desired.rs` and its slot in
//! `observed.rs`).

mod client;
mod domain;
mod function;
mod keys_secret;
mod login_style;
mod permission;
mod role;
mod sender;
mod table;
mod user_pool;
mod web_acl;

use std::future::Future;
use std::pin::Pin;

pub use function::only_awaits_probe;
pub use user_pool::locate_pool;

use crate::aws::Clients;
use crate::desired::{Context, DesiredStack};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};
use crate::reconcile::Error;

/// One step's future. Boxed, so the resources fit one list of trait objects.
pub type Step<'a, T = ()> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// `(field, rendered value)` pairs, sorted by field; secrets only as fingerprints.
pub type FieldList = Vec<(String, String)>;

/// What observation can see: the desired state (computed once, before observing) and the IDs
/// already known (the user pool's located by [`locate_pool`]).
pub struct Observing<'a> {
    pub c: &'a Clients,
    pub names: &'a StackNames,
    /// Where the pool lives (partition, region, account): the ARNs it names.
    pub ctx: &'a Context,
    pub desired: &'a DesiredStack,
    pub known: &'a ObservedIds,
    /// The user pool under the known id, read first: whose it is says whose the rest is.
    pub pool: Option<&'a crate::aws::cognito::ObservedPool>,
    /// The pool was adopted (`spec.adopt`), not created by this operator.
    pub adopted: bool,
    /// Observing to delete: what only matters for an apply (e.g. a username attribute the
    /// spec can no longer have) must not stand in the way.
    pub cleanup: bool,
}

/// What every change of one pass can see.
pub struct Pass<'a> {
    pub c: &'a Clients,
    pub names: &'a StackNames,
    pub desired: &'a DesiredStack,
    pub observed: &'a ObservedStack,
    /// The trigger's deployment package.
    pub code: &'a crate::trigger_code::TriggerCode,
}

/// One kind of AWS resource of a pool.
pub trait StackResource: Sync {
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
    /// Reads it into `into` (earlier resources of the list are there already).
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a>;
    /// Creates it; records any id AWS assigns in `ids`.
    fn create<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a>;
    /// Brings it to the desired state, sending its whole configuration.
    fn update<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a>;
    /// Removes it; already gone counts as done.
    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a>;
}

/// Every resource of a pool, in the order they are created.
pub static STACK: [&dyn StackResource; 11] = [
    &sender::SenderIdentity,
    &role::ExecutionRole,
    &table::StateTable,
    &keys_secret::KeysSecret,
    &function::TriggerFunction,
    &user_pool::UserPool,
    &permission::InvokePermission,
    &client::AppClient,
    &domain::UserPoolDomain,
    &login_style::LoginStyle,
    &web_acl::WebAcl,
];

/// The resource a plan's change names.
pub fn by_label(label: &str) -> Option<&'static dyn StackResource> {
    STACK.iter().copied().find(|r| r.label() == label)
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

/// Whether a resource found under this pool's name is its own to observe (and so to update or
/// delete). Another's is refused when applying, and left alone, as if absent, when deleting:
/// a deletion never hangs on what is not the pool's (a retained stack of an earlier object of
/// the same name, a resource another tool made).
fn owned(cx: &Observing<'_>, what: &str, tags: &crate::aws::Tags) -> Result<bool, Error> {
    match cx
        .names
        .check_owned(what, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        Ok(()) => Ok(true),
        Err(why) if cx.cleanup => {
            tracing::warn!(%why, "the deletion leaves it alone");
            Ok(false)
        }
        Err(why) => Err(Error::Conflict(why)),
    }
}

/// Wraps an async block as a [`Step`].
fn step<'a>(f: impl Future<Output = Result<(), Error>> + Send + 'a) -> Step<'a> {
    Box::pin(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_found_again() {
        for r in STACK {
            assert_eq!(by_label(r.label()).map(|f| f.label()), Some(r.label()));
        }
        let mut labels: Vec<_> = STACK.iter().map(|r| r.label()).collect();
        labels.dedup();
        assert_eq!(labels.len(), STACK.len());
    }
}

//! The AWS resources of one pool, as one ordered list: [`STACK`]. Each resource answers the same
//! few questions in its own file: what the plan sees of it (its label, name and fields: the
//! pure [`Resource`], which `diff` plans with), and its I/O (observe, create, update, delete:
//! [`StackResource`]). Apply follows the list; deletion follows it in reverse. Adding a resource:
//! see `docs/src/design/adding-a-resource.md`.

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

pub use crate::resource::{FieldList, Resource, labels};

use crate::aws::Clients;
use crate::desired::{DesiredStack, Facts};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};
use crate::reconcile_error::{Conflict, Error};

/// One step's future. Boxed, so the resources fit one list of trait objects.
pub type Step<'a, T = ()> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// What observation can see: the desired state (computed once, before observing) and the IDs
/// already known (the user pool's located by [`locate_pool`]).
pub struct Observing<'a> {
    pub c: &'a Clients,
    pub names: &'a StackNames,
    /// Where the pool lives (partition, region, account): the ARNs it names.
    pub facts: &'a Facts,
    pub desired: &'a DesiredStack,
    pub known: &'a ObservedIds,
    /// The user pool under the known id, read first: whose it is says whose the rest is.
    pub pool: Option<&'a crate::aws::cognito::ObservedPool>,
    /// The pool was adopted (`spec.adopt`), not created by this operator.
    pub adopted: bool,
    /// Observing to delete: what only matters for an apply (e.g. a username attribute the
    /// spec can no longer have) must not stand in the way.
    pub cleanup: bool,
    /// The relying-party id a change is acknowledged for (the annotation's value).
    pub acknowledged_relying_party_id: Option<&'a str>,
}

/// What every change of one pass can see.
pub struct Pass<'a> {
    pub c: &'a Clients,
    pub names: &'a StackNames,
    pub desired: &'a DesiredStack,
    pub observed: &'a ObservedStack,
    /// The trigger's deployment package.
    pub code: &'a crate::trigger_code::Package<'a>,
}

/// One kind of AWS resource of a pool: what the plan sees of it ([`Resource`]), and its I/O.
pub trait StackResource: Resource {
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
    crate::resource::by_label(&STACK, label)
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
        Err(why) => Err(Conflict::NotOurs(why).into()),
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

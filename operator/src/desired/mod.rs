//! Pure: a PasswordlessPool spec (plus the IDs already known) becomes the AWS state we want.
//!
//! Each resource has its own file, named as in `stack/`: its configuration (a plain struct
//! that [`Fields`] flattens into named values, all the diff needs, so the same struct describes
//! what is desired and what was observed) and the function that builds it from the spec.
//! `facts.rs` holds what the spec does not say (where the pool lives) and the pool's own ARNs; `boundary.rs` the permissions boundary
//! of trigger roles. Nothing here performs I/O.

mod boundary;
mod client;
mod domain;
mod facts;
mod fields;
mod function;
mod keys_secret;
mod login_style;
mod messages;
mod permission;
mod role;
mod sender;
mod table;
#[cfg(test)]
pub(crate) mod tests;
mod user_pool;
mod web_acl;

use std::collections::BTreeMap;

pub use boundary::{
    DEFAULT_TRIGGER_BOUNDARY, NotABoundaryName, TRIGGER_BOUNDARY_PATTERN, TriggerBoundary,
    trigger_boundary_policy,
};
pub use client::{ClientConfig, OAuthConfig, WRITABLE_ATTRIBUTES};
pub use domain::{DOMAIN_ACTIVE, DOMAIN_FAILED, DomainConfig};
pub use facts::Facts;
pub use fields::{Fields, fingerprint};
pub use function::{
    FunctionConfig, LAMBDA_ENV_LIMIT, TRIGGER_HANDLER, TRIGGER_MEMORY_MB, TRIGGER_RUNTIME,
    TRIGGER_TIMEOUT_SECONDS, VERIFIED_FIELD,
};
pub use keys_secret::KeysSecretConfig;
pub use login_style::LoginStyleConfig;
pub use messages::{Messages, languages, messages};
pub use permission::{COGNITO_PRINCIPAL, PERMISSION_STATEMENT, PermissionConfig};
pub use role::{LAMBDA_PRINCIPAL, RoleConfig};
pub use sender::SenderConfig;
pub use table::TableConfig;
pub use user_pool::{
    ESSENTIALS, LITE, PLANS, Tier, USER_POOL_TIER_FIELD, UserPoolConfig, keep_adopted_settings,
    mark_operator_domains, tier,
};
pub use web_acl::WebAclConfig;

use crate::crd::Strategy;
use crate::names::StackNames;
use crate::validate::ValidatedSpec;

/// The AWS state one PasswordlessPool wants. Trigger resources (role, state table, keys secret,
/// function, permission) are absent for `native`.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredStack {
    pub names: StackNames,
    pub tags: BTreeMap<String, String>,
    pub sender: Option<SenderConfig>,
    pub role: Option<RoleConfig>,
    pub table: Option<TableConfig>,
    pub keys_secret: Option<KeysSecretConfig>,
    /// The role ARN inside is a placeholder until the role exists.
    pub function: Option<FunctionConfig>,
    pub permission: Option<PermissionConfig>,
    pub user_pool: UserPoolConfig,
    pub client: ClientConfig,
    /// Managed login's domain and the client's style (`spec.managedLogin`).
    pub domain: Option<DomainConfig>,
    pub login_style: Option<LoginStyleConfig>,
    pub web_acl: Option<WebAclConfig>,
}

/// Why no desired state can be computed for a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    #[error(
        "the trigger's environment would be {0} bytes, over Lambda's 4 KB limit: shorten spec.email's templates"
    )]
    EnvironmentTooLarge(usize),
}

/// Computes everything the spec asks for, each resource from its own file, in the order of
/// `stack::STACK`.
pub fn desired_stack(
    spec: &ValidatedSpec,
    names: &StackNames,
    facts: &Facts,
) -> Result<DesiredStack, DesiredError> {
    let tags = names.tags(&spec.tags);
    let sender = sender::desired(spec, facts);
    // Every trigger strategy keeps cooldowns and failure counts (and links their single use).
    let uses_triggers = spec.strategy != Strategy::Native;
    let role = uses_triggers.then(|| role::desired(spec, names, facts, sender.as_ref()));
    let table = uses_triggers.then(|| table::desired(names));
    let keys_secret = uses_triggers.then(|| keys_secret::desired(names, facts));
    let function = uses_triggers
        .then(|| function::desired(spec, names, facts))
        .transpose()?;
    let user_pool = user_pool::desired(spec, names, facts, sender.as_ref(), &tags);
    let permission = uses_triggers.then(|| permission::desired(facts));
    Ok(DesiredStack {
        names: names.clone(),
        client: client::desired(spec, names),
        domain: domain::desired(spec),
        login_style: login_style::desired(spec),
        web_acl: web_acl::desired(spec, names, facts),
        tags,
        sender,
        role,
        table,
        keys_secret,
        function,
        permission,
        user_pool,
    })
}

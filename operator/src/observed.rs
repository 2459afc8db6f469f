//! What exists in AWS for one pool, in the same shapes as [`crate::desired`], so the diff can
//! compare them field by field. Filled by the AWS layer; plain data here.

use crate::desired::{
    ClientConfig, DomainConfig, FunctionConfig, KeysSecretConfig, PermissionConfig, RoleConfig,
    TableConfig, UserPoolConfig, WebAclConfig,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderObserved {
    pub identity: String,
    /// SES's word: Success, Pending, Failed, TemporaryFailure, NotStarted.
    pub verification_status: String,
    /// A domain identity's Easy DKIM tokens (empty for an address).
    pub dkim_tokens: Vec<String>,
}

impl SenderObserved {
    pub fn verified(&self) -> bool {
        self.verification_status == "Success"
    }
}

/// The web ACL as found, with what updating or deleting it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct WebAclObserved {
    pub config: WebAclConfig,
    pub id: String,
    pub arn: String,
}

/// A user pool holds at most one prefix domain and one custom domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolDomains {
    pub prefix: Option<String>,
    pub custom: Option<String>,
}

/// IDs and ARNs AWS assigned, as far as they are known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedIds {
    pub user_pool_id: Option<String>,
    pub user_pool_arn: Option<String>,
    pub client_id: Option<String>,
    pub function_arn: Option<String>,
    /// The pool's WAF web ACL (`spec.rateLimit`): kept so a deletion interrupted between
    /// detaching it and deleting it still finds it.
    pub web_acl_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedStack {
    pub sender: Option<SenderObserved>,
    pub role: Option<RoleConfig>,
    pub table: Option<TableConfig>,
    pub keys_secret: Option<KeysSecretConfig>,
    pub function: Option<FunctionConfig>,
    pub permission: Option<PermissionConfig>,
    pub user_pool: Option<UserPoolConfig>,
    pub client: Option<ClientConfig>,
    /// The domains the user pool has, as DescribeUserPool names them (read with the pool).
    pub pool_domains: PoolDomains,
    pub domain: Option<DomainConfig>,
    /// The domains the operator made on the pool or is about to make: what the pool's domains
    /// tag must say.
    pub operator_domains: Vec<String>,
    /// The id of the client's managed login style.
    pub login_style: Option<String>,
    pub web_acl: Option<WebAclObserved>,
    pub ids: ObservedIds,
}

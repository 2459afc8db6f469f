//! Where a pool lives (partition, region, account), its code and keys, and the ids already
//! known: and from those, the ARN of each of the pool's own resources. (Every ARN's text comes
//! from [`Partition::arn`]; the wildcards of the policies that cover every pool are in
//! `role.rs` and `boundary.rs`.)

use super::TriggerBoundary;
use super::fields::fingerprint;
use crate::names::StackNames;
use crate::partition::Partition;

/// What the spec alone does not say: where, which account, which code, which keys, and the IDs
/// of resources that already exist (None until created: "known after apply").
#[derive(Clone, Default)]
pub struct Facts {
    pub region: String,
    /// The caller identity's partition: every ARN below is written in it.
    pub partition: Partition,
    pub account_id: Option<String>,
    /// base64(sha256(zip)), as Lambda reports CodeSha256.
    pub code_sha256: String,
    /// `kid:base64,kid:base64`, current first.
    pub signing_keys: String,
    pub user_pool_id: Option<String>,
    /// The trigger roles' permissions boundary, found in this account by its path and name.
    pub trigger_boundary: TriggerBoundary,
}

/// Shows the signing keys as a fingerprint, never as themselves.
impl std::fmt::Debug for Facts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts")
            .field("region", &self.region)
            .field("partition", &self.partition)
            .field("account_id", &self.account_id)
            .field("code_sha256", &self.code_sha256)
            .field("signing_keys", &fingerprint(&self.signing_keys))
            .field("user_pool_id", &self.user_pool_id)
            .field("trigger_boundary", &self.trigger_boundary)
            .finish()
    }
}

/// Every ARN the desired state names: in the pool's partition, region and account.
impl Facts {
    pub(super) fn account(&self) -> &str {
        self.account_id.as_deref().unwrap_or("(account)")
    }

    /// A regional resource of this pool's account.
    fn arn(&self, service: &str, resource: &str) -> String {
        self.partition
            .arn(service, &self.region, self.account(), resource)
    }

    pub fn user_pool_arn(&self) -> Option<String> {
        let id = self.user_pool_id.as_deref()?;
        Some(self.arn("cognito-idp", &format!("userpool/{id}")))
    }

    /// IAM is global: its ARNs name no region.
    pub fn role_arn(&self, names: &StackNames) -> String {
        self.partition
            .arn("iam", "", self.account(), &format!("role/{}", names.role))
    }

    /// The boundary policy in this pool's account.
    pub fn trigger_boundary_arn(&self) -> String {
        self.trigger_boundary.arn(&self.partition, self.account())
    }

    pub fn function_arn(&self, names: &StackNames) -> String {
        self.arn("lambda", &format!("function:{}", names.function))
    }

    pub fn table_arn(&self, names: &StackNames) -> String {
        self.arn("dynamodb", &format!("table/{}", names.table))
    }

    pub fn ses_identity_arn(&self, identity: &str) -> String {
        self.arn("ses", &format!("identity/{identity}"))
    }

    /// The trigger's log group, where Lambda writes its logs.
    pub fn log_group_arn(&self, names: &StackNames) -> String {
        self.arn("logs", &format!("log-group:/aws/lambda/{}", names.function))
    }

    /// The keys secret under any suffix: AWS appends six random characters to a secret's name
    /// in its ARN.
    pub fn keys_secret_arn_pattern(&self, names: &StackNames) -> String {
        self.arn(
            "secretsmanager",
            &format!("secret:{}-??????", names.keys_secret),
        )
    }
}

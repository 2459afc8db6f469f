//! The permission that lets the user pool (and only it) invoke the trigger.

use super::Facts;
use super::fields::Fields;

pub const PERMISSION_STATEMENT: &str = "passwordless-operator-cognito";
/// Service principals are `SERVICE.amazonaws.com` in every partition, China's and GovCloud's
/// too (the `.amazonaws.com.cn` forms are legacy exceptions of services not used here).
pub const COGNITO_PRINCIPAL: &str = "cognito-idp.amazonaws.com";

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionConfig {
    pub statement_id: String,
    pub principal: String,
    pub source_arn: String,
    pub source_account: String,
}

impl Fields for PermissionConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![
            ("principal".into(), self.principal.clone()),
            ("sourceAccount".into(), self.source_account.clone()),
            ("sourceArn".into(), self.source_arn.clone()),
        ]
    }
}

pub(super) fn desired(facts: &Facts) -> PermissionConfig {
    PermissionConfig {
        statement_id: PERMISSION_STATEMENT.to_owned(),
        principal: COGNITO_PRINCIPAL.to_owned(),
        source_arn: facts
            .user_pool_arn()
            .unwrap_or_else(|| "(known after apply)".to_owned()),
        source_account: facts.account().to_owned(),
    }
}

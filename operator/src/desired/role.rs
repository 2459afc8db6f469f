//! The trigger's execution role: Lambda may assume it; its policy is least privilege per
//! strategy, and it carries the permissions boundary (`boundary.rs`).

use serde_json::{Value, json};

use super::fields::{Fields, opt};
use super::{Facts, SenderConfig};
use crate::crd::Strategy;
use crate::names::StackNames;
use crate::validate::ValidatedSpec;

pub const LAMBDA_PRINCIPAL: &str = "lambda.amazonaws.com";

#[derive(Debug, Clone, PartialEq)]
pub struct RoleConfig {
    pub name: String,
    pub trust_policy: Value,
    pub policy_name: String,
    pub policy: Value,
    /// The managed policy's ARN; None on a role made before boundaries (or stripped of it).
    pub permissions_boundary: Option<String>,
}

impl Fields for RoleConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![
            ("assumeRolePolicy".into(), self.trust_policy.to_string()),
            (
                format!("inlinePolicy.{}", self.policy_name),
                self.policy.to_string(),
            ),
            (
                "permissionsBoundary".into(),
                opt(&self.permissions_boundary),
            ),
        ]
    }
}

pub(super) fn desired(
    spec: &ValidatedSpec,
    names: &StackNames,
    facts: &Facts,
    sender: Option<&SenderConfig>,
) -> RoleConfig {
    RoleConfig {
        name: names.role.clone(),
        trust_policy: trust_policy(),
        policy_name: names.role_policy.clone(),
        policy: trigger_policy(spec, names, facts, sender),
        permissions_boundary: Some(facts.trigger_boundary_arn()),
    }
}

fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": LAMBDA_PRINCIPAL}, "Action": "sts:AssumeRole"}]
    })
}

/// Least privilege: send from this sender's address only, SMS only for SMS, this table and
/// this keys secret only, this pool only, and the function's own log group.
fn trigger_policy(
    spec: &ValidatedSpec,
    names: &StackNames,
    facts: &Facts,
    sender: Option<&SenderConfig>,
) -> Value {
    let log_group = facts.log_group_arn(names);
    let mut statements = vec![
        // Its own log group only, not every group in the account.
        json!({"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": log_group.clone()}),
        json!({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
               "Resource": format!("{log_group}:*")}),
        json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
               "Resource": facts.keys_secret_arn_pattern(names)}),
        json!({"Effect": "Allow",
               "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
               "Resource": facts.table_arn(names)}),
    ];
    if let (Some(sender), Some(from), true) = (
        sender,
        spec.sender.as_ref(),
        spec.strategy != Strategy::SmsOtp,
    ) {
        // A domain identity would let the role send as any address of the domain: the
        // condition pins it to the spec's address.
        statements.push(json!({"Effect": "Allow", "Action": "ses:SendEmail",
            "Resource": facts.ses_identity_arn(&sender.identity),
            "Condition": {"StringEquals": {"ses:FromAddress": from.address}}}));
    }
    if spec.strategy == Strategy::SmsOtp {
        // SMS to a phone number has no resource ARN; deny publishing to topics instead.
        let topics = facts.partition.arn("sns", "*", "*", "*");
        statements.push(json!({"Effect": "Allow", "Action": "sns:Publish", "NotResource": topics}));
    }
    // PostAuthentication marks the proven address or phone verified. Until the pool exists
    // its id is unknown: no grant rather than `userpool/*` (the pool's triggers cannot run
    // before the next pass anyway).
    if let Some(pool) = facts.user_pool_arn() {
        statements.push(json!({"Effect": "Allow", "Action": "cognito-idp:AdminUpdateUserAttributes", "Resource": pool}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

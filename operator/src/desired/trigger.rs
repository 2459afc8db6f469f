//! The trigger function's environment (the operator's half of the contract), its role's
//! least-privilege policy, and the permissions boundary every trigger role carries.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::LazyLock;

use passwordless_contract::env as vars;
use serde_json::{Value, json};

use super::{Context, LAMBDA_PRINCIPAL, SenderConfig};
use crate::crd::Strategy;
use crate::names::{MANAGED_BY, MANAGED_BY_TAG, StackNames};
use crate::partition::Partition;
use crate::validate::ValidatedSpec;

/// The trigger's environment: the names are the contract's (`passwordless_contract::env`), the
/// values come from the validated spec, so they lie in the ranges the trigger accepts.
pub(super) fn trigger_environment(
    spec: &ValidatedSpec,
    names: &StackNames,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set(vars::STRATEGY, spec.strategy.as_str().to_owned());
    set(vars::ATTEMPT_LIMIT, spec.attempt_limit.to_string());
    // The secret's name: GetSecretValue takes it as well as the ARN, which AWS suffixes.
    set(vars::SIGNING_KEYS_SECRET, names.keys_secret.clone());
    set(vars::TABLE_NAME, names.table.clone());
    let limits = &spec.limits;
    set(
        vars::MIN_INTERVAL_SECONDS,
        limits.min_interval_seconds.to_string(),
    );
    set(vars::MAX_FAILURES, limits.max_failures.to_string());
    set(vars::LOCKOUT_SECONDS, limits.lockout_seconds.to_string());
    set(vars::SIGN_UP, spec.sign_up.as_str().to_owned());
    set(vars::OTP_LENGTH, spec.otp.length.to_string());
    set(vars::OTP_TTL_SECONDS, spec.otp.ttl_seconds.to_string());
    if let Some(link) = &spec.magic_link {
        set(vars::LINK_TTL_SECONDS, link.ttl_seconds.to_string());
        set(
            vars::REDIRECT_URLS,
            serde_json::to_string(&link.redirect_urls).expect("a list of strings serializes"),
        );
    }
    if let Some(sender) = &spec.sender {
        set(vars::SENDER_ADDRESS, sender.address.clone());
        if let Some(name) = &sender.display_name {
            set(vars::SENDER_NAME, name.clone());
        }
        if let Some(reply) = &sender.reply_to {
            set(vars::REPLY_TO, reply.clone());
        }
    }
    let email = &spec.email;
    for (k, v) in [
        (vars::APP_NAME, &email.app_name),
        (vars::EMAIL_SUBJECT, &email.subject),
        (vars::EMAIL_HTML, &email.html),
        (vars::EMAIL_TEXT, &email.text),
    ] {
        if let Some(v) = v {
            set(k, v.clone());
        }
    }
    env
}

pub(super) fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": LAMBDA_PRINCIPAL}, "Action": "sts:AssumeRole"}]
    })
}

/// Least privilege: send from this sender's address only, SMS only for SMS, this table and
/// this keys secret only, this pool only, and the function's own log group.
pub(super) fn trigger_policy(
    spec: &ValidatedSpec,
    names: &StackNames,
    ctx: &Context,
    sender: Option<&SenderConfig>,
) -> Value {
    let log_group = ctx.log_group_arn(names);
    let mut statements = vec![
        // Its own log group only, not every group in the account.
        json!({"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": log_group.clone()}),
        json!({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
               "Resource": format!("{log_group}:*")}),
        json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
               "Resource": ctx.keys_secret_arn_pattern(names)}),
        json!({"Effect": "Allow",
               "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
               "Resource": ctx.table_arn(names)}),
    ];
    if let (Some(sender), Some(from), true) = (
        sender,
        spec.sender.as_ref(),
        spec.strategy != Strategy::SmsOtp,
    ) {
        // A domain identity would let the role send as any address of the domain: the
        // condition pins it to the spec's address.
        statements.push(json!({"Effect": "Allow", "Action": "ses:SendEmail",
            "Resource": ctx.ses_identity_arn(&sender.identity),
            "Condition": {"StringEquals": {"ses:FromAddress": from.address}}}));
    }
    if spec.strategy == Strategy::SmsOtp {
        // SMS to a phone number has no resource ARN; deny publishing to topics instead.
        let topics = ctx.partition.arn("sns", "*", "*", "*");
        statements.push(json!({"Effect": "Allow", "Action": "sns:Publish", "NotResource": topics}));
    }
    // PostAuthentication marks the proven address or phone verified. Until the pool exists
    // its id is unknown: no grant rather than `userpool/*` (the pool's triggers cannot run
    // before the next pass anyway).
    if let Some(pool) = ctx.user_pool_arn() {
        statements.push(json!({"Effect": "Allow", "Action": "cognito-idp:AdminUpdateUserAttributes", "Resource": pool}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The boundary's name when `--trigger-permissions-boundary` does not say.
pub const DEFAULT_TRIGGER_BOUNDARY: &str = "passwordless-operator-trigger-boundary";
/// What `--trigger-permissions-boundary` may be (the chart's `triggerPermissionsBoundary` states
/// the same): IAM's characters for a policy's path parts and name, at most 128 for the name.
pub const TRIGGER_BOUNDARY_PATTERN: &str = r"^/?([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,128}$";
/// IAM's limit on a policy's path, its slashes included.
const POLICY_PATH_MAX: usize = 512;

/// The customer-managed policy every trigger role carries as its permissions boundary, by path
/// and name (`[PATH/]NAME`, `--trigger-permissions-boundary`). The platform team creates it from
/// [`trigger_boundary_policy`] in every account the operator makes roles in, under the same
/// path and name: the operator cannot create or change policies, and a role's boundary must be
/// in its own account, so the ARN is derived per account (a mapped namespace's is its role's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerBoundary(String);

/// A `--trigger-permissions-boundary` that cannot name a managed policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a policy's [PATH/]NAME (letters, digits and +=,.@_- in each part; not an ARN: the account is each pool's)"
)]
pub struct NotABoundaryName(pub String);

impl TriggerBoundary {
    /// Its ARN in `account`: a pool's, or a policy variable in the published policy.
    pub fn arn(&self, partition: &Partition, account: &str) -> String {
        partition.arn("iam", "", account, &format!("policy/{}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TriggerBoundary {
    fn default() -> Self {
        Self(DEFAULT_TRIGGER_BOUNDARY.to_owned())
    }
}

impl std::fmt::Display for TriggerBoundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `NAME` or `PATH/NAME` (IAM's `/PATH/` without its slashes; a leading one is dropped).
impl FromStr for TriggerBoundary {
    type Err = NotABoundaryName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        static SHAPE: LazyLock<regex::Regex> =
            LazyLock::new(|| regex::Regex::new(TRIGGER_BOUNDARY_PATTERN).expect("a valid regex"));
        let trimmed = s.strip_prefix('/').unwrap_or(s);
        let path = trimmed.rsplit_once('/').map_or("", |(path, _)| path);
        if SHAPE.is_match(s) && path.len() + 2 <= POLICY_PATH_MAX {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(NotABoundaryName(s.to_owned()))
        }
    }
}

/// The permissions boundary of every trigger role: the union of [`trigger_policy`] over every
/// strategy, each pool's own resource widened to the operator's names for them all. Whatever
/// policy a role carrying it is given (by the operator, or by whoever holds its credentials),
/// the role can do no more than this, in any account and region of `partition`.
pub fn trigger_boundary_policy(partition: &Partition) -> Value {
    let any = |service: &str, resource: &str| partition.arn(service, "*", "*", resource);
    let log_groups = any("logs", "log-group:/aws/lambda/pwp-*");
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "TriggerLogGroups", "Effect": "Allow", "Action": "logs:CreateLogGroup",
             "Resource": log_groups.clone()},
            {"Sid": "TriggerLogStreams", "Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": format!("{log_groups}:*")},
            {"Sid": "KeysSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": any("secretsmanager", "secret:passwordless-operator/*")},
            {"Sid": "StateTables", "Effect": "Allow",
             "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
             "Resource": any("dynamodb", "table/pwp-*")},
            // Senders are the platform team's identities; each role's own policy pins its
            // address (ses:FromAddress), which no boundary can know.
            {"Sid": "SendEmail", "Effect": "Allow", "Action": "ses:SendEmail",
             "Resource": any("ses", "identity/*")},
            {"Sid": "SendSms", "Effect": "Allow", "Action": "sns:Publish",
             "NotResource": partition.arn("sns", "*", "*", "*")},
            // Only the operator's pools: marking addresses verified in any other pool of the
            // account would take over its users. The operator cannot tag a pool it was not
            // given (no cognito-idp:TagResource; adoption only of listed pools).
            {"Sid": "MarkVerified", "Effect": "Allow",
             "Action": "cognito-idp:AdminUpdateUserAttributes",
             "Resource": any("cognito-idp", "userpool/*"),
             "Condition": {"StringEquals": {format!("aws:ResourceTag/{MANAGED_BY_TAG}"): MANAGED_BY}}},
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::tests::{ctx, spec};
    use crate::desired::{Fields, desired_stack};

    #[test]
    fn a_boundary_is_named_by_path_and_name_only() {
        for (given, resource) in [
            (
                "passwordless-operator-trigger-boundary",
                "passwordless-operator-trigger-boundary",
            ),
            ("platform/pwp-boundary", "platform/pwp-boundary"),
            ("/platform/team/pwp+=,.@_-1", "platform/team/pwp+=,.@_-1"),
        ] {
            let b: TriggerBoundary = given.parse().unwrap();
            assert_eq!(b.as_str(), resource, "{given}");
        }
        let long_name = "n".repeat(129);
        let long_path = format!("{}/n", "p".repeat(511));
        for refused in [
            "",
            "/",
            "platform/",
            "platform//name",
            "has space",
            "arn:aws:iam::123456789012:policy/passwordless-operator-trigger-boundary",
            long_name.as_str(),
            long_path.as_str(),
        ] {
            assert_eq!(
                refused.parse::<TriggerBoundary>(),
                Err(NotABoundaryName(refused.to_owned())),
                "{refused}"
            );
        }
        assert_eq!(
            TriggerBoundary::default().to_string(),
            DEFAULT_TRIGGER_BOUNDARY
        );
        // The chart refuses what the flag refuses; empty there is the flag's default.
        let schema: serde_json::Value = serde_json::from_str(include_str!(
            "../../../charts/passwordless-operator/values.schema.json"
        ))
        .unwrap();
        let chart = &schema["properties"]["triggerPermissionsBoundary"]["pattern"];
        assert_eq!(chart, &format!("^$|{TRIGGER_BOUNDARY_PATTERN}"));
    }

    /// Each trigger role carries the boundary in its own account and partition, as a field the
    /// diff compares (a role without it, or with another, is updated).
    #[test]
    fn every_trigger_role_carries_the_boundary_of_its_account() {
        for (region, account, name, arn) in [
            (
                "eu-west-1",
                "123456789012",
                None,
                "arn:aws:iam::123456789012:policy/passwordless-operator-trigger-boundary",
            ),
            (
                "cn-north-1",
                "111122223333",
                None,
                "arn:aws-cn:iam::111122223333:policy/passwordless-operator-trigger-boundary",
            ),
            (
                "us-gov-west-1",
                "444455556666",
                Some("platform/pwp"),
                "arn:aws-us-gov:iam::444455556666:policy/platform/pwp",
            ),
        ] {
            let ctx = Context {
                region: region.into(),
                partition: Partition::of_region(region),
                account_id: Some(account.into()),
                trigger_boundary: name
                    .map_or_else(TriggerBoundary::default, |n| n.parse().unwrap()),
                ..ctx()
            };
            for yaml in [
                "strategy: emailOtp\nsender: {address: a@example.com}\n",
                "strategy: smsOtp\n",
            ] {
                let names = StackNames::new("default", "shop", "checkout");
                let role = desired_stack(&spec(yaml), &names, &ctx)
                    .unwrap()
                    .role
                    .unwrap();
                assert_eq!(role.permissions_boundary.as_deref(), Some(arn), "{region}");
                let fields = role.fields();
                assert_eq!(
                    fields.last(),
                    Some(&("permissionsBoundary".to_owned(), arn.to_owned()))
                );
                let mut unbounded = role.clone();
                unbounded.permissions_boundary = None;
                assert_ne!(unbounded.fields(), fields, "a missing boundary is drift");
            }
        }
    }
}

//! The permissions boundary every trigger role carries: its name, and the policy the platform
//! team creates under it.

use std::str::FromStr;
use std::sync::LazyLock;

use serde_json::{Value, json};

use crate::names::{MANAGED_BY, MANAGED_BY_TAG};
use crate::partition::Partition;

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

/// The permissions boundary of every trigger role: the union of the role policies (`role.rs`) over every
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
    use crate::desired::tests::{facts, spec};
    use crate::desired::{Facts, Fields, desired_stack};
    use crate::names::StackNames;

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
            let facts = Facts {
                region: region.into(),
                partition: Partition::of_region(region),
                account_id: Some(account.into()),
                trigger_boundary: name
                    .map_or_else(TriggerBoundary::default, |n| n.parse().unwrap()),
                ..facts()
            };
            for yaml in [
                "strategy: emailOtp\nsender: {address: a@example.com}\n",
                "strategy: smsOtp\n",
            ] {
                let names = StackNames::new("default", "shop", "checkout");
                let role = desired_stack(&spec(yaml), &names, &facts)
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

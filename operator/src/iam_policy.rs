//! The least-privilege IAM policy the operator itself needs (`passwordless-operator
//! iam-policy`): every AWS operation its code calls, mapped to its IAM action, on the resources
//! its names and tags allow. A test runs the whole lifecycle and checks the two agree.

use serde_json::{Value, json};

/// One statement: the SDK's service id and operation names the code calls, the IAM prefix,
/// and the resources they may touch.
struct Grant {
    /// The service as the call counter records it (the SDK's service name).
    service: &'static str,
    prefix: &'static str,
    operations: &'static [&'static str],
    resources: &'static [&'static str],
}

/// Name prefixes: every trigger resource is `pwp-…`; keys secrets `passwordless-operator/…`.
const GRANTS: &[Grant] = &[
    Grant {
        service: "STS",
        prefix: "sts",
        operations: &["GetCallerIdentity"],
        resources: &["*"],
    },
    Grant {
        service: "SESv2",
        prefix: "ses",
        operations: &["GetEmailIdentity", "CreateEmailIdentity"],
        resources: &["arn:aws:ses:*:*:identity/*"],
    },
    Grant {
        service: "IAM",
        prefix: "iam",
        operations: &[
            "GetRole",
            "GetRolePolicy",
            "CreateRole",
            "PutRolePolicy",
            "UpdateAssumeRolePolicy",
            "DeleteRolePolicy",
            "DeleteRole",
        ],
        resources: &["arn:aws:iam::*:role/pwp-*"],
    },
    Grant {
        service: "DynamoDB",
        prefix: "dynamodb",
        operations: &[
            "DescribeTimeToLive",
            "ListTagsOfResource",
            "CreateTable",
            "DescribeTable",
            "UpdateTimeToLive",
            "DeleteTable",
        ],
        resources: &["arn:aws:dynamodb:*:*:table/pwp-*"],
    },
    Grant {
        service: "Secrets Manager",
        prefix: "secretsmanager",
        operations: &[
            "DescribeSecret",
            "CreateSecret",
            "PutSecretValue",
            "TagResource",
            "DeleteSecret",
        ],
        resources: &["arn:aws:secretsmanager:*:*:secret:passwordless-operator/*"],
    },
    Grant {
        service: "Lambda",
        prefix: "lambda",
        operations: &[
            "GetFunction",
            "GetFunctionConfiguration",
            "CreateFunction",
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
            "Invoke",
            "TagResource",
            "GetPolicy",
            "AddPermission",
            "RemovePermission",
            "DeleteFunction",
        ],
        resources: &["arn:aws:lambda:*:*:function:pwp-*"],
    },
    Grant {
        service: "Cognito Identity Provider",
        prefix: "cognito-idp",
        operations: &[
            "ListUserPools",
            "DescribeUserPool",
            "GetUserPoolMfaConfig",
            "SetUserPoolMfaConfig",
            "CreateUserPool",
            "UpdateUserPool",
            "DeleteUserPool",
            "ListUserPoolClients",
            "DescribeUserPoolClient",
            "CreateUserPoolClient",
            "UpdateUserPoolClient",
            "DeleteUserPoolClient",
            "DescribeUserPoolDomain",
            "CreateUserPoolDomain",
            "UpdateUserPoolDomain",
            "DeleteUserPoolDomain",
            "DescribeManagedLoginBrandingByClient",
            "CreateManagedLoginBranding",
            "DeleteManagedLoginBranding",
        ],
        resources: &["*"],
    },
    Grant {
        service: "WAFV2",
        prefix: "wafv2",
        operations: &[
            "GetWebACLForResource",
            "ListTagsForResource",
            "ListWebACLs",
            "CreateWebACL",
            "GetWebACL",
            "UpdateWebACL",
            "AssociateWebACL",
            "DisassociateWebACL",
            "DeleteWebACL",
        ],
        resources: &["*"],
    },
];

/// Actions no call names but AWS checks on the operator's behalf: GetFunction's tags
/// (`lambda:ListTags`), handing the trigger its role (`iam:PassRole`), tagging on create
/// (`iam:TagRole`, `dynamodb:TagResource`, `cognito-idp:TagResource`, `ses:TagResource`), the
/// user pool's side
/// of a WAF association, and a managed login custom domain's certificate and CloudFront
/// distribution (AWS's guide to custom domains lists both).
pub const IMPLIED: &[&str] = &[
    "lambda:ListTags",
    "iam:PassRole",
    "iam:TagRole",
    "dynamodb:TagResource",
    "cognito-idp:TagResource",
    "ses:TagResource",
    "cognito-idp:AssociateWebACL",
    "cognito-idp:DisassociateWebACL",
    "cognito-idp:GetWebACLForResource",
    "acm:DescribeCertificate",
    "cloudfront:UpdateDistribution",
];

/// The IAM action for an operation the call counter saw (service id, operation).
pub fn action_of(service: &str, operation: &str) -> Option<String> {
    let grant = GRANTS.iter().find(|g| g.service == service)?;
    grant.operations.contains(&operation).then(|| {
        let action = if operation == "Invoke" {
            "InvokeFunction"
        } else {
            operation
        };
        format!("{}:{action}", grant.prefix)
    })
}

/// Every action the policy grants.
pub fn actions() -> Vec<String> {
    let mut all: Vec<String> = GRANTS
        .iter()
        .flat_map(|g| g.operations.iter().map(|op| action_of(g.service, op)))
        .flatten()
        .chain(IMPLIED.iter().map(|a| (*a).to_owned()))
        .collect();
    all.sort();
    all.dedup();
    all
}

/// The policy document. `assume_roles`: the roles the tenancy file maps namespaces to.
pub fn operator_policy(assume_roles: &[String]) -> Value {
    let mut statements: Vec<Value> = GRANTS
        .iter()
        .map(|g| {
            let actions: Vec<String> = g
                .operations
                .iter()
                .filter_map(|op| action_of(g.service, op))
                .chain(
                    IMPLIED
                        .iter()
                        .filter(|a| a.starts_with(&format!("{}:", g.prefix)))
                        .filter(|a| **a != "iam:PassRole")
                        .map(|a| (*a).to_owned()),
                )
                .collect();
            json!({"Sid": g.prefix.replace('-', ""), "Effect": "Allow", "Action": actions, "Resource": g.resources})
        })
        .collect();
    // Only the trigger roles, and only to Lambda.
    statements.push(
        json!({"Sid": "PassTriggerRole", "Effect": "Allow", "Action": "iam:PassRole",
        "Resource": "arn:aws:iam::*:role/pwp-*",
        "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}}),
    );
    // A managed login custom domain: its certificate (always in us-east-1) and the CloudFront
    // distribution Cognito puts in front of it.
    statements.push(json!({"Sid": "CustomDomainCertificate", "Effect": "Allow",
        "Action": "acm:DescribeCertificate", "Resource": "arn:aws:acm:us-east-1:*:certificate/*"}));
    statements.push(json!({"Sid": "CustomDomainDistribution", "Effect": "Allow",
        "Action": "cloudfront:UpdateDistribution", "Resource": "*"}));
    if !assume_roles.is_empty() {
        statements.push(
            json!({"Sid": "NamespaceAccounts", "Effect": "Allow", "Action": "sts:AssumeRole",
            "Resource": assume_roles}),
        );
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_scopes_trigger_resources_to_the_name_prefix() {
        let p = operator_policy(&["arn:aws:iam::111122223333:role/x".to_owned()]).to_string();
        for scoped in [
            "role/pwp-*",
            "function:pwp-*",
            "table/pwp-*",
            "secret:passwordless-operator/*",
            "lambda.amazonaws.com",
            "sts:AssumeRole",
        ] {
            assert!(p.contains(scoped), "{scoped}: {p}");
        }
        assert_eq!(
            action_of("Lambda", "Invoke").as_deref(),
            Some("lambda:InvokeFunction")
        );
        assert_eq!(action_of("Lambda", "ListFunctions"), None);
        assert!(actions().contains(&"iam:PassRole".to_owned()));
    }
}

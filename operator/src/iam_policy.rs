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

/// An action no call names but AWS checks on the operator's behalf, and the calls that need it.
pub struct Implied {
    pub action: &'static str,
    pub needed_by: &'static [&'static str],
}

/// AWS's guide to managed login custom domains lists these two for CreateUserPoolDomain.
const CUSTOM_DOMAIN: &[&str] = &["acm:DescribeCertificate", "cloudfront:UpdateDistribution"];

pub const IMPLIED: &[Implied] = &[
    Implied {
        action: "lambda:ListTags",
        needed_by: &["lambda:GetFunction"],
    },
    Implied {
        action: "iam:PassRole",
        needed_by: &[
            "lambda:CreateFunction",
            "lambda:UpdateFunctionConfiguration",
        ],
    },
    Implied {
        action: "iam:TagRole",
        needed_by: &["iam:CreateRole"],
    },
    Implied {
        action: "dynamodb:TagResource",
        needed_by: &["dynamodb:CreateTable"],
    },
    Implied {
        action: "cognito-idp:TagResource",
        needed_by: &["cognito-idp:CreateUserPool"],
    },
    Implied {
        action: "ses:TagResource",
        needed_by: &["ses:CreateEmailIdentity"],
    },
    Implied {
        action: "cognito-idp:AssociateWebACL",
        needed_by: &["wafv2:AssociateWebACL"],
    },
    Implied {
        action: "cognito-idp:DisassociateWebACL",
        needed_by: &["wafv2:DisassociateWebACL"],
    },
    Implied {
        action: "cognito-idp:GetWebACLForResource",
        needed_by: &["wafv2:GetWebACLForResource"],
    },
    Implied {
        action: CUSTOM_DOMAIN[0],
        needed_by: &[
            "cognito-idp:CreateUserPoolDomain",
            "cognito-idp:UpdateUserPoolDomain",
        ],
    },
    Implied {
        action: CUSTOM_DOMAIN[1],
        needed_by: &[
            "cognito-idp:CreateUserPoolDomain",
            "cognito-idp:UpdateUserPoolDomain",
        ],
    },
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
        .chain(IMPLIED.iter().map(|i| i.action.to_owned()))
        .collect();
    all.sort();
    all.dedup();
    all
}

/// What the tenancy file lets the operator do beyond its own account's pools.
#[derive(Debug, Default)]
pub struct Scope {
    /// The roles namespaces are mapped to.
    pub assume_roles: Vec<String>,
    /// Some namespace may serve managed login at a custom domain.
    pub custom_domains: bool,
}

/// The policy document.
pub fn operator_policy(scope: &Scope) -> Value {
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
                        .map(|i| i.action)
                        .filter(|a| a.starts_with(&format!("{}:", g.prefix)))
                        .filter(|a| *a != "iam:PassRole")
                        .map(str::to_owned),
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
    // A managed login custom domain, only where the tenancy file allows one: its certificate
    // (always in us-east-1) and the CloudFront distribution Cognito puts in front of it, which
    // is Cognito's, so its ARN cannot be known in advance.
    if scope.custom_domains {
        statements.push(json!({"Sid": "CustomDomainCertificate", "Effect": "Allow",
            "Action": CUSTOM_DOMAIN[0], "Resource": "arn:aws:acm:us-east-1:*:certificate/*"}));
        statements.push(json!({"Sid": "CustomDomainDistribution", "Effect": "Allow",
            "Action": CUSTOM_DOMAIN[1], "Resource": "*"}));
    }
    if !scope.assume_roles.is_empty() {
        statements.push(
            json!({"Sid": "NamespaceAccounts", "Effect": "Allow", "Action": "sts:AssumeRole",
            "Resource": scope.assume_roles}),
        );
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_scopes_trigger_resources_to_the_name_prefix() {
        let p = operator_policy(&Scope {
            assume_roles: vec!["arn:aws:iam::111122223333:role/x".to_owned()],
            custom_domains: false,
        })
        .to_string();
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

    /// Every action in the document, sorted.
    fn granted(doc: &Value) -> Vec<String> {
        let mut all: Vec<String> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(list) => list
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect(),
                other => panic!("{other}"),
            })
            .filter(|a| a != "sts:AssumeRole")
            .collect();
        all.sort();
        all
    }

    #[test]
    fn the_document_grants_exactly_the_listed_actions_and_custom_domains_only_when_allowed() {
        let full = operator_policy(&Scope {
            assume_roles: vec![],
            custom_domains: true,
        });
        assert_eq!(granted(&full), actions(), "each action once, none unlisted");
        let plain = granted(&operator_policy(&Scope::default()));
        let expected: Vec<String> = actions()
            .into_iter()
            .filter(|a| !CUSTOM_DOMAIN.contains(&a.as_str()))
            .collect();
        assert_eq!(plain, expected);
    }

    #[test]
    fn every_implied_action_names_calls_the_policy_grants() {
        let listed = actions();
        for i in IMPLIED {
            assert!(!i.needed_by.is_empty(), "{}", i.action);
            for call in i.needed_by {
                assert!(listed.contains(&(*call).to_owned()), "{}: {call}", i.action);
            }
        }
    }
}

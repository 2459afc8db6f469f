//! The least-privilege IAM policy the operator itself needs (`passwordless-operator
//! iam-policy`): every AWS operation its code calls, mapped to its IAM action, on the resources
//! its names and tags allow, in one partition. A test runs the whole lifecycle and checks the two
//! agree; `scripts/test-iam-policy` runs parliament over it (findings kept: `parliament-findings.yaml`).
//!
//! Resource types and condition keys per action are those of AWS's Service Authorization
//! Reference. Where an action names no resource type, IAM takes only `*` (each such statement
//! says why). Cognito actions on a user pool are conditioned on the operator's managed-by tag.
//! Every role the operator creates or writes a policy for carries the trigger boundary
//! (`desired::trigger_boundary_policy`), so its credentials cannot make a role that does more
//! than a trigger.

mod matcher;

use std::collections::BTreeSet;

use serde_json::{Value, json};

pub use matcher::within;

use crate::desired::{COGNITO_PRINCIPAL, LAMBDA_PRINCIPAL, TriggerBoundary};
use crate::names::{ADOPTED_TAG, MANAGED_BY, MANAGED_BY_TAG};
use crate::partition::{Partition, STANDARD};

/// Each service the operator calls: its id as the call counter records it (the SDK's service
/// name) and its IAM prefix.
const SERVICES: &[(&str, &str)] = &[
    ("STS", "sts"),
    ("SESv2", "ses"),
    ("SES", "ses"),
    ("IAM", "iam"),
    ("DynamoDB", "dynamodb"),
    ("Secrets Manager", "secretsmanager"),
    ("Lambda", "lambda"),
    ("Cognito Identity Provider", "cognito-idp"),
    ("WAFV2", "wafv2"),
    ("SNS", "sns"),
];

/// A resource pattern without its partition: `(service, region, resource)`, any account.
type Pattern = (&'static str, &'static str, &'static str);

/// Where a statement's actions act.
#[derive(Clone, Copy)]
enum On {
    /// `*`: the actions have no resource type, so IAM takes no narrower resource.
    Anything,
    Patterns(&'static [Pattern]),
}

/// A statement's condition.
#[derive(Clone, Copy)]
enum When {
    Always,
    /// The resource carries the operator's managed-by tag.
    Ours,
    /// The request tags what it creates as the operator's.
    TaggedOurs,
    /// The resource is the operator's and the request keeps it so.
    OursAndStaysOurs,
    /// The resource is the operator's and was not adopted (never deleted).
    OursNotAdopted,
    /// Passed to Lambda only.
    PassedToLambda,
    /// Cognito's email service-linked role only.
    CognitoEmailService,
    /// The role carries (or is to carry) the trigger boundary.
    TriggerBounded,
    /// A function permission for Cognito only (`lambda:Principal`).
    InvokedByCognito,
}

struct Statement {
    sid: &'static str,
    actions: &'static [&'static str],
    on: On,
    when: When,
}

/// Every trigger resource is named `pwp-…` and every keys secret `passwordless-operator/…`
/// (`names::StackNames`; a test checks the names against these patterns).
const ROLES: Pattern = ("iam", "", "role/pwp-*");
const USER_POOLS: Pattern = ("cognito-idp", "*", "userpool/*");
const WEB_ACLS: Pattern = ("wafv2", "*", "regional/webacl/pwp-*/*");
/// Where Cognito's email service-linked role lives, by IAM's naming of such roles.
const COGNITO_EMAIL_ROLE: Pattern = (
    "iam",
    "",
    "role/aws-service-role/email.cognito-idp.amazonaws.com/AWSServiceRoleForAmazonCognitoIdpEmailService*",
);
/// The service that role serves (`iam:AWSServiceName`).
const COGNITO_EMAIL_SERVICE: &str = "email.cognito-idp.amazonaws.com";

/// The user pool actions the operator takes on its own pools.
const OWN_POOL_ACTIONS: &[&str] = &[
    "cognito-idp:DescribeUserPool",
    "cognito-idp:GetUserPoolMfaConfig",
    "cognito-idp:SetUserPoolMfaConfig",
    "cognito-idp:ListUserPoolClients",
    // Shows a confidential client's secret: never on `*`, only on the operator's pools.
    "cognito-idp:DescribeUserPoolClient",
    "cognito-idp:CreateUserPoolClient",
    "cognito-idp:UpdateUserPoolClient",
    "cognito-idp:DeleteUserPoolClient",
    "cognito-idp:CreateUserPoolDomain",
    "cognito-idp:UpdateUserPoolDomain",
    "cognito-idp:DeleteUserPoolDomain",
    "cognito-idp:DescribeManagedLoginBrandingByClient",
    "cognito-idp:CreateManagedLoginBranding",
    "cognito-idp:DeleteManagedLoginBranding",
    "cognito-idp:DisassociateWebACL",
    "cognito-idp:GetWebACLForResource",
];

/// What the operator does to an adopted pool (`spec.adopt`) before its first update tags it:
/// reads it (and its clients and web ACL) to plan, then updates it with the operator's tags;
/// the passkey settings go right after that update, possibly before IAM sees the new tag.
const ADOPTION_READS: &[&str] = &[
    "cognito-idp:DescribeUserPool",
    "cognito-idp:GetUserPoolMfaConfig",
    "cognito-idp:ListUserPoolClients",
    "cognito-idp:GetWebACLForResource",
    "cognito-idp:SetUserPoolMfaConfig",
];
const ADOPTION_TAGGING: &[&str] = &["cognito-idp:UpdateUserPool"];

const STATEMENTS: &[Statement] = &[
    // GetCallerIdentity acts on no resource.
    Statement {
        sid: "CallerIdentity",
        actions: &["sts:GetCallerIdentity"],
        on: On::Anything,
        when: When::Always,
    },
    // Whether the account's SES and SMS are in their sandboxes: account-wide reads, on no
    // resource.
    Statement {
        sid: "SandboxStates",
        actions: &["ses:GetAccount", "sns:GetSMSSandboxAccountStatus"],
        on: On::Anything,
        when: When::Always,
    },
    // Sender identities are the platform team's (verified by a person, shared, never deleted),
    // named by addresses the tenancy file matches case-insensitively where IAM would not.
    Statement {
        sid: "SenderIdentities",
        actions: &[
            "ses:GetEmailIdentity",
            "ses:CreateEmailIdentity",
            "ses:TagResource",
        ],
        on: On::Patterns(&[("ses", "*", "identity/*")]),
        when: When::Always,
    },
    // A new link for an address whose first expired (SES v1; the action names no resource, so
    // it can be scoped no further). No more than CreateEmailIdentity on `identity/*` already
    // gives: a verification email to an address.
    Statement {
        sid: "SenderVerificationLinks",
        actions: &["ses:VerifyEmailIdentity"],
        on: On::Anything,
        when: When::Always,
    },
    // None of these adds a permission. DeleteRolePolicy could require the boundary too, but
    // only removes one, and a role from before boundaries must still go. UpdateAssumeRolePolicy
    // takes no iam:PermissionsBoundary (AWS's reference): whoever makes a pwp-* role trust them
    // gets its boundary at most, or on a role from before boundaries the policy the operator
    // wrote, which without the boundary nobody can rewrite.
    Statement {
        sid: "TriggerRoles",
        actions: &[
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:TagRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:DeleteRole",
        ],
        on: On::Patterns(&[ROLES]),
        when: When::Always,
    },
    // A role is created, and its policy written, only with the trigger boundary on it (for
    // PutRolePolicy, the role's; for the other two, the request's), so no pwp-* role can do
    // more than a trigger whatever policy it gets. No iam:DeleteRolePermissionsBoundary, nor
    // any action on policies: once on, the boundary stays, as the platform team wrote it.
    Statement {
        sid: "BoundedTriggerRoles",
        actions: &[
            "iam:CreateRole",
            "iam:PutRolePermissionsBoundary",
            "iam:PutRolePolicy",
        ],
        on: On::Patterns(&[ROLES]),
        when: When::TriggerBounded,
    },
    Statement {
        sid: "PassTriggerRoles",
        actions: &["iam:PassRole"],
        on: On::Patterns(&[ROLES]),
        when: When::PassedToLambda,
    },
    // A native pool sending through SES makes Cognito create this role on first use.
    Statement {
        sid: "CognitoEmailServiceRole",
        actions: &["iam:CreateServiceLinkedRole"],
        on: On::Patterns(&[COGNITO_EMAIL_ROLE]),
        when: When::CognitoEmailService,
    },
    Statement {
        sid: "StateTables",
        actions: &[
            "dynamodb:DescribeTimeToLive",
            "dynamodb:ListTagsOfResource",
            "dynamodb:CreateTable",
            "dynamodb:TagResource",
            "dynamodb:DescribeTable",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:DeleteTable",
        ],
        on: On::Patterns(&[("dynamodb", "*", "table/pwp-*")]),
        when: When::Always,
    },
    Statement {
        sid: "KeysSecrets",
        actions: &[
            "secretsmanager:DescribeSecret",
            "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:RestoreSecret",
            "secretsmanager:TagResource",
            "secretsmanager:DeleteSecret",
        ],
        on: On::Patterns(&[("secretsmanager", "*", "secret:passwordless-operator/*")]),
        when: When::Always,
    },
    Statement {
        sid: "TriggerFunctions",
        actions: &[
            "lambda:GetFunction",
            "lambda:ListTags",
            "lambda:GetFunctionConfiguration",
            "lambda:CreateFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:InvokeFunction",
            "lambda:TagResource",
            "lambda:GetPolicy",
            "lambda:RemovePermission",
            "lambda:DeleteFunction",
        ],
        on: On::Patterns(&[("lambda", "*", "function:pwp-*")]),
        when: When::Always,
    },
    // Only Cognito may be let invoke a trigger: these credentials cannot open a function to
    // another account.
    Statement {
        sid: "TriggerInvokePermissions",
        actions: &["lambda:AddPermission"],
        on: On::Patterns(&[("lambda", "*", "function:pwp-*")]),
        when: When::InvokedByCognito,
    },
    // Listing pools and describing a domain (by its name, before knowing its pool) act on no
    // resource.
    Statement {
        sid: "FindUserPoolsAndDomains",
        actions: &[
            "cognito-idp:ListUserPools",
            "cognito-idp:DescribeUserPoolDomain",
        ],
        on: On::Anything,
        when: When::Always,
    },
    // CreateUserPool acts on no resource: only pools tagged as the operator's.
    Statement {
        sid: "CreateUserPools",
        actions: &["cognito-idp:CreateUserPool"],
        on: On::Anything,
        when: When::TaggedOurs,
    },
    // No cognito-idp:TagResource: on a pool without tags only the request's tags could be
    // required, so it would let these credentials mark any pool in the account as the
    // operator's (and then read its clients' secrets). AWS's reference lists the tag keys on
    // CreateUserPool itself and no TagResource dependency; a create refused for it would name
    // the action in its AccessDenied, and the pool would be refused Ready, not mis-owned.
    Statement {
        sid: "OwnUserPools",
        actions: OWN_POOL_ACTIONS,
        on: On::Patterns(&[USER_POOLS]),
        when: When::Ours,
    },
    // Cognito checks an association on both the pool and the web ACL (the operator's
    // web ACLs carry its tag too).
    Statement {
        sid: "AssociateOwnUserPools",
        actions: &["cognito-idp:AssociateWebACL"],
        on: On::Patterns(&[USER_POOLS, WEB_ACLS]),
        when: When::Ours,
    },
    // An update resets the pool's tags to the request's: it must keep the operator's.
    Statement {
        sid: "UpdateOwnUserPools",
        actions: &["cognito-idp:UpdateUserPool"],
        on: On::Patterns(&[USER_POOLS]),
        when: When::OursAndStaysOurs,
    },
    Statement {
        sid: "DeleteCreatedUserPools",
        actions: &["cognito-idp:DeleteUserPool"],
        on: On::Patterns(&[USER_POOLS]),
        when: When::OursNotAdopted,
    },
    // ListWebACLs acts on no resource.
    Statement {
        sid: "FindWebAcls",
        actions: &["wafv2:ListWebACLs"],
        on: On::Anything,
        when: When::Always,
    },
    Statement {
        sid: "WebAcls",
        actions: &[
            "wafv2:CreateWebACL",
            "wafv2:TagResource",
            "wafv2:GetWebACL",
            "wafv2:UpdateWebACL",
            "wafv2:DeleteWebACL",
            "wafv2:ListTagsForResource",
        ],
        on: On::Patterns(&[WEB_ACLS]),
        when: When::Always,
    },
    // WAF's side of an association names the web ACL and the pool; Cognito's side
    // (`cognito-idp:*WebACL*` above) holds it to the operator's pools.
    Statement {
        sid: "WebAclAssociations",
        actions: &[
            "wafv2:AssociateWebACL",
            "wafv2:DisassociateWebACL",
            "wafv2:GetWebACLForResource",
        ],
        on: On::Patterns(&[WEB_ACLS, USER_POOLS]),
        when: When::Always,
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
        action: "ses:TagResource",
        needed_by: &["ses:CreateEmailIdentity"],
    },
    Implied {
        action: "wafv2:TagResource",
        needed_by: &["wafv2:CreateWebACL"],
    },
    // Cognito creates its email service-linked role when a pool first sends through SES
    // (`EmailSendingAccount: DEVELOPER`, native pools), as the caller.
    Implied {
        action: "iam:CreateServiceLinkedRole",
        needed_by: &["cognito-idp:CreateUserPool", "cognito-idp:UpdateUserPool"],
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

/// The IAM action for an operation the call counter saw (service id, operation), if the policy
/// grants it.
pub fn action_of(service: &str, operation: &str) -> Option<String> {
    let (_, prefix) = SERVICES.iter().find(|(id, _)| *id == service)?;
    let operation = match operation {
        "Invoke" => "InvokeFunction",
        other => other,
    };
    let action = format!("{prefix}:{operation}");
    actions().contains(&action).then_some(action)
}

/// Every action the policy may grant (`sts:AssumeRole` apart: it names the tenancy file's roles).
pub fn actions() -> Vec<String> {
    let mut all: Vec<String> = STATEMENTS
        .iter()
        .flat_map(|s| s.actions.iter())
        .chain(CUSTOM_DOMAIN)
        .map(|a| (*a).to_owned())
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
    /// The user pools namespaces may adopt (`adoptablePoolIds`): untagged until adopted.
    pub adoptable_pools: Vec<String>,
}

/// The caller's own account, as a policy variable: roles are made in it and a boundary must be
/// in the role's account, so one document names each account's boundary exactly (a mapped
/// namespace's role's too).
const PRINCIPAL_ACCOUNT: &str = "${aws:PrincipalAccount}";

impl When {
    /// `boundary`: the trigger boundary's ARN in the caller's account.
    fn condition(self, boundary: &str) -> Option<Value> {
        let resource_tag = format!("aws:ResourceTag/{MANAGED_BY_TAG}");
        let request_tag = format!("aws:RequestTag/{MANAGED_BY_TAG}");
        Some(match self {
            When::Always => return None,
            When::Ours => json!({"StringEquals": {resource_tag: MANAGED_BY}}),
            When::TaggedOurs => json!({"StringEquals": {request_tag: MANAGED_BY}}),
            When::OursAndStaysOurs => {
                json!({"StringEquals": {resource_tag: MANAGED_BY, request_tag: MANAGED_BY}})
            }
            When::OursNotAdopted => json!({
                "StringEquals": {resource_tag: MANAGED_BY},
                "Null": {format!("aws:ResourceTag/{ADOPTED_TAG}"): "true"}
            }),
            When::PassedToLambda => {
                json!({"StringEquals": {"iam:PassedToService": LAMBDA_PRINCIPAL}})
            }
            When::CognitoEmailService => {
                json!({"StringEquals": {"iam:AWSServiceName": COGNITO_EMAIL_SERVICE}})
            }
            // The key is an ARN (AWS's reference): ArnEquals, exact here as nothing in it is a
            // wildcard.
            When::TriggerBounded => {
                json!({"ArnEquals": {"iam:PermissionsBoundary": boundary}})
            }
            When::InvokedByCognito => {
                json!({"StringEquals": {"lambda:Principal": COGNITO_PRINCIPAL}})
            }
        })
    }
}

fn statement(sid: &str, actions: &[&str], resources: Value, condition: Option<Value>) -> Value {
    let mut s = json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources});
    if let Some(condition) = condition {
        s["Condition"] = condition;
    }
    s
}

fn patterns(partition: &Partition, patterns: &[Pattern]) -> Value {
    patterns
        .iter()
        .map(|(service, region, resource)| partition.arn(service, region, "*", resource))
        .collect()
}

/// The policy document, for the operator's role in `partition`, requiring `boundary` on every
/// role it makes.
pub fn operator_policy(scope: &Scope, boundary: &TriggerBoundary, partition: &Partition) -> Value {
    let boundary = boundary.arn(partition, PRINCIPAL_ACCOUNT);
    let mut statements: Vec<Value> = STATEMENTS
        .iter()
        .map(|s| {
            let resources = match s.on {
                On::Anything => json!("*"),
                On::Patterns(p) => patterns(partition, p),
            };
            statement(s.sid, s.actions, resources, s.when.condition(&boundary))
        })
        .collect();
    // Adoptable pools carry no tag of the operator's until their first update: exactly the
    // pools the platform team listed, and that update must tag them.
    if !scope.adoptable_pools.is_empty() {
        let ids: BTreeSet<&String> = scope.adoptable_pools.iter().collect();
        let pools: Value = ids
            .into_iter()
            .map(|id| partition.arn("cognito-idp", "*", "*", &format!("userpool/{id}")))
            .collect();
        statements.push(statement(
            "AdoptableUserPools",
            ADOPTION_READS,
            pools.clone(),
            None,
        ));
        statements.push(statement(
            "TagAdoptableUserPools",
            ADOPTION_TAGGING,
            pools,
            When::TaggedOurs.condition(&boundary),
        ));
    }
    // A managed login custom domain, only where the tenancy file allows one: its certificate
    // (in us-east-1, CloudFront's region, where the standard partition has it) and the
    // CloudFront distribution Cognito puts in front of it, which is in Cognito's account under
    // an id nobody knows in advance.
    if scope.custom_domains {
        let region = if partition.as_str() == STANDARD {
            "us-east-1"
        } else {
            "*"
        };
        statements.push(statement(
            "CustomDomainCertificates",
            &CUSTOM_DOMAIN[..1],
            json!(partition.arn("acm", region, "*", "certificate/*")),
            None,
        ));
        statements.push(statement(
            "CustomDomainDistributions",
            &CUSTOM_DOMAIN[1..],
            json!(partition.arn("cloudfront", "", "*", "distribution/*")),
            None,
        ));
    }
    if !scope.assume_roles.is_empty() {
        statements.push(json!({"Sid": "NamespaceAccounts", "Effect": "Allow",
            "Action": "sts:AssumeRole", "Resource": scope.assume_roles}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests;

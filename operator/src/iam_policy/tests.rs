use std::collections::BTreeMap;

use super::*;
use crate::desired::trigger_boundary_policy;
use crate::names::StackNames;

fn boundary() -> TriggerBoundary {
    TriggerBoundary::default()
}

fn cn() -> Partition {
    Partition::of_region("cn-north-1")
}

fn full_scope() -> Scope {
    Scope {
        assume_roles: vec!["arn:aws:iam::111122223333:role/x".to_owned()],
        custom_domains: true,
        adoptable_pools: vec!["eu-west-1_Legacy".to_owned()],
    }
}

fn statements(doc: &Value) -> &Vec<Value> {
    doc["Statement"].as_array().unwrap()
}

fn listed(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(list) => list
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("{other}"),
    }
}

/// Every action in the document, sorted, once.
fn granted(doc: &Value) -> Vec<String> {
    let mut all: Vec<String> = statements(doc)
        .iter()
        .flat_map(|s| listed(&s["Action"]))
        .filter(|a| a != "sts:AssumeRole")
        .collect();
    all.sort();
    all.dedup();
    all
}

/// The statements granting `action`.
fn granting<'d>(doc: &'d Value, action: &str) -> Vec<&'d Value> {
    statements(doc)
        .iter()
        .filter(|s| listed(&s["Action"]).iter().any(|a| a == action))
        .collect()
}

#[test]
fn the_policy_scopes_trigger_resources_to_the_name_prefix() {
    let p = operator_policy(&full_scope(), &boundary(), &Partition::standard()).to_string();
    for scoped in [
        "arn:aws:iam::*:role/pwp-*",
        "arn:aws:lambda:*:*:function:pwp-*",
        "arn:aws:dynamodb:*:*:table/pwp-*",
        "arn:aws:secretsmanager:*:*:secret:passwordless-operator/*",
        "arn:aws:wafv2:*:*:regional/webacl/pwp-*/*",
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
    assert_eq!(action_of("S3", "GetObject"), None);
    assert!(actions().contains(&"iam:PassRole".to_owned()));
}

/// What the operator names (`names.rs`) lies within the patterns the policy grants.
#[test]
fn every_name_the_operator_gives_matches_its_statement() {
    let glob = |pattern: &str, name: &str| {
        let (head, tail) = pattern.split_once('*').unwrap();
        name.starts_with(head) && name[head.len()..].ends_with(tail)
    };
    let long = "x".repeat(60);
    for (cluster, namespace, name) in [
        ("default", "shop", "checkout"),
        (
            "prod-eu",
            "a-very-long-namespace-name-indeed",
            long.as_str(),
        ),
    ] {
        let n = StackNames::new(cluster, namespace, name);
        assert!(glob(ROLES.2, &format!("role/{}", n.role)), "{n:?}");
        assert!(glob("function:pwp-*", &format!("function:{}", n.function)));
        assert!(glob("table/pwp-*", &format!("table/{}", n.table)));
        assert!(glob(
            "secret:passwordless-operator/*",
            &format!("secret:{}-AbCdEf", n.keys_secret)
        ));
        let acl = format!("regional/webacl/{}/", n.web_acl);
        assert!(glob(WEB_ACLS.2.trim_end_matches('*'), &acl), "{acl}");
    }
}

#[test]
fn the_document_grants_exactly_the_listed_actions_and_the_tenancy_extras_only_when_allowed() {
    let full = operator_policy(&full_scope(), &boundary(), &Partition::standard());
    assert_eq!(granted(&full), actions(), "each action, none unlisted");
    let plain = operator_policy(&Scope::default(), &boundary(), &Partition::standard());
    let expected: Vec<String> = actions()
        .into_iter()
        .filter(|a| !CUSTOM_DOMAIN.contains(&a.as_str()))
        .collect();
    assert_eq!(granted(&plain), expected);
    let sids = |doc: &Value| -> Vec<String> {
        statements(doc)
            .iter()
            .map(|s| s["Sid"].as_str().unwrap().to_owned())
            .collect()
    };
    for extra in [
        "AdoptableUserPools",
        "TagAdoptableUserPools",
        "CustomDomainCertificates",
        "CustomDomainDistributions",
        "NamespaceAccounts",
    ] {
        assert!(sids(&full).contains(&extra.to_owned()), "{extra}");
        assert!(!sids(&plain).contains(&extra.to_owned()), "{extra}");
    }
    let mut unique = sids(&full);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), statements(&full).len(), "Sids are unique");
}

#[test]
fn every_implied_action_is_granted_and_names_calls_the_policy_grants() {
    let listed = actions();
    for i in IMPLIED {
        assert!(listed.contains(&i.action.to_owned()), "{}", i.action);
        assert!(!i.needed_by.is_empty(), "{}", i.action);
        for call in i.needed_by {
            assert!(listed.contains(&(*call).to_owned()), "{}: {call}", i.action);
        }
    }
}

/// Only what AWS lets name no resource is granted on `*`.
#[test]
fn only_actions_without_a_resource_type_are_granted_on_anything() {
    let doc = operator_policy(&full_scope(), &boundary(), &Partition::standard());
    let mut on_anything: Vec<String> = statements(&doc)
        .iter()
        .filter(|s| s["Resource"] == "*")
        .flat_map(|s| listed(&s["Action"]))
        .collect();
    on_anything.sort();
    assert_eq!(
        on_anything,
        [
            "cognito-idp:CreateUserPool",
            "cognito-idp:DescribeUserPoolDomain",
            "cognito-idp:ListUserPools",
            // Account-wide reads, no resource type in either service's reference.
            "ses:GetAccount",
            // SES v1 names no resource for it; it can only mail an address a link.
            "ses:VerifyEmailIdentity",
            "sns:GetSMSSandboxAccountStatus",
            "sts:GetCallerIdentity",
            "wafv2:ListWebACLs",
        ]
    );
}

/// Cognito acts only on pools tagged as the operator's, creates only such pools, keeps the tag
/// on update, deletes only pools it created, and touches an untagged pool only when the
/// platform team listed it for adoption.
#[test]
fn cognito_acts_on_the_operators_pools_and_listed_adoptions_only() {
    let doc = operator_policy(&full_scope(), &boundary(), &cn());
    let ours = json!({"StringEquals": {"aws:ResourceTag/passwordless-operator.dev/managed-by": "passwordless-operator"}});
    let pools = json!(["arn:aws-cn:cognito-idp:*:*:userpool/*"]);
    let adoptable = json!(["arn:aws-cn:cognito-idp:*:*:userpool/eu-west-1_Legacy"]);
    for action in OWN_POOL_ACTIONS
        .iter()
        .chain(&["cognito-idp:AssociateWebACL"])
    {
        let found = granting(&doc, action);
        assert!(!found.is_empty(), "{action}");
        for s in found {
            let on_all_pools = s["Resource"][0] == pools[0] && s["Condition"] == ours;
            let listed_adoption = s["Resource"] == adoptable && s["Sid"] == "AdoptableUserPools";
            assert!(on_all_pools || listed_adoption, "{action}: {s}");
        }
    }
    // The client secret: only on tagged pools, never on an adoptable one before it is tagged.
    let clients = granting(&doc, "cognito-idp:DescribeUserPoolClient");
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0]["Condition"], ours);

    let create = granting(&doc, "cognito-idp:CreateUserPool");
    assert_eq!(
        create[0]["Condition"],
        json!({"StringEquals": {"aws:RequestTag/passwordless-operator.dev/managed-by": "passwordless-operator"}})
    );
    let updates = granting(&doc, "cognito-idp:UpdateUserPool");
    assert_eq!(updates.len(), 2);
    for u in updates {
        let request =
            &u["Condition"]["StringEquals"]["aws:RequestTag/passwordless-operator.dev/managed-by"];
        assert_eq!(request, "passwordless-operator", "{u}");
    }
    let delete = granting(&doc, "cognito-idp:DeleteUserPool");
    assert_eq!(delete.len(), 1);
    assert_eq!(
        delete[0]["Condition"]["Null"]["aws:ResourceTag/passwordless-operator.dev/adopted"],
        "true"
    );
    // Without adoptable pools, no untagged pool at all.
    let plain = operator_policy(&Scope::default(), &boundary(), &cn()).to_string();
    assert!(!plain.contains("userpool/eu-west-1"), "{plain}");
}

#[test]
fn cognitos_email_role_may_be_created_and_no_other_service_linked_role() {
    let doc = operator_policy(
        &Scope::default(),
        &boundary(),
        &Partition::of_region("us-gov-west-1"),
    );
    let slr = granting(&doc, "iam:CreateServiceLinkedRole");
    assert_eq!(slr.len(), 1);
    assert_eq!(
        slr[0]["Resource"],
        json!([
            "arn:aws-us-gov:iam::*:role/aws-service-role/email.cognito-idp.amazonaws.com/AWSServiceRoleForAmazonCognitoIdpEmailService*"
        ])
    );
    assert_eq!(
        slr[0]["Condition"],
        json!({"StringEquals": {"iam:AWSServiceName": "email.cognito-idp.amazonaws.com"}})
    );
    assert!(COGNITO_EMAIL_ROLE.2.contains(COGNITO_EMAIL_SERVICE));
}

/// Every ARN of a China or GovCloud policy is in its partition; the trigger roles go to Lambda
/// by the same principal everywhere.
#[test]
fn each_partition_gets_its_own_arns() {
    for (region, partition) in [
        ("us-east-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
    ] {
        let p = Partition::of_region(region);
        let doc = operator_policy(
            &Scope {
                assume_roles: vec![],
                ..full_scope()
            },
            &boundary(),
            &p,
        );
        for s in statements(&doc) {
            for r in listed(&s["Resource"]) {
                assert!(
                    r == "*" || r.starts_with(&format!("arn:{partition}:")),
                    "{region}: {r}"
                );
            }
        }
        let pass = granting(&doc, "iam:PassRole");
        assert_eq!(
            pass[0]["Condition"]["StringEquals"]["iam:PassedToService"],
            "lambda.amazonaws.com"
        );
        let certificates = granting(&doc, "acm:DescribeCertificate");
        let want = if partition == "aws" { "us-east-1" } else { "*" };
        assert_eq!(
            certificates[0]["Resource"],
            format!("arn:{partition}:acm:{want}:*:certificate/*")
        );
    }
}

/// `scripts/test-iam-policy` publishes the policy with this file: it must parse and widen the
/// policy every way a tenancy file can.
#[test]
fn the_parliament_tenancy_file_widens_the_policy_every_way() {
    let tenancy = crate::tenancy::Tenancy::parse(include_str!("parliament-tenancy.yaml")).unwrap();
    let scope = tenancy.policy_scope();
    assert_eq!(scope.assume_roles.len(), 1);
    assert!(scope.custom_domains);
    assert_eq!(scope.adoptable_pools.len(), 2);
}

/// Every role the operator creates, or writes a policy for, carries the trigger boundary named
/// in the caller's own account; nothing can take the boundary off or change a policy.
#[test]
fn roles_are_made_and_written_only_with_the_trigger_boundary() {
    for (region, name, arn) in [
        (
            "us-east-1",
            None,
            "arn:aws:iam::${aws:PrincipalAccount}:policy/passwordless-operator-trigger-boundary",
        ),
        (
            "cn-north-1",
            None,
            "arn:aws-cn:iam::${aws:PrincipalAccount}:policy/passwordless-operator-trigger-boundary",
        ),
        (
            "us-gov-west-1",
            Some("platform/pwp-boundary"),
            "arn:aws-us-gov:iam::${aws:PrincipalAccount}:policy/platform/pwp-boundary",
        ),
    ] {
        let named = name.map_or_else(boundary, |n| n.parse().unwrap());
        let doc = operator_policy(&full_scope(), &named, &Partition::of_region(region));
        for action in [
            "iam:CreateRole",
            "iam:PutRolePolicy",
            "iam:PutRolePermissionsBoundary",
        ] {
            let found = granting(&doc, action);
            assert_eq!(found.len(), 1, "{region} {action}");
            assert_eq!(
                found[0]["Condition"],
                json!({"ArnEquals": {"iam:PermissionsBoundary": arn}}),
                "{region} {action}"
            );
        }
    }
    let doc = operator_policy(&full_scope(), &boundary(), &Partition::standard());
    let mut iam: Vec<String> = granted(&doc)
        .into_iter()
        .filter(|a| a.starts_with("iam:"))
        .collect();
    iam.sort();
    assert_eq!(
        iam,
        [
            "iam:CreateRole",
            "iam:CreateServiceLinkedRole",
            "iam:DeleteRole",
            "iam:DeleteRolePolicy",
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:PassRole",
            "iam:PutRolePermissionsBoundary",
            "iam:PutRolePolicy",
            "iam:TagRole",
            "iam:UpdateAssumeRolePolicy",
        ],
        "no DeleteRolePermissionsBoundary, no managed policies"
    );
    for s in statements(&doc) {
        for r in listed(&s["Resource"]) {
            assert!(!r.contains(":policy/"), "{s}");
        }
    }
}

/// The trigger policy of every strategy, pool and partition, as desired, and the policy a
/// role carries: the specs of `desired::tests`, plus a whole-domain sender.
fn trigger_policies(partition_region: &str) -> Vec<(String, Value, BTreeMap<String, String>)> {
    use crate::desired::desired_stack;
    use crate::desired::tests::{facts, spec};
    let mut found = Vec::new();
    for yaml in [
        "strategy: magicLink\nsender: {address: no-reply@example.com}\nmagicLink: {redirectUrls: ['https://app.example.com/cb']}\n",
        "strategy: emailOtp\nsender: {address: a@example.com, identity: Domain}\n",
        "strategy: emailOtp\nsender: {address: a@example.com}\n",
        "strategy: smsOtp\n",
    ] {
        for pool in [None, Some(format!("{partition_region}_Abc"))] {
            let pool_facts = crate::desired::Facts {
                region: partition_region.to_owned(),
                partition: Partition::of_region(partition_region),
                user_pool_id: pool.clone(),
                ..facts()
            };
            let names = StackNames::new("prod-eu", "shop", "checkout");
            let d = desired_stack(&spec(yaml), &names, &pool_facts).unwrap();
            // What every request on the pool finds: the pool's own tags.
            let facts = d
                .user_pool
                .tags
                .iter()
                .map(|(k, v)| (format!("aws:ResourceTag/{k}"), v.clone()))
                .collect();
            let what = format!("{partition_region} {pool:?} {yaml}");
            found.push((what, d.role.unwrap().policy, facts));
        }
    }
    found
}

#[test]
fn every_trigger_policy_lies_within_the_boundary_in_every_partition() {
    for region in ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"] {
        let boundary = trigger_boundary_policy(&Partition::of_region(region));
        for (what, policy, facts) in trigger_policies(region) {
            assert_eq!(within(&boundary, &policy, &facts), Ok(()), "{what}");
        }
    }
    // The check can fail: a policy on every table, the pool of a pool not tagged as the
    // operator's, another partition's boundary.
    let (_, policy, facts) = trigger_policies("us-east-1").pop().unwrap();
    let boundary = trigger_boundary_policy(&Partition::standard());
    let mut wider = policy.clone();
    wider["Statement"][3]["Resource"] = json!("arn:aws:dynamodb:*:*:table/*");
    assert_eq!(
        within(&boundary, &wider, &facts),
        Err(vec![
            "dynamodb:PutItem on arn:aws:dynamodb:*:*:table/*".to_owned(),
            "dynamodb:UpdateItem on arn:aws:dynamodb:*:*:table/*".to_owned(),
            "dynamodb:GetItem on arn:aws:dynamodb:*:*:table/*".to_owned(),
            "dynamodb:DeleteItem on arn:aws:dynamodb:*:*:table/*".to_owned(),
        ])
    );
    let untagged = within(&boundary, &policy, &BTreeMap::new()).unwrap_err();
    assert_eq!(untagged.len(), 1);
    assert!(
        untagged[0].starts_with("cognito-idp:AdminUpdateUserAttributes on "),
        "{untagged:?}"
    );
    let china = trigger_boundary_policy(&cn());
    assert_eq!(within(&china, &policy, &facts).unwrap_err().len(), 10);
}

/// The boundary allows what some trigger does and nothing else: its actions are exactly the
/// trigger policies' together, each on the operator's names for its resources.
#[test]
fn the_boundary_allows_the_triggers_actions_only() {
    let actions = |doc: &Value| -> BTreeSet<String> {
        statements(doc)
            .iter()
            .flat_map(|s| listed(&s["Action"]))
            .collect()
    };
    let mut any_trigger = BTreeSet::new();
    for (_, policy, _) in trigger_policies("eu-west-1") {
        any_trigger.extend(actions(&policy));
    }
    let gov = Partition::of_region("us-gov-west-1");
    let boundary = trigger_boundary_policy(&gov);
    assert_eq!(actions(&boundary), any_trigger);
    let mut resources = Vec::new();
    for s in statements(&boundary) {
        assert_eq!(s["Effect"], "Allow", "{s}");
        let on = s.get("Resource").or_else(|| s.get("NotResource")).unwrap();
        resources.extend(listed(on));
    }
    assert_eq!(
        resources,
        [
            "arn:aws-us-gov:logs:*:*:log-group:/aws/lambda/pwp-*",
            "arn:aws-us-gov:logs:*:*:log-group:/aws/lambda/pwp-*:*",
            "arn:aws-us-gov:secretsmanager:*:*:secret:passwordless-operator/*",
            "arn:aws-us-gov:dynamodb:*:*:table/pwp-*",
            "arn:aws-us-gov:ses:*:*:identity/*",
            // sns:Publish: everything but topics, i.e. phone numbers.
            "arn:aws-us-gov:sns:*:*:*",
            "arn:aws-us-gov:cognito-idp:*:*:userpool/*",
        ]
    );
    let mark = granting(&boundary, "cognito-idp:AdminUpdateUserAttributes");
    assert_eq!(
        mark[0]["Condition"],
        json!({"StringEquals": {"aws:ResourceTag/passwordless-operator.dev/managed-by": "passwordless-operator"}})
    );
    assert!(
        granting(&boundary, "sns:Publish")[0]
            .get("Resource")
            .is_none()
    );
}

#[test]
fn only_cognito_may_be_let_invoke_a_trigger() {
    let doc = operator_policy(&full_scope(), &boundary(), &Partition::standard());
    let found = granting(&doc, "lambda:AddPermission");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0]["Condition"]["StringEquals"]["lambda:Principal"],
        crate::desired::COGNITO_PRINCIPAL
    );
}

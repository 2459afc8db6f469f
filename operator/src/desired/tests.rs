use super::*;
use crate::names::{ADOPTED_TAG, DOMAINS_TAG};
use crate::partition::Partition;
use passwordless_contract::env as vars;
use passwordless_triggers::config::Config;

pub(crate) fn spec(yaml: &str) -> ValidatedSpec {
    crate::validate::validate(&serde_yaml::from_str(yaml).unwrap()).unwrap()
}

pub(crate) fn facts() -> Facts {
    Facts {
        region: "eu-west-1".into(),
        partition: Partition::standard(),
        account_id: Some("123456789012".into()),
        code_sha256: "c2hhMjU2".into(),
        signing_keys: "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
        user_pool_id: Some("eu-west-1_Abc".into()),
        trigger_boundary: TriggerBoundary::default(),
    }
}

const MAGIC: &str = "strategy: magicLink
sender: {address: no-reply@example.com, displayName: Example}
magicLink: {redirectUrls: ['https://app.example.com/cb'], ttlSeconds: 600, minIntervalSeconds: 30}
";

fn names() -> StackNames {
    StackNames::new("default", "shop", "checkout")
}

#[test]
fn a_magic_link_spec_maps_to_every_resource() {
    let d = desired_stack(&spec(MAGIC), &names(), &facts()).unwrap();
    assert_eq!(d.sender.as_ref().unwrap().identity, "no-reply@example.com");
    assert_eq!(d.table.as_ref().unwrap().name, d.names.table.as_str());
    let f = d.function.as_ref().unwrap();
    let base = &d.names.user_pool;
    assert_eq!(
        f.role_arn,
        format!("arn:aws:iam::123456789012:role/{base}-trigger")
    );
    assert_eq!(f.environment[vars::LINK_TTL_SECONDS], "600");
    assert_eq!(f.environment[vars::MIN_INTERVAL_SECONDS], "30");
    assert_eq!(f.environment[vars::ATTEMPT_LIMIT], "1");
    assert_eq!(f.environment[vars::TABLE_NAME], d.names.table.as_str());
    let arn = format!("arn:aws:lambda:eu-west-1:123456789012:function:{base}-trigger");
    assert_eq!(d.user_pool.define_auth_challenge, Some(arn.clone()));
    assert_eq!(d.user_pool.post_authentication, Some(arn));
    assert_eq!(d.user_pool.username_attributes, vec!["email"]);
    assert_eq!(d.user_pool.deletion_protection, "INACTIVE");
    assert_eq!(d.user_pool.recovery_mechanism, "admin_only");
    assert_eq!(
        d.permission.as_ref().unwrap().source_arn,
        "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc"
    );
    assert_eq!(
        d.client.explicit_auth_flows,
        vec!["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    );
    assert_eq!(d.client.prevent_user_existence_errors, "ENABLED");
    assert!(d.client.enable_token_revocation);
    // What a sign-in proves, a signed-in user cannot change through the app.
    let writable = &d.client.write_attributes;
    assert!(writable.contains(&"name".to_owned()));
    assert!(!writable.iter().any(|a| a == "email" || a == "phone_number"));
}

#[test]
fn the_environment_is_exactly_what_the_trigger_accepts() {
    for yaml in [
        MAGIC,
        "strategy: emailOtp\nsender: {address: a@example.com}\n",
        "strategy: smsOtp\n",
    ] {
        let d = desired_stack(&spec(yaml), &names(), &facts()).unwrap();
        let env = d.function.unwrap().environment;
        let config = Config::from_lookup(|k| env.get(k).cloned());
        assert!(config.is_ok(), "{yaml}: {config:?}");
    }
}

#[test]
fn native_uses_no_triggers_and_the_essentials_tier() {
    let yaml = "strategy: native
sender: {address: no-reply@example.com}
native: {allowedFirstAuthFactors: [EMAIL_OTP, WEB_AUTHN], webAuthnRelyingPartyId: example.com}
";
    let d = desired_stack(&spec(yaml), &names(), &facts()).unwrap();
    assert!(
        d.function.is_none() && d.role.is_none() && d.table.is_none() && d.permission.is_none()
    );
    assert_eq!(d.user_pool.define_auth_challenge, None);
    assert_eq!(d.user_pool.tier, "ESSENTIALS");
    assert_eq!(
        d.user_pool.allowed_first_auth_factors,
        vec!["EMAIL_OTP", "WEB_AUTHN", "PASSWORD"]
    );
    assert_eq!(
        d.user_pool.web_authn_relying_party_id.as_deref(),
        Some("example.com")
    );
    // The id the operator sets is recorded on the pool, so a later spec change is told from drift.
    assert_eq!(
        d.user_pool.tags[crate::names::RELYING_PARTY_TAG],
        "example.com"
    );
    assert_eq!(d.user_pool.email_sending_account, "DEVELOPER");
    assert_eq!(d.client.explicit_auth_flows[0], "ALLOW_USER_AUTH");
}

#[test]
fn the_policy_is_least_privilege_per_strategy() {
    let sms = desired_stack(&spec("strategy: smsOtp\n"), &names(), &facts()).unwrap();
    let policy = sms.role.unwrap().policy.to_string();
    assert!(policy.contains("sns:Publish") && !policy.contains("ses:SendEmail"));
    // Every trigger strategy keeps limits in its table and reads its keys' secret.
    assert!(policy.contains(&format!("table/{}", names().table)));
    assert!(policy.contains(&format!("secret:{}-??????", names().keys_secret)));
    assert!(!policy.contains("userpool/*") && !policy.contains(":log-group:*"));
    let magic = desired_stack(&spec(MAGIC), &names(), &facts()).unwrap();
    let policy = magic.role.unwrap().policy.to_string();
    assert!(
        policy.contains("identity/no-reply@example.com")
            && policy.contains(&format!("table/{}", names().table))
    );
    assert!(policy.contains("userpool/eu-west-1_Abc") && !policy.contains("sns:"));
    assert!(
        policy.contains(r#""ses:FromAddress":"no-reply@example.com""#),
        "{policy}"
    );
}

/// Every strategy, with every resource that names an ARN: a rate limit and a native pool
/// sending through SES.
const ALL_STRATEGIES: [&str; 4] = [
    MAGIC,
    "strategy: emailOtp\nsender: {address: a@example.com, identity: Domain}\nrateLimit: {requestsPerFiveMinutes: 100}\n",
    "strategy: smsOtp\n",
    "strategy: native\nsender: {address: a@example.com}\nnative: {allowedFirstAuthFactors: [EMAIL_OTP]}\nrateLimit: {requestsPerFiveMinutes: 100}\n",
];

fn facts_in(region: &str) -> Facts {
    Facts {
        region: region.into(),
        partition: Partition::of_region(region),
        user_pool_id: Some(format!("{region}_Abc")),
        ..facts()
    }
}

/// The trigger policy as it was written before partitions, literally: the oracle for the
/// standard partition, which must not change (existing stacks would see a diff).
fn policy_before_partitions(
    spec: &ValidatedSpec,
    names: &StackNames,
    facts: &Facts,
    sender: Option<&SenderConfig>,
) -> serde_json::Value {
    use serde_json::json;
    let (region, account) = (&facts.region, facts.account());
    let log_group = format!(
        "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{}",
        names.function
    );
    let mut statements = vec![
        json!({"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": log_group.clone()}),
        json!({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                   "Resource": format!("{log_group}:*")}),
        json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                   "Resource": format!("arn:aws:secretsmanager:{region}:{account}:secret:{}-??????", names.keys_secret)}),
        json!({"Effect": "Allow",
                   "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
                   "Resource": format!("arn:aws:dynamodb:{region}:{account}:table/{}", names.table)}),
    ];
    if let (Some(sender), Some(from), true) = (
        sender,
        spec.sender.as_ref(),
        spec.strategy != Strategy::SmsOtp,
    ) {
        statements.push(json!({"Effect": "Allow", "Action": "ses:SendEmail",
                "Resource": format!("arn:aws:ses:{region}:{account}:identity/{}", sender.identity),
                "Condition": {"StringEquals": {"ses:FromAddress": from.address}}}));
    }
    if spec.strategy == Strategy::SmsOtp {
        statements.push(
            json!({"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:*"}),
        );
    }
    if let Some(id) = &facts.user_pool_id {
        let pool = format!("arn:aws:cognito-idp:{region}:{account}:userpool/{id}");
        statements.push(json!({"Effect": "Allow", "Action": "cognito-idp:AdminUpdateUserAttributes", "Resource": pool}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[test]
fn the_standard_partition_writes_every_arn_and_policy_as_before() {
    for region in ["us-east-1", "eu-west-1"] {
        let facts = facts_in(region);
        let account = "123456789012";
        for yaml in ALL_STRATEGIES {
            let spec = spec(yaml);
            let d = desired_stack(&spec, &names(), &facts).unwrap();
            let n = &d.names;
            let pool = format!("arn:aws:cognito-idp:{region}:{account}:userpool/{region}_Abc");
            assert_eq!(facts.user_pool_arn().unwrap(), pool);
            if let Some(f) = &d.function {
                let function = format!("arn:aws:lambda:{region}:{account}:function:{}", n.function);
                assert_eq!(
                    f.role_arn,
                    format!("arn:aws:iam::{account}:role/{}", n.role)
                );
                assert_eq!(d.user_pool.define_auth_challenge.as_ref(), Some(&function));
                assert_eq!(d.permission.as_ref().unwrap().source_arn, pool);
                let role = d.role.as_ref().unwrap();
                let before = policy_before_partitions(&spec, n, &facts, d.sender.as_ref());
                // Byte for byte: IAM's stored document is compared as written.
                assert_eq!(
                    serde_json::to_string(&role.policy).unwrap(),
                    serde_json::to_string(&before).unwrap(),
                    "{region} {yaml}"
                );
                let trust_before = serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
                });
                assert_eq!(role.trust_policy.to_string(), trust_before.to_string());
            }
            if let Some(source) = &d.user_pool.email_source_arn {
                assert_eq!(
                    source,
                    &format!("arn:aws:ses:{region}:{account}:identity/a@example.com")
                );
            }
            if let Some(acl) = &d.web_acl {
                assert_eq!(acl.associated_with, pool);
            }
            assert_eq!(
                facts.table_arn(n),
                format!("arn:aws:dynamodb:{region}:{account}:table/{}", n.table)
            );
        }
    }
}

/// Every ARN a China or GovCloud pool's desired state names (functions, roles, the pool,
/// the SES identity, the policies' resources) is in its partition.
#[test]
fn china_and_govcloud_pools_name_their_partition_in_every_arn() {
    for (region, partition) in [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")] {
        let facts = facts_in(region);
        let ours = format!("arn:{partition}:");
        let mut seen = 0;
        for yaml in ALL_STRATEGIES {
            let d = desired_stack(&spec(yaml), &names(), &facts).unwrap();
            let role = d
                .role
                .as_ref()
                .map(|r| format!("{}{}", r.policy, r.trust_policy));
            let shown = format!("{d:?}{}", role.unwrap_or_default());
            // Every quoted value that starts an ARN.
            for (at, _) in shown.match_indices("\"arn:") {
                assert!(
                    shown[at + 1..].starts_with(&ours),
                    "{region}: {}",
                    &shown[at..]
                );
                seen += 1;
            }
            assert!(!shown.contains("arn:aws:"), "{shown}");
        }
        // Role, function (x5 triggers), permission, pool, policy resources, SES, web ACL.
        assert!(seen > 30, "{region}: {seen} ARNs");
        let sms = desired_stack(&spec("strategy: smsOtp\n"), &names(), &facts).unwrap();
        let policy = sms.role.unwrap().policy;
        assert_eq!(
            policy["Statement"][4]["NotResource"],
            format!("arn:{partition}:sns:*:*:*")
        );
        let native = desired_stack(&spec(ALL_STRATEGIES[3]), &names(), &facts).unwrap();
        assert_eq!(
            native.user_pool.email_source_arn.unwrap(),
            format!("arn:{partition}:ses:{region}:123456789012:identity/a@example.com")
        );
        assert_eq!(
            facts.table_arn(&names()),
            format!(
                "arn:{partition}:dynamodb:{region}:123456789012:table/{}",
                names().table
            )
        );
    }
}

#[test]
fn retain_turns_deletion_protection_on_and_sign_up_opens_the_pool() {
    let yaml = format!("{MAGIC}deletionPolicy: Retain\nsignUp: AutoConfirm\n");
    let d = desired_stack(&spec(&yaml), &names(), &facts()).unwrap();
    assert_eq!(d.user_pool.deletion_protection, "ACTIVE");
    assert!(!d.user_pool.allow_admin_create_user_only);
}

#[test]
fn managed_login_adds_a_domain_a_style_and_the_code_flow_only() {
    let plain = desired_stack(&spec(MAGIC), &names(), &facts()).unwrap();
    assert_eq!((plain.domain, plain.login_style), (None, None));
    assert_eq!(plain.client.oauth, OAuthConfig::default());
    let yaml = "strategy: native
sender: {address: a@example.com}
native: {allowedFirstAuthFactors: [EMAIL_OTP]}
managedLogin:
  domainPrefix: acme-login
  callbackUrls: [https://app.example.com/cb, http://localhost:3000/cb]
  logoutUrls: [https://app.example.com/]
";
    let d = desired_stack(&spec(yaml), &names(), &facts()).unwrap();
    let domain = d.domain.unwrap();
    assert_eq!(domain.domain, "acme-login");
    assert_eq!(domain.certificate_arn, None);
    assert_eq!(domain.managed_login_version, 2);
    assert_eq!(
        domain.host("eu-west-1"),
        "acme-login.auth.eu-west-1.amazoncognito.com"
    );
    assert!(d.login_style.is_some());
    let oauth = d.client.oauth;
    assert!(oauth.enabled);
    // No implicit grant, ever; scopes default to openid and email.
    assert_eq!(oauth.flows, vec!["code"]);
    assert_eq!(oauth.scopes, vec!["openid", "email"]);
    assert_eq!(oauth.callback_urls[0], "https://app.example.com/cb");
    assert_eq!(oauth.identity_providers, vec!["COGNITO"]);

    let custom = yaml.replace(
            "domainPrefix: acme-login",
            "customDomain: {domainName: auth.example.com, certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc'}",
        );
    let domain = desired_stack(&spec(&custom), &names(), &facts())
        .unwrap()
        .domain
        .unwrap();
    assert_eq!(domain.host("eu-west-1"), "auth.example.com");
    assert!(domain.certificate_arn.is_some());
}

#[test]
fn a_rate_limit_puts_a_web_acl_in_front_of_the_pool() {
    assert_eq!(
        desired_stack(&spec(MAGIC), &names(), &facts())
            .unwrap()
            .web_acl,
        None
    );
    let yaml = format!("{MAGIC}rateLimit: {{requestsPerFiveMinutes: 100}}\n");
    let acl = desired_stack(&spec(&yaml), &names(), &facts())
        .unwrap()
        .web_acl
        .unwrap();
    assert_eq!(acl.rate_limit, 100);
    assert_eq!(acl.associated_with, facts().user_pool_arn().unwrap());
    assert_eq!(acl.name, names().web_acl);
}

#[test]
fn an_adopted_pool_keeps_its_tags_and_deletion_protection() {
    let yaml = format!("{MAGIC}adopt: {{userPoolId: eu-west-1_Legacy}}\n");
    let mut d = desired_stack(&spec(&yaml), &names(), &facts())
        .unwrap()
        .user_pool;
    let mut observed = d.clone();
    observed.deletion_protection = "ACTIVE".into();
    observed.tags = BTreeMap::from([("cost-center".to_owned(), "42".to_owned())]);
    keep_adopted_settings(&mut d, &observed);
    assert_eq!(d.deletion_protection, "ACTIVE");
    assert_eq!(d.tags["cost-center"], "42");
    assert_eq!(d.tags[ADOPTED_TAG], "true");
    assert_eq!(d.tags[crate::names::OWNER_TAG], "shop/checkout");
}

#[test]
fn the_domains_tag_names_the_operators_domains_and_goes_with_the_last() {
    let mut d = desired_stack(&spec(MAGIC), &names(), &facts())
        .unwrap()
        .user_pool;
    // An adopted pool's observed tags carry the old value in: it is replaced, not kept.
    d.tags.insert(DOMAINS_TAG.to_owned(), "stale".to_owned());
    mark_operator_domains(
        &mut d,
        &["b-login".into(), "a-login".into(), "b-login".into()],
    );
    assert_eq!(d.tags[DOMAINS_TAG], "a-login b-login");
    mark_operator_domains(&mut d, &[]);
    assert!(!d.tags.contains_key(DOMAINS_TAG));
}

#[test]
fn templates_too_big_for_lambda_are_refused() {
    let yaml = format!(
        "{MAGIC}email: {{html: '{}{{{{link}}}}'}}\n",
        "x".repeat(5000)
    );
    assert!(matches!(
        desired_stack(&spec(&yaml), &names(), &facts()),
        Err(DesiredError::EnvironmentTooLarge(_))
    ));
}

#[test]
fn signing_keys_never_appear_in_fields_or_debug_output() {
    assert!(!format!("{:?}", facts()).contains("MDEyMzQ1"));
    let d = desired_stack(&spec(MAGIC), &names(), &facts()).unwrap();
    assert!(!format!("{d:?}").contains("MDEyMzQ1"));
    let function = format!("{:?}", d.function.as_ref().unwrap().fields());
    assert!(!function.contains("MDEyMzQ1"), "{function}");
    let env = &d.function.unwrap().environment;
    assert_eq!(
        env[vars::SIGNING_KEYS_SECRET],
        names().keys_secret,
        "a name, not keys"
    );
    let secret = d.keys_secret.unwrap();
    assert_eq!(secret.value.as_deref(), Some(facts().signing_keys.as_str()));
    assert!(!format!("{secret:?}{:?}", secret.fields()).contains("MDEyMzQ1"));
}

/// The trigger-environment reference lists `env::ALL`: the email and text-message specs that
/// set every field set exactly those variables between them.
#[test]
fn every_trigger_variable_is_listed_in_the_contract() {
    let email = "strategy: magicLink
sender: {address: no-reply@example.com, displayName: Example, replyTo: help@example.com}
magicLink: {redirectUrls: ['https://app.example.com/cb']}
email: {appName: Shop, subject: 'Sign in to {{appName}}', html: '<a href=\"{{link}}\">Sign in</a>', text: 'Open {{link}}'}
";
    let sms = "strategy: smsOtp
sms: {text: '{{code}}', localized: {de: {text: 'Code {{code}}'}}}
";
    let mut set: Vec<String> = [email, sms]
        .into_iter()
        .flat_map(|yaml| {
            let d = desired_stack(&spec(yaml), &names(), &facts()).unwrap();
            d.function.unwrap().environment.into_keys()
        })
        .collect();
    set.sort();
    set.dedup();
    let mut listed: Vec<&str> = vars::ALL.iter().map(|v| v.name).collect();
    listed.sort();
    assert_eq!(set, listed);
}

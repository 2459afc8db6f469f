//! Pure: a PasswordlessPool spec (plus the IDs already known) becomes the AWS state we want.
//!
//! Each resource's configuration is a plain struct (`configs.rs`); [`Fields`] flattens it into
//! named values, which is all the diff needs, so the same structs describe what is desired and
//! what was observed. The trigger's environment and policy are in `trigger.rs`. Nothing here
//! performs I/O.

mod configs;
mod trigger;

use std::collections::BTreeMap;

pub use configs::*;
use passwordless_contract::table;
pub use trigger::{
    DEFAULT_TRIGGER_BOUNDARY, NotABoundaryName, TriggerBoundary, trigger_boundary_policy,
};
use trigger::{trigger_environment, trigger_policy, trust_policy};

use crate::crd::{DeletionPolicy, MANAGED_LOGIN_VERSION, SenderIdentity, SignUpPolicy, Strategy};
use crate::names::{ADOPTED_TAG, DOMAINS_TAG, StackNames};
use crate::partition::Partition;
use crate::validate::ValidatedSpec;

/// Lambda's limit on the total size of a function's environment variables.
pub const LAMBDA_ENV_LIMIT: usize = 4096;
pub const TRIGGER_RUNTIME: &str = "provided.al2023";
pub const TRIGGER_HANDLER: &str = "bootstrap";
pub const TRIGGER_MEMORY_MB: i32 = 128;
pub use passwordless_contract::TRIGGER_TIMEOUT_SECONDS;
pub const PERMISSION_STATEMENT: &str = "passwordless-operator-cognito";
/// Service principals are `SERVICE.amazonaws.com` in every partition, China's and GovCloud's
/// too (the `.amazonaws.com.cn` forms are legacy exceptions of services not used here).
pub const COGNITO_PRINCIPAL: &str = "cognito-idp.amazonaws.com";
pub const LAMBDA_PRINCIPAL: &str = "lambda.amazonaws.com";
/// What a signed-in user may change about themselves: Cognito's standard attributes but the
/// ones a sign-in proves (`email`, `phone_number`), so nobody can swap in an address they
/// never received a link or code at.
pub const WRITABLE_ATTRIBUTES: [&str; 15] = [
    "address",
    "birthdate",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];
/// The function's field that names the configuration its probe proved.
pub const VERIFIED_FIELD: &str = "verifiedConfig";

/// What the spec alone does not say: where, which account, which code, which keys, and the IDs
/// of resources that already exist (None until created: "known after apply").
#[derive(Clone, Default)]
pub struct Context {
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
impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
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
impl Context {
    fn account(&self) -> &str {
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

/// The AWS state one PasswordlessPool wants. Trigger resources (role, state table, keys secret,
/// function, permission) are absent for `native`.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredStack {
    pub names: StackNames,
    pub tags: BTreeMap<String, String>,
    pub sender: Option<SenderConfig>,
    pub role: Option<RoleConfig>,
    pub table: Option<TableConfig>,
    pub keys_secret: Option<KeysSecretConfig>,
    /// The role ARN inside is a placeholder until the role exists.
    pub function: Option<FunctionConfig>,
    pub permission: Option<PermissionConfig>,
    pub user_pool: UserPoolConfig,
    pub client: ClientConfig,
    /// Managed login's domain and the client's style (`spec.managedLogin`).
    pub domain: Option<DomainConfig>,
    pub login_style: Option<LoginStyleConfig>,
    pub web_acl: Option<WebAclConfig>,
}

/// Why no desired state can be computed for a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    #[error(
        "the trigger's environment would be {0} bytes, over Lambda's 4 KB limit: shorten spec.email's templates"
    )]
    EnvironmentTooLarge(usize),
}

/// The SES identity for a sender: the address itself, or its domain.
fn sender_identity(spec: &ValidatedSpec, ctx: &Context) -> Option<SenderConfig> {
    let sender = spec.sender.as_ref()?;
    let identity = match sender.identity {
        SenderIdentity::Address => sender.address.clone(),
        SenderIdentity::Domain => sender
            .address
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default(),
    };
    Some(SenderConfig {
        arn: ctx.ses_identity_arn(&identity),
        identity,
    })
}

/// An adopted pool keeps what the spec does not own: its own tags (ours are added, with the
/// adoption mark) and its deletion protection, which the operator never switches off.
pub fn keep_adopted_settings(desired: &mut UserPoolConfig, observed: &UserPoolConfig) {
    let mut tags = observed.tags.clone();
    tags.extend(desired.tags.clone());
    tags.insert(ADOPTED_TAG.to_owned(), "true".to_owned());
    desired.tags = tags;
    desired.deletion_protection = observed.deletion_protection.clone();
}

/// The pool's [`DOMAINS_TAG`] names the domains the operator made or is about to make, so it
/// is written (with the pool) before a domain is created and dropped only once it is gone.
pub fn mark_operator_domains(desired: &mut UserPoolConfig, domains: &[String]) {
    let mut sorted = domains.to_vec();
    sorted.sort();
    sorted.dedup();
    desired.tags.remove(DOMAINS_TAG);
    if !sorted.is_empty() {
        desired
            .tags
            .insert(DOMAINS_TAG.to_owned(), sorted.join(" "));
    }
}

/// The first factors a native pool sends. Cognito keeps PASSWORD among them whatever else is
/// allowed (it stays unused: the pool's users have no passwords), so it is asked for too, and
/// an observed pool matches.
fn first_factors(allowed: &[crate::crd::AuthFactor]) -> Vec<String> {
    let mut factors: Vec<String> = allowed.iter().map(|f| f.as_str().to_owned()).collect();
    let password = crate::crd::AuthFactor::Password.as_str();
    if !factors.iter().any(|f| f == password) {
        factors.push(password.to_owned());
    }
    factors
}

/// The client's OAuth settings: the authorization-code flow (with PKCE, the app's side) on
/// Cognito's own sign-in, only with `spec.managedLogin`.
fn oauth_config(spec: &ValidatedSpec) -> OAuthConfig {
    let Some(login) = &spec.managed_login else {
        return OAuthConfig::default();
    };
    OAuthConfig {
        enabled: true,
        flows: vec!["code".to_owned()],
        scopes: login.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        callback_urls: login.callback_urls.clone(),
        logout_urls: login.logout_urls.clone(),
        identity_providers: vec!["COGNITO".to_owned()],
    }
}

/// Computes everything the spec asks for.
pub fn desired_stack(
    spec: &ValidatedSpec,
    names: &StackNames,
    ctx: &Context,
) -> Result<DesiredStack, DesiredError> {
    let tags = names.tags(&spec.tags);
    let sender = sender_identity(spec, ctx);
    let uses_triggers = spec.strategy != Strategy::Native;
    // Every trigger strategy keeps cooldowns and failure counts (and links their single use).
    let table = uses_triggers.then(|| TableConfig {
        name: names.table.clone(),
        ttl_attribute: table::TTL_ATTRIBUTE.to_owned(),
    });
    let keys_secret = uses_triggers
        .then(|| KeysSecretConfig::new(names.keys_secret.clone(), ctx.signing_keys.clone()));
    let function = if uses_triggers {
        let environment = trigger_environment(spec, names);
        // Lambda measures the variables as JSON (quotes, separators, escapes included).
        let size = serde_json::to_string(&environment).map_or(usize::MAX, |j| j.len());
        if size > LAMBDA_ENV_LIMIT {
            return Err(DesiredError::EnvironmentTooLarge(size));
        }
        let mut function = FunctionConfig {
            name: names.function.clone(),
            runtime: TRIGGER_RUNTIME.to_owned(),
            handler: TRIGGER_HANDLER.to_owned(),
            role_arn: ctx.role_arn(names),
            memory_mb: TRIGGER_MEMORY_MB,
            timeout_seconds: TRIGGER_TIMEOUT_SECONDS,
            environment,
            code_sha256: ctx.code_sha256.clone(),
            verified: None,
        };
        function.verified = Some(function.digest());
        Some(function)
    } else {
        None
    };
    let role = uses_triggers.then(|| RoleConfig {
        name: names.role.clone(),
        trust_policy: trust_policy(),
        policy_name: names.role_policy.clone(),
        policy: trigger_policy(spec, names, ctx, sender.as_ref()),
        permissions_boundary: Some(ctx.trigger_boundary_arn()),
    });
    let permission = if uses_triggers {
        Some(PermissionConfig {
            statement_id: PERMISSION_STATEMENT.to_owned(),
            principal: COGNITO_PRINCIPAL.to_owned(),
            source_arn: ctx
                .user_pool_arn()
                .unwrap_or_else(|| "(known after apply)".to_owned()),
            source_account: ctx.account().to_owned(),
        })
    } else {
        None
    };
    let trigger = uses_triggers.then(|| ctx.function_arn(names));
    let native = spec.native.as_ref();
    let native_email = native.is_some_and(|n| {
        n.allowed_first_auth_factors
            .contains(&crate::crd::AuthFactor::EmailOtp)
    });
    let username_attribute = if spec.strategy == Strategy::SmsOtp {
        "phone_number"
    } else {
        "email"
    };
    let user_pool = UserPoolConfig {
        name: names.user_pool.clone(),
        username_attributes: vec![username_attribute.to_owned()],
        auto_verified_attributes: if native.is_some() {
            vec!["email".to_owned()]
        } else {
            Vec::new()
        },
        define_auth_challenge: trigger.clone(),
        create_auth_challenge: trigger.clone(),
        verify_auth_challenge_response: trigger.clone(),
        pre_sign_up: trigger.clone(),
        post_authentication: trigger,
        deletion_protection: match spec.deletion_policy {
            DeletionPolicy::Retain => "ACTIVE",
            DeletionPolicy::Delete => "INACTIVE",
        }
        .to_owned(),
        allow_admin_create_user_only: spec.sign_up == SignUpPolicy::Disabled,
        recovery_mechanism: "admin_only".to_owned(),
        mfa: "OFF".to_owned(),
        tier: if native.is_some() {
            "ESSENTIALS"
        } else {
            "LITE"
        }
        .to_owned(),
        allowed_first_auth_factors: native
            .map(|n| first_factors(&n.allowed_first_auth_factors))
            .unwrap_or_default(),
        web_authn_relying_party_id: native.and_then(|n| n.web_authn_relying_party_id.clone()),
        email_sending_account: if native_email {
            "DEVELOPER"
        } else {
            "COGNITO_DEFAULT"
        }
        .to_owned(),
        email_source_arn: sender
            .as_ref()
            .filter(|_| native_email)
            .map(|s| ctx.ses_identity_arn(&s.identity)),
        email_from: spec
            .sender
            .as_ref()
            .filter(|_| native_email)
            .map(|s| s.address.clone()),
        tags: tags.clone(),
    };
    let flow = if native.is_some() {
        "ALLOW_USER_AUTH"
    } else {
        "ALLOW_CUSTOM_AUTH"
    };
    let client = ClientConfig {
        name: names.client.clone(),
        explicit_auth_flows: vec![flow.to_owned(), "ALLOW_REFRESH_TOKEN_AUTH".to_owned()],
        prevent_user_existence_errors: "ENABLED".to_owned(),
        enable_token_revocation: true,
        access_token_validity_minutes: spec.client.access_token_validity_minutes as i32,
        id_token_validity_minutes: spec.client.id_token_validity_minutes as i32,
        refresh_token_validity_days: spec.client.refresh_token_validity_days as i32,
        auth_session_validity_minutes: spec.client.auth_session_validity_minutes as i32,
        write_attributes: WRITABLE_ATTRIBUTES.map(str::to_owned).to_vec(),
        oauth: oauth_config(spec),
    };
    let domain = spec.managed_login.as_ref().map(|m| DomainConfig {
        domain: m
            .custom_domain
            .as_ref()
            .map(|c| c.domain_name.clone())
            .or_else(|| m.domain_prefix.clone())
            .unwrap_or_default(),
        certificate_arn: m.custom_domain.as_ref().map(|c| c.certificate_arn.clone()),
        managed_login_version: MANAGED_LOGIN_VERSION,
        others: Vec::new(),
        cloud_front_distribution: None,
        status: None,
    });
    let login_style = spec.managed_login.as_ref().map(|_| LoginStyleConfig);
    let web_acl = spec.rate_limit.as_ref().map(|rate| WebAclConfig {
        name: names.web_acl.clone(),
        rate_limit: rate.requests_per_five_minutes,
        associated_with: ctx
            .user_pool_arn()
            .unwrap_or_else(|| "(known after apply)".to_owned()),
    });
    Ok(DesiredStack {
        names: names.clone(),
        domain,
        login_style,
        web_acl,
        tags,
        sender,
        role,
        table,
        keys_secret,
        function,
        permission,
        user_pool,
        client,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use passwordless_contract::env as vars;
    use passwordless_triggers::config::Config;

    pub(crate) fn spec(yaml: &str) -> ValidatedSpec {
        crate::validate::validate(&serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    pub(crate) fn ctx() -> Context {
        Context {
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
        let d = desired_stack(&spec(MAGIC), &names(), &ctx()).unwrap();
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
            let d = desired_stack(&spec(yaml), &names(), &ctx()).unwrap();
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
        let d = desired_stack(&spec(yaml), &names(), &ctx()).unwrap();
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
        assert_eq!(d.user_pool.email_sending_account, "DEVELOPER");
        assert_eq!(d.client.explicit_auth_flows[0], "ALLOW_USER_AUTH");
    }

    #[test]
    fn the_policy_is_least_privilege_per_strategy() {
        let sms = desired_stack(&spec("strategy: smsOtp\n"), &names(), &ctx()).unwrap();
        let policy = sms.role.unwrap().policy.to_string();
        assert!(policy.contains("sns:Publish") && !policy.contains("ses:SendEmail"));
        // Every trigger strategy keeps limits in its table and reads its keys' secret.
        assert!(policy.contains(&format!("table/{}", names().table)));
        assert!(policy.contains(&format!("secret:{}-??????", names().keys_secret)));
        assert!(!policy.contains("userpool/*") && !policy.contains(":log-group:*"));
        let magic = desired_stack(&spec(MAGIC), &names(), &ctx()).unwrap();
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

    fn ctx_in(region: &str) -> Context {
        Context {
            region: region.into(),
            partition: Partition::of_region(region),
            user_pool_id: Some(format!("{region}_Abc")),
            ..ctx()
        }
    }

    /// The trigger policy as it was written before partitions, literally: the oracle for the
    /// standard partition, which must not change (existing stacks would see a diff).
    fn policy_before_partitions(
        spec: &ValidatedSpec,
        names: &StackNames,
        ctx: &Context,
        sender: Option<&SenderConfig>,
    ) -> serde_json::Value {
        use serde_json::json;
        let (region, account) = (&ctx.region, ctx.account());
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
        if let Some(id) = &ctx.user_pool_id {
            let pool = format!("arn:aws:cognito-idp:{region}:{account}:userpool/{id}");
            statements.push(json!({"Effect": "Allow", "Action": "cognito-idp:AdminUpdateUserAttributes", "Resource": pool}));
        }
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    #[test]
    fn the_standard_partition_writes_every_arn_and_policy_as_before() {
        for region in ["us-east-1", "eu-west-1"] {
            let ctx = ctx_in(region);
            let account = "123456789012";
            for yaml in ALL_STRATEGIES {
                let spec = spec(yaml);
                let d = desired_stack(&spec, &names(), &ctx).unwrap();
                let n = &d.names;
                let pool = format!("arn:aws:cognito-idp:{region}:{account}:userpool/{region}_Abc");
                assert_eq!(ctx.user_pool_arn().unwrap(), pool);
                if let Some(f) = &d.function {
                    let function =
                        format!("arn:aws:lambda:{region}:{account}:function:{}", n.function);
                    assert_eq!(
                        f.role_arn,
                        format!("arn:aws:iam::{account}:role/{}", n.role)
                    );
                    assert_eq!(d.user_pool.define_auth_challenge.as_ref(), Some(&function));
                    assert_eq!(d.permission.as_ref().unwrap().source_arn, pool);
                    let role = d.role.as_ref().unwrap();
                    let before = policy_before_partitions(&spec, n, &ctx, d.sender.as_ref());
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
                    ctx.table_arn(n),
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
            let ctx = ctx_in(region);
            let ours = format!("arn:{partition}:");
            let mut seen = 0;
            for yaml in ALL_STRATEGIES {
                let d = desired_stack(&spec(yaml), &names(), &ctx).unwrap();
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
            let sms = desired_stack(&spec("strategy: smsOtp\n"), &names(), &ctx).unwrap();
            let policy = sms.role.unwrap().policy;
            assert_eq!(
                policy["Statement"][4]["NotResource"],
                format!("arn:{partition}:sns:*:*:*")
            );
            let native = desired_stack(&spec(ALL_STRATEGIES[3]), &names(), &ctx).unwrap();
            assert_eq!(
                native.user_pool.email_source_arn.unwrap(),
                format!("arn:{partition}:ses:{region}:123456789012:identity/a@example.com")
            );
            assert_eq!(
                ctx.table_arn(&names()),
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
        let d = desired_stack(&spec(&yaml), &names(), &ctx()).unwrap();
        assert_eq!(d.user_pool.deletion_protection, "ACTIVE");
        assert!(!d.user_pool.allow_admin_create_user_only);
    }

    #[test]
    fn managed_login_adds_a_domain_a_style_and_the_code_flow_only() {
        let plain = desired_stack(&spec(MAGIC), &names(), &ctx()).unwrap();
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
        let d = desired_stack(&spec(yaml), &names(), &ctx()).unwrap();
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
        let domain = desired_stack(&spec(&custom), &names(), &ctx())
            .unwrap()
            .domain
            .unwrap();
        assert_eq!(domain.host("eu-west-1"), "auth.example.com");
        assert!(domain.certificate_arn.is_some());
    }

    #[test]
    fn a_rate_limit_puts_a_web_acl_in_front_of_the_pool() {
        assert_eq!(
            desired_stack(&spec(MAGIC), &names(), &ctx())
                .unwrap()
                .web_acl,
            None
        );
        let yaml = format!("{MAGIC}rateLimit: {{requestsPerFiveMinutes: 100}}\n");
        let acl = desired_stack(&spec(&yaml), &names(), &ctx())
            .unwrap()
            .web_acl
            .unwrap();
        assert_eq!(acl.rate_limit, 100);
        assert_eq!(acl.associated_with, ctx().user_pool_arn().unwrap());
        assert_eq!(acl.name, names().web_acl);
    }

    #[test]
    fn an_adopted_pool_keeps_its_tags_and_deletion_protection() {
        let yaml = format!("{MAGIC}adopt: {{userPoolId: eu-west-1_Legacy}}\n");
        let mut d = desired_stack(&spec(&yaml), &names(), &ctx())
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
        let mut d = desired_stack(&spec(MAGIC), &names(), &ctx())
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
            desired_stack(&spec(&yaml), &names(), &ctx()),
            Err(DesiredError::EnvironmentTooLarge(_))
        ));
    }

    #[test]
    fn signing_keys_never_appear_in_fields_or_debug_output() {
        assert!(!format!("{:?}", ctx()).contains("MDEyMzQ1"));
        let d = desired_stack(&spec(MAGIC), &names(), &ctx()).unwrap();
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
        assert_eq!(secret.value.as_deref(), Some(ctx().signing_keys.as_str()));
        assert!(!format!("{secret:?}{:?}", secret.fields()).contains("MDEyMzQ1"));
    }
}

//! Pure: a PasswordlessPool spec (plus the IDs already known) becomes the AWS state we want.
//!
//! Each resource's configuration is a plain struct; [`Fields`] flattens it into named values,
//! which is all the diff needs, so the same structs describe what is desired and what was
//! observed. Nothing here performs I/O.

use std::collections::BTreeMap;

use passwordless_contract::env as vars;
use passwordless_contract::table;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::crd::{DeletionPolicy, SenderIdentity, SignUpPolicy, Strategy};
use crate::names::StackNames;
use crate::validate::ValidatedSpec;

/// Lambda's limit on the total size of a function's environment variables.
pub const LAMBDA_ENV_LIMIT: usize = 4096;
pub const TRIGGER_RUNTIME: &str = "provided.al2023";
pub const TRIGGER_HANDLER: &str = "bootstrap";
pub const TRIGGER_MEMORY_MB: i32 = 128;
pub const TRIGGER_TIMEOUT_SECONDS: i32 = 10;
pub const PERMISSION_STATEMENT: &str = "passwordless-operator-cognito";
pub const COGNITO_PRINCIPAL: &str = "cognito-idp.amazonaws.com";
/// The function's field that names the configuration its probe proved.
pub const VERIFIED_FIELD: &str = "verifiedConfig";

/// What the spec alone does not say: where, which account, which code, which keys, and the IDs
/// of resources that already exist (None until created: "known after apply").
#[derive(Clone, Default)]
pub struct Context {
    pub region: String,
    pub account_id: Option<String>,
    /// base64(sha256(zip)), as Lambda reports CodeSha256.
    pub code_sha256: String,
    /// `kid:base64,kid:base64`, current first.
    pub signing_keys: String,
    pub user_pool_id: Option<String>,
}

/// Shows the signing keys as a fingerprint, never as themselves.
impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .field("code_sha256", &self.code_sha256)
            .field("signing_keys", &fingerprint(&self.signing_keys))
            .field("user_pool_id", &self.user_pool_id)
            .finish()
    }
}

impl Context {
    fn account(&self) -> &str {
        self.account_id.as_deref().unwrap_or("(account)")
    }

    pub fn user_pool_arn(&self) -> Option<String> {
        let id = self.user_pool_id.as_deref()?;
        Some(format!(
            "arn:aws:cognito-idp:{}:{}:userpool/{id}",
            self.region,
            self.account()
        ))
    }
}

/// A configuration that can be compared field by field.
pub trait Fields {
    /// `(field, rendered value)` for every field the operator manages, sorted by field. Secret
    /// values are rendered as a fingerprint, never as themselves.
    fn fields(&self) -> Vec<(String, String)>;
}

fn list(values: &[String]) -> String {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.join(",")
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// `sha256:<first 12 hex>`: enough to see a secret changed, nothing to learn it from.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("(sensitive, sha256:{hex})")
}

#[derive(Debug, Clone, PartialEq)]
pub struct SenderConfig {
    /// The SES identity: the address, or its domain.
    pub identity: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleConfig {
    pub name: String,
    pub trust_policy: Value,
    pub policy_name: String,
    pub policy: Value,
}

impl Fields for RoleConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![
            ("assumeRolePolicy".into(), self.trust_policy.to_string()),
            (
                format!("inlinePolicy.{}", self.policy_name),
                self.policy.to_string(),
            ),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableConfig {
    pub name: String,
    pub ttl_attribute: String,
}

impl Fields for TableConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![(
            "timeToLive.attributeName".into(),
            self.ttl_attribute.clone(),
        )]
    }
}

#[derive(Clone, PartialEq)]
pub struct FunctionConfig {
    pub name: String,
    pub runtime: String,
    pub handler: String,
    pub role_arn: String,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    pub environment: BTreeMap<String, String>,
    pub code_sha256: String,
    /// The digest of the configuration the operator's probe last proved the trigger accepts
    /// (a tag on the function). Desired: the digest of the fields above.
    pub verified: Option<String>,
}

impl FunctionConfig {
    /// `sha256:<16 hex>` over every managed field but `verified` (keys only as fingerprints).
    pub fn digest(&self) -> String {
        let unverified = FunctionConfig {
            verified: None,
            ..self.clone()
        };
        let text: String = unverified
            .fields()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        let digest = Sha256::digest(text.as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// Shows the fields, so the signing keys print as a fingerprint, never as themselves.
impl std::fmt::Debug for FunctionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionConfig")
            .field("name", &self.name)
            .field("fields", &self.fields())
            .finish()
    }
}

impl Fields for FunctionConfig {
    fn fields(&self) -> Vec<(String, String)> {
        let mut f = vec![
            ("codeSha256".to_owned(), self.code_sha256.clone()),
            ("handler".to_owned(), self.handler.clone()),
            ("memorySize".to_owned(), self.memory_mb.to_string()),
            ("role".to_owned(), self.role_arn.clone()),
            ("runtime".to_owned(), self.runtime.clone()),
            ("timeout".to_owned(), self.timeout_seconds.to_string()),
            (VERIFIED_FIELD.to_owned(), opt(&self.verified)),
        ];
        for (k, v) in &self.environment {
            let shown = if k == vars::SIGNING_KEYS {
                fingerprint(v)
            } else {
                v.clone()
            };
            f.push((format!("environment.{k}"), shown));
        }
        f.sort();
        f
    }
}

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

/// The whole user pool configuration: UpdateUserPool is always sent all of it, because AWS
/// resets every field an update omits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserPoolConfig {
    pub name: String,
    /// Fixed at creation: `email` or `phone_number`.
    pub username_attributes: Vec<String>,
    pub auto_verified_attributes: Vec<String>,
    pub define_auth_challenge: Option<String>,
    pub create_auth_challenge: Option<String>,
    pub verify_auth_challenge_response: Option<String>,
    pub pre_sign_up: Option<String>,
    pub post_authentication: Option<String>,
    /// ACTIVE or INACTIVE.
    pub deletion_protection: String,
    pub allow_admin_create_user_only: bool,
    /// Account recovery off: only an administrator can recover an account.
    pub recovery_mechanism: String,
    pub mfa: String,
    /// LITE or ESSENTIALS (native passwordless needs ESSENTIALS).
    pub tier: String,
    pub allowed_first_auth_factors: Vec<String>,
    pub web_authn_relying_party_id: Option<String>,
    /// COGNITO_DEFAULT, or DEVELOPER (SES) for native EMAIL_OTP.
    pub email_sending_account: String,
    pub email_source_arn: Option<String>,
    pub email_from: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl Fields for UserPoolConfig {
    fn fields(&self) -> Vec<(String, String)> {
        let mut f = vec![
            (
                "accountRecoverySetting".to_owned(),
                self.recovery_mechanism.clone(),
            ),
            (
                "adminCreateUserConfig.allowAdminCreateUserOnly".to_owned(),
                self.allow_admin_create_user_only.to_string(),
            ),
            (
                "autoVerifiedAttributes".to_owned(),
                list(&self.auto_verified_attributes),
            ),
            (
                "deletionProtection".to_owned(),
                self.deletion_protection.clone(),
            ),
            (
                "emailConfiguration.emailSendingAccount".to_owned(),
                self.email_sending_account.clone(),
            ),
            ("emailConfiguration.from".to_owned(), opt(&self.email_from)),
            (
                "emailConfiguration.sourceArn".to_owned(),
                opt(&self.email_source_arn),
            ),
            (
                "lambdaConfig.createAuthChallenge".to_owned(),
                opt(&self.create_auth_challenge),
            ),
            (
                "lambdaConfig.defineAuthChallenge".to_owned(),
                opt(&self.define_auth_challenge),
            ),
            (
                "lambdaConfig.postAuthentication".to_owned(),
                opt(&self.post_authentication),
            ),
            ("lambdaConfig.preSignUp".to_owned(), opt(&self.pre_sign_up)),
            (
                "lambdaConfig.verifyAuthChallengeResponse".to_owned(),
                opt(&self.verify_auth_challenge_response),
            ),
            ("mfaConfiguration".to_owned(), self.mfa.clone()),
            (
                "policies.signInPolicy.allowedFirstAuthFactors".to_owned(),
                list(&self.allowed_first_auth_factors),
            ),
            ("userPoolTier".to_owned(), self.tier.clone()),
            (
                "webAuthnRelyingPartyId".to_owned(),
                opt(&self.web_authn_relying_party_id),
            ),
        ];
        for (k, v) in &self.tags {
            f.push((format!("tags.{k}"), v.clone()));
        }
        f.sort();
        f
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientConfig {
    pub name: String,
    pub explicit_auth_flows: Vec<String>,
    pub prevent_user_existence_errors: String,
    pub enable_token_revocation: bool,
    pub access_token_validity_minutes: i32,
    pub id_token_validity_minutes: i32,
    pub refresh_token_validity_days: i32,
    pub auth_session_validity_minutes: i32,
}

impl Fields for ClientConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![
            (
                "accessTokenValidity".into(),
                format!("{}m", self.access_token_validity_minutes),
            ),
            (
                "authSessionValidity".into(),
                format!("{}m", self.auth_session_validity_minutes),
            ),
            (
                "enableTokenRevocation".into(),
                self.enable_token_revocation.to_string(),
            ),
            ("explicitAuthFlows".into(), list(&self.explicit_auth_flows)),
            (
                "idTokenValidity".into(),
                format!("{}m", self.id_token_validity_minutes),
            ),
            (
                "preventUserExistenceErrors".into(),
                self.prevent_user_existence_errors.clone(),
            ),
            (
                "refreshTokenValidity".into(),
                format!("{}d", self.refresh_token_validity_days),
            ),
        ]
    }
}

/// The AWS state one PasswordlessPool wants. Trigger resources are absent for `native`; the
/// state table exists only for magic links (single use and cooldown).
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredStack {
    pub names: StackNames,
    pub tags: BTreeMap<String, String>,
    pub sender: Option<SenderConfig>,
    pub role: Option<RoleConfig>,
    pub table: Option<TableConfig>,
    /// The role ARN inside is a placeholder until the role exists.
    pub function: Option<FunctionConfig>,
    pub permission: Option<PermissionConfig>,
    pub user_pool: UserPoolConfig,
    pub client: ClientConfig,
}

/// Why no desired state can be computed for a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    #[error(
        "the trigger's environment would be {0} bytes, over Lambda's 4 KB limit: shorten spec.email's templates"
    )]
    EnvironmentTooLarge(usize),
}

pub fn role_arn(ctx: &Context, names: &StackNames) -> String {
    format!("arn:aws:iam::{}:role/{}", ctx.account(), names.role)
}

pub fn function_arn(ctx: &Context, names: &StackNames) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{}",
        ctx.region,
        ctx.account(),
        names.function
    )
}

/// The SES identity for a sender: the address itself, or its domain.
pub fn sender_identity(spec: &ValidatedSpec) -> Option<SenderConfig> {
    let sender = spec.sender.as_ref()?;
    let identity = match sender.identity {
        SenderIdentity::Address => sender.address.clone(),
        SenderIdentity::Domain => sender
            .address
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default(),
    };
    Some(SenderConfig { identity })
}

/// Computes everything the spec asks for.
pub fn desired_stack(
    spec: &ValidatedSpec,
    names: &StackNames,
    ctx: &Context,
) -> Result<DesiredStack, DesiredError> {
    let tags = names.tags(&spec.tags);
    let sender = sender_identity(spec);
    let uses_triggers = spec.strategy != Strategy::Native;
    let table = (spec.strategy == Strategy::MagicLink).then(|| TableConfig {
        name: names.table.clone(),
        ttl_attribute: table::TTL_ATTRIBUTE.to_owned(),
    });
    let function = if uses_triggers {
        let environment = trigger_environment(spec, names, ctx, table.is_some());
        // Lambda measures the variables as JSON (quotes, separators, escapes included).
        let size = serde_json::to_string(&environment).map_or(usize::MAX, |j| j.len());
        if size > LAMBDA_ENV_LIMIT {
            return Err(DesiredError::EnvironmentTooLarge(size));
        }
        let mut function = FunctionConfig {
            name: names.function.clone(),
            runtime: TRIGGER_RUNTIME.to_owned(),
            handler: TRIGGER_HANDLER.to_owned(),
            role_arn: role_arn(ctx, names),
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
        policy: trigger_policy(spec, names, ctx, sender.as_ref(), table.as_ref()),
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
    let trigger = uses_triggers.then(|| function_arn(ctx, names));
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
            .map(|n| {
                n.allowed_first_auth_factors
                    .iter()
                    .map(|f| f.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        web_authn_relying_party_id: native.and_then(|n| n.web_authn_relying_party_id.clone()),
        email_sending_account: if native_email {
            "DEVELOPER"
        } else {
            "COGNITO_DEFAULT"
        }
        .to_owned(),
        email_source_arn: sender.as_ref().filter(|_| native_email).map(|s| {
            format!(
                "arn:aws:ses:{}:{}:identity/{}",
                ctx.region,
                ctx.account(),
                s.identity
            )
        }),
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
    };
    Ok(DesiredStack {
        names: names.clone(),
        tags,
        sender,
        role,
        table,
        function,
        permission,
        user_pool,
        client,
    })
}

/// The trigger's environment: the names are the contract's (`passwordless_contract::env`), the
/// values come from the validated spec, so they lie in the ranges the trigger accepts.
fn trigger_environment(
    spec: &ValidatedSpec,
    names: &StackNames,
    ctx: &Context,
    has_table: bool,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set(vars::STRATEGY, spec.strategy.as_str().to_owned());
    set(vars::ATTEMPT_LIMIT, spec.attempt_limit.to_string());
    set(vars::SIGNING_KEYS, ctx.signing_keys.clone());
    set(vars::SIGN_UP, spec.sign_up.as_str().to_owned());
    set(vars::OTP_LENGTH, spec.otp.length.to_string());
    set(vars::OTP_TTL_SECONDS, spec.otp.ttl_seconds.to_string());
    if let Some(link) = &spec.magic_link {
        set(vars::LINK_TTL_SECONDS, link.ttl_seconds.to_string());
        set(
            vars::MIN_INTERVAL_SECONDS,
            link.min_interval_seconds.to_string(),
        );
        set(
            vars::REDIRECT_URLS,
            serde_json::to_string(&link.redirect_urls).expect("a list of strings serializes"),
        );
    }
    if has_table {
        set(vars::TABLE_NAME, names.table.clone());
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

fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    })
}

/// Least privilege: send from this sender only, SMS only for SMS, this table only, this pool
/// only, and the function's own log group.
fn trigger_policy(
    spec: &ValidatedSpec,
    names: &StackNames,
    ctx: &Context,
    sender: Option<&SenderConfig>,
    table: Option<&TableConfig>,
) -> Value {
    let (region, account) = (&ctx.region, ctx.account());
    let mut statements = vec![
        json!({"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": format!("arn:aws:logs:{region}:{account}:*")}),
        json!({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
               "Resource": format!("arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{}:*", names.function)}),
    ];
    if let (Some(sender), true) = (sender, spec.strategy != Strategy::SmsOtp) {
        statements.push(json!({"Effect": "Allow", "Action": "ses:SendEmail",
            "Resource": format!("arn:aws:ses:{region}:{account}:identity/{}", sender.identity)}));
    }
    if spec.strategy == Strategy::SmsOtp {
        // SMS to a phone number has no resource ARN; deny publishing to topics instead.
        statements.push(
            json!({"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:*"}),
        );
    }
    if let Some(table) = table {
        statements.push(json!({"Effect": "Allow", "Action": "dynamodb:PutItem",
            "Resource": format!("arn:aws:dynamodb:{region}:{account}:table/{}", table.name)}));
    }
    if spec.strategy != Strategy::SmsOtp {
        let pool = ctx
            .user_pool_arn()
            .unwrap_or_else(|| format!("arn:aws:cognito-idp:{region}:{account}:userpool/*"));
        statements.push(json!({"Effect": "Allow", "Action": "cognito-idp:AdminUpdateUserAttributes", "Resource": pool}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use passwordless_triggers::config::Config;

    pub(crate) fn spec(yaml: &str) -> ValidatedSpec {
        crate::validate::validate(&serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    pub(crate) fn ctx() -> Context {
        Context {
            region: "eu-west-1".into(),
            account_id: Some("123456789012".into()),
            code_sha256: "c2hhMjU2".into(),
            signing_keys: "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
            user_pool_id: Some("eu-west-1_Abc".into()),
        }
    }

    const MAGIC: &str = "strategy: magicLink
sender: {address: no-reply@example.com, displayName: Example}
magicLink: {redirectUrls: ['https://app.example.com/cb'], ttlSeconds: 600, minIntervalSeconds: 30}
";

    fn names() -> StackNames {
        StackNames::new("shop", "checkout")
    }

    #[test]
    fn a_magic_link_spec_maps_to_every_resource() {
        let d = desired_stack(&spec(MAGIC), &names(), &ctx()).unwrap();
        assert_eq!(d.sender.as_ref().unwrap().identity, "no-reply@example.com");
        assert_eq!(d.table.as_ref().unwrap().name, "pwp-shop-checkout-state");
        let f = d.function.as_ref().unwrap();
        assert_eq!(
            f.role_arn,
            "arn:aws:iam::123456789012:role/pwp-shop-checkout-trigger"
        );
        assert_eq!(f.environment[vars::LINK_TTL_SECONDS], "600");
        assert_eq!(f.environment[vars::MIN_INTERVAL_SECONDS], "30");
        assert_eq!(f.environment[vars::ATTEMPT_LIMIT], "1");
        assert_eq!(f.environment[vars::TABLE_NAME], "pwp-shop-checkout-state");
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:pwp-shop-checkout-trigger";
        assert_eq!(d.user_pool.define_auth_challenge.as_deref(), Some(arn));
        assert_eq!(d.user_pool.post_authentication.as_deref(), Some(arn));
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
            vec!["EMAIL_OTP", "WEB_AUTHN"]
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
        assert!(
            policy.contains("sns:Publish")
                && !policy.contains("ses:SendEmail")
                && !policy.contains("dynamodb")
        );
        let magic = desired_stack(&spec(MAGIC), &names(), &ctx()).unwrap();
        let policy = magic.role.unwrap().policy.to_string();
        assert!(
            policy.contains("identity/no-reply@example.com")
                && policy.contains("table/pwp-shop-checkout-state")
        );
        assert!(policy.contains("userpool/eu-west-1_Abc") && !policy.contains("sns:"));
    }

    #[test]
    fn retain_turns_deletion_protection_on_and_sign_up_opens_the_pool() {
        let yaml = format!("{MAGIC}deletionPolicy: Retain\nsignUp: AutoConfirm\n");
        let d = desired_stack(&spec(&yaml), &names(), &ctx()).unwrap();
        assert_eq!(d.user_pool.deletion_protection, "ACTIVE");
        assert!(!d.user_pool.allow_admin_create_user_only);
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
        let shown = format!("{:?}", d.function.unwrap().fields());
        assert!(!shown.contains("MDEyMzQ1"), "{shown}");
        assert!(shown.contains("(sensitive, sha256:"));
    }
}

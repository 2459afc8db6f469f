//! The trigger function: one binary for every strategy, configured by its environment (the
//! operator's half of the contract in `passwordless_contract::env`).

use std::collections::BTreeMap;

use passwordless_contract::env as vars;

use super::fields::{Fields, opt, short_digest};
use super::{DesiredError, Facts};
use crate::crd::Strategy;
use crate::names::StackNames;
use crate::validate::ValidatedSpec;

/// Lambda's limit on the total size of a function's environment variables.
pub const LAMBDA_ENV_LIMIT: usize = 4096;
pub const TRIGGER_RUNTIME: &str = "provided.al2023";
pub const TRIGGER_HANDLER: &str = "bootstrap";
pub const TRIGGER_MEMORY_MB: i32 = 128;
pub use passwordless_contract::TRIGGER_TIMEOUT_SECONDS;
/// The function's field that names the configuration its probe proved.
pub const VERIFIED_FIELD: &str = "verifiedConfig";

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
    /// `sha256:<16 hex>` over every managed field but `verified`.
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
        short_digest(&text)
    }
}

/// Shows the fields, as the plan does.
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
            f.push((format!("environment.{k}"), v.clone()));
        }
        f.sort();
        f
    }
}

pub(super) fn desired(
    spec: &ValidatedSpec,
    names: &StackNames,
    facts: &Facts,
) -> Result<FunctionConfig, DesiredError> {
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
        role_arn: facts.role_arn(names),
        memory_mb: TRIGGER_MEMORY_MB,
        timeout_seconds: TRIGGER_TIMEOUT_SECONDS,
        environment,
        code_sha256: facts.code_sha256.clone(),
        verified: None,
    };
    function.verified = Some(function.digest());
    Ok(function)
}

/// The trigger's environment: the names are the contract's (`passwordless_contract::env`), the
/// values come from the validated spec, so they lie in the ranges the trigger accepts.
fn trigger_environment(spec: &ValidatedSpec, names: &StackNames) -> BTreeMap<String, String> {
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
    if let Some(text) = spec
        .sms
        .text
        .as_ref()
        .filter(|_| spec.strategy == Strategy::SmsOtp)
    {
        set(vars::SMS_TEXT, text.clone());
    }
    let languages = super::languages(spec);
    if !languages.is_empty() {
        set(vars::LOCALES, languages.join(","));
    }
    env
}

//! The trigger's configuration, read once at start-up from the function's environment, which
//! the operator sets from the PasswordlessPool spec. Every variable name is defined here only.

/// Environment variable names: the contract, defined in `passwordless-contract`.
pub use passwordless_contract::env as vars;
use passwordless_contract::{
    ATTEMPT_LIMIT, Bounds, DEFAULT_APP_NAME, LINK_TTL_SECONDS, LOCKOUT_SECONDS, MAX_FAILURES,
    MIN_INTERVAL_SECONDS, OTP_LENGTH, OTP_TTL_SECONDS, sign_up, strategy,
};

/// Which flow the pool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    MagicLink,
    EmailOtp,
    SmsOtp,
}

/// Whether PreSignUp confirms new users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUp {
    Disabled,
    AutoConfirm,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub strategy: Strategy,
    pub link_ttl_seconds: u64,
    pub min_interval_seconds: u64,
    pub otp_length: usize,
    pub otp_ttl_seconds: u64,
    pub attempt_limit: usize,
    pub redirect_urls: Vec<String>,
    pub sender_address: Option<String>,
    pub sender_name: Option<String>,
    pub reply_to: Option<String>,
    pub app_name: String,
    pub email_subject: Option<String>,
    pub email_html: Option<String>,
    pub email_text: Option<String>,
    pub sms_text: Option<String>,
    /// The messages in other languages, from the package's file.
    pub messages: Localized,
    /// The state table (cooldown, failures, single-use links), for every strategy.
    pub table_name: String,
    /// The ARN (or name) of the Secrets Manager secret holding the signing keys.
    pub signing_keys_secret: String,
    /// Wrong answers, across sessions, before a user is locked out.
    pub max_failures: u32,
    /// The first lockout; it doubles with each further wrong answer.
    pub lockout_seconds: u64,
    pub sign_up: SignUp,
}

use crate::messages::Localized;

/// A configuration problem. Messages name the variable, never its value (it may be a key).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{0} is invalid: {1}")]
    Invalid(&'static str, &'static str),
}

impl Config {
    /// Reads the configuration from the process environment, and the messages in other
    /// languages from the deployment package.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_sources(
            |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
            crate::messages::read_file,
        )
    }

    /// Reads the configuration through `get` (no messages file), so tests need no process
    /// environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_sources(get, || None)
    }

    /// Reads the configuration through `get`, and the package's messages file through `file`.
    pub fn from_sources(
        get: impl Fn(&str) -> Option<String>,
        file: impl Fn() -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let (messages, report) = Localized::load(get(vars::LOCALES).as_deref(), file().as_deref());
        if let Some(report) = report {
            tracing::warn!(report, "messages in other languages");
        }
        let strategy_name = get(vars::STRATEGY);
        let strategy = match strategy_name.as_deref() {
            Some(strategy::MAGIC_LINK) => Strategy::MagicLink,
            Some(strategy::EMAIL_OTP) => Strategy::EmailOtp,
            Some(strategy::SMS_OTP) => Strategy::SmsOtp,
            Some(_) => {
                return Err(ConfigError::Invalid(
                    vars::STRATEGY,
                    "expected magicLink, emailOtp or smsOtp",
                ));
            }
            None => return Err(ConfigError::Missing(vars::STRATEGY)),
        };
        let number =
            |name: &'static str, bounds: Bounds, default: u32| -> Result<u64, ConfigError> {
                match get(name) {
                    None => Ok(u64::from(default)),
                    Some(v) => match v.parse::<u32>() {
                        Ok(n) if bounds.contains(n) => Ok(u64::from(n)),
                        _ => Err(ConfigError::Invalid(
                            name,
                            "not a whole number in the allowed range",
                        )),
                    },
                }
            };
        let default_attempts = passwordless_contract::default_attempt_limit(
            strategy_name.as_deref().unwrap_or_default(),
        );
        let redirect_urls = match get(vars::REDIRECT_URLS) {
            None => Vec::new(),
            Some(json) => serde_json::from_str::<Vec<String>>(&json).map_err(|_| {
                ConfigError::Invalid(vars::REDIRECT_URLS, "expected a JSON array of URLs")
            })?,
        };
        if strategy == Strategy::MagicLink && redirect_urls.is_empty() {
            return Err(ConfigError::Missing(vars::REDIRECT_URLS));
        }
        let sender_address = get(vars::SENDER_ADDRESS);
        if strategy != Strategy::SmsOtp && sender_address.is_none() {
            return Err(ConfigError::Missing(vars::SENDER_ADDRESS));
        }
        let table_name = get(vars::TABLE_NAME).ok_or(ConfigError::Missing(vars::TABLE_NAME))?;
        // Only the secret's name: the keys are read from it when an invocation needs one.
        let signing_keys_secret = get(vars::SIGNING_KEYS_SECRET)
            .ok_or(ConfigError::Missing(vars::SIGNING_KEYS_SECRET))?;
        Ok(Self {
            strategy,
            link_ttl_seconds: number(
                vars::LINK_TTL_SECONDS,
                LINK_TTL_SECONDS,
                LINK_TTL_SECONDS.default,
            )?,
            min_interval_seconds: number(
                vars::MIN_INTERVAL_SECONDS,
                MIN_INTERVAL_SECONDS,
                MIN_INTERVAL_SECONDS.default,
            )?,
            otp_length: number(vars::OTP_LENGTH, OTP_LENGTH, OTP_LENGTH.default)? as usize,
            otp_ttl_seconds: number(
                vars::OTP_TTL_SECONDS,
                OTP_TTL_SECONDS,
                OTP_TTL_SECONDS.default,
            )?,
            attempt_limit: number(vars::ATTEMPT_LIMIT, ATTEMPT_LIMIT, default_attempts)? as usize,
            redirect_urls,
            sender_address,
            sender_name: get(vars::SENDER_NAME),
            reply_to: get(vars::REPLY_TO),
            app_name: get(vars::APP_NAME).unwrap_or_else(|| DEFAULT_APP_NAME.to_owned()),
            email_subject: get(vars::EMAIL_SUBJECT),
            email_html: get(vars::EMAIL_HTML),
            email_text: get(vars::EMAIL_TEXT),
            sms_text: get(vars::SMS_TEXT),
            messages,
            table_name,
            signing_keys_secret,
            max_failures: number(vars::MAX_FAILURES, MAX_FAILURES, MAX_FAILURES.default)? as u32,
            lockout_seconds: number(
                vars::LOCKOUT_SECONDS,
                LOCKOUT_SECONDS,
                LOCKOUT_SECONDS.default,
            )?,
            sign_up: match get(vars::SIGN_UP).as_deref() {
                None | Some(sign_up::DISABLED) => SignUp::Disabled,
                Some(sign_up::AUTO_CONFIRM) => SignUp::AutoConfirm,
                Some(_) => {
                    return Err(ConfigError::Invalid(
                        vars::SIGN_UP,
                        "expected Disabled or AutoConfirm",
                    ));
                }
            },
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    pub fn env(strategy: &str) -> HashMap<&'static str, String> {
        HashMap::from([
            (vars::STRATEGY, strategy.to_owned()),
            (
                vars::REDIRECT_URLS,
                r#"["https://app.example.com/cb","http://localhost:3000/cb"]"#.to_owned(),
            ),
            (vars::SENDER_ADDRESS, "no-reply@example.com".to_owned()),
            (vars::TABLE_NAME, "pwp-test".to_owned()),
            (
                vars::SIGNING_KEYS_SECRET,
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:pwp-test-keys".to_owned(),
            ),
            (vars::APP_NAME, "Example".to_owned()),
        ])
    }

    pub fn config_from(map: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| map.get(name).cloned())
    }

    pub fn config(strategy: &str) -> Config {
        config_from(&env(strategy)).expect("test config is valid")
    }

    #[test]
    fn defaults_follow_the_strategy() {
        assert_eq!(config("magicLink").attempt_limit, 1);
        assert_eq!(config("emailOtp").attempt_limit, 3);
        let c = config("magicLink");
        assert_eq!(
            (
                c.link_ttl_seconds,
                c.min_interval_seconds,
                c.otp_length,
                c.otp_ttl_seconds,
                c.max_failures,
                c.lockout_seconds,
            ),
            (600, 60, 6, 300, 5, 900)
        );
    }

    #[test]
    fn every_strategy_needs_the_state_table_and_the_key_secret_and_no_key_is_read_from_the_environment()
     {
        for strategy in ["magicLink", "emailOtp", "smsOtp"] {
            for required in [vars::TABLE_NAME, vars::SIGNING_KEYS_SECRET] {
                let mut e = env(strategy);
                e.remove(required);
                assert_eq!(
                    config_from(&e).unwrap_err(),
                    ConfigError::Missing(required),
                    "{strategy}"
                );
            }
        }
        // Keys in the environment are neither needed nor looked at.
        let mut e = env("emailOtp");
        e.insert("PWP_SIGNING_KEYS", "k1:c2hvcnQ=".to_owned());
        assert!(config_from(&e).is_ok());
    }

    #[test]
    fn bad_settings_name_the_variable_but_never_the_value() {
        let cases = [
            (vars::OTP_LENGTH, "4"),
            (vars::MAX_FAILURES, "0"),
            (vars::MAX_FAILURES, "101"),
            (vars::LOCKOUT_SECONDS, "0"),
            (vars::LOCKOUT_SECONDS, "86401"),
            (vars::MIN_INTERVAL_SECONDS, "3601"),
        ];
        for (name, value) in cases {
            let mut e = env("magicLink");
            e.insert(name, value.to_owned());
            let err = config_from(&e).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid(n, _) if n == name),
                "{name}={value}: {err:?}"
            );
            assert!(!err.to_string().contains(value), "{err}");
        }
        let mut e = env("magicLink");
        e.remove(vars::REDIRECT_URLS);
        assert_eq!(
            config_from(&e).unwrap_err(),
            ConfigError::Missing(vars::REDIRECT_URLS)
        );
    }
}

//! The trigger's configuration, read once at start-up from the function's environment, which
//! the operator sets from the PasswordlessPool spec. Every variable name is defined here only.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Environment variable names: the contract, defined in `passwordless-contract`.
pub use passwordless_contract::env as vars;
use passwordless_contract::{
    ATTEMPT_LIMIT, Bounds, DEFAULT_APP_NAME, LINK_TTL_SECONDS, MIN_INTERVAL_SECONDS, OTP_LENGTH,
    OTP_TTL_SECONDS, sign_up, strategy,
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

/// An HMAC-SHA256 key and its id. `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningKey {
    pub id: String,
    pub secret: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}, <{} bytes redacted>)",
            self.id,
            self.secret.len()
        )
    }
}

/// The smallest key accepted: 256 bits, HMAC-SHA256's own strength.
pub const MIN_KEY_BYTES: usize = 32;

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
    pub table_name: Option<String>,
    /// The current key first, then older keys still accepted.
    pub signing_keys: Vec<SigningKey>,
    pub sign_up: SignUp,
}

/// A configuration problem. Messages name the variable, never its value (it may be a key).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{0} is invalid: {1}")]
    Invalid(&'static str, &'static str),
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads the configuration through `get`, so tests need no process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
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
        let signing_keys = parse_keys(get(vars::SIGNING_KEYS).as_deref())?;
        let table_name = get(vars::TABLE_NAME);
        if strategy == Strategy::MagicLink && table_name.is_none() {
            return Err(ConfigError::Missing(vars::TABLE_NAME));
        }
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
            table_name,
            signing_keys,
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

    /// The key that signs new links and codes.
    pub fn current_key(&self) -> &SigningKey {
        &self.signing_keys[0]
    }

    /// The key with this id, if it is still accepted.
    pub fn key(&self, id: &str) -> Option<&SigningKey> {
        self.signing_keys.iter().find(|k| k.id == id)
    }
}

fn parse_keys(raw: Option<&str>) -> Result<Vec<SigningKey>, ConfigError> {
    const NAME: &str = vars::SIGNING_KEYS;
    let raw = raw.ok_or(ConfigError::Missing(NAME))?;
    let mut keys = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, secret) = entry
            .split_once(':')
            .ok_or(ConfigError::Invalid(NAME, "expected kid:base64key entries"))?;
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(ConfigError::Invalid(
                NAME,
                "a key id must be 1-64 letters, digits, '-' or '_'",
            ));
        }
        let secret = STANDARD
            .decode(secret)
            .map_err(|_| ConfigError::Invalid(NAME, "a key is not valid base64"))?;
        if secret.len() < MIN_KEY_BYTES {
            return Err(ConfigError::Invalid(NAME, "a key is shorter than 256 bits"));
        }
        if keys.iter().any(|k: &SigningKey| k.id == id) {
            return Err(ConfigError::Invalid(NAME, "two keys share an id"));
        }
        keys.push(SigningKey {
            id: id.to_owned(),
            secret,
        });
    }
    if keys.is_empty() {
        return Err(ConfigError::Missing(NAME));
    }
    Ok(keys)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    pub const KEY_CURRENT: &str = "k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    pub const KEY_PREVIOUS: &str = "k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

    pub fn env(strategy: &str) -> HashMap<&'static str, String> {
        HashMap::from([
            (vars::STRATEGY, strategy.to_owned()),
            (
                vars::REDIRECT_URLS,
                r#"["https://app.example.com/cb","http://localhost:3000/cb"]"#.to_owned(),
            ),
            (vars::SENDER_ADDRESS, "no-reply@example.com".to_owned()),
            (vars::TABLE_NAME, "pwp-test".to_owned()),
            (vars::SIGNING_KEYS, format!("{KEY_CURRENT},{KEY_PREVIOUS}")),
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
                c.otp_ttl_seconds
            ),
            (600, 60, 6, 300)
        );
        assert_eq!(c.current_key().id, "k2");
        assert!(c.key("k1").is_some() && c.key("k0").is_none());
    }

    #[test]
    fn bad_settings_name_the_variable_but_never_the_value() {
        let mut e = env("magicLink");
        e.insert(vars::SIGNING_KEYS, "k1:c2hvcnQ=".to_owned());
        let err = config_from(&e).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid(vars::SIGNING_KEYS, "a key is shorter than 256 bits")
        );
        assert!(!err.to_string().contains("c2hvcnQ"));
        e.insert(vars::SIGNING_KEYS, format!("{KEY_CURRENT},{KEY_CURRENT}"));
        assert_eq!(
            config_from(&e).unwrap_err(),
            ConfigError::Invalid(vars::SIGNING_KEYS, "two keys share an id")
        );
        let mut e = env("magicLink");
        e.insert(vars::OTP_LENGTH, "4".to_owned());
        assert!(matches!(
            config_from(&e),
            Err(ConfigError::Invalid(vars::OTP_LENGTH, _))
        ));
        let mut e = env("magicLink");
        e.remove(vars::REDIRECT_URLS);
        assert_eq!(
            config_from(&e).unwrap_err(),
            ConfigError::Missing(vars::REDIRECT_URLS)
        );
    }

    #[test]
    fn a_signing_key_debug_print_hides_the_secret() {
        let c = config("magicLink");
        let shown = format!("{:?}", c.current_key());
        assert_eq!(shown, "SigningKey(k2, <32 bytes redacted>)");
    }
}

//! The rules that span fields, in one table: each holds its CEL (emitted into the CRD by
//! `crdgen.rs`), its message, and its Rust check, so the apiserver and the CLI say the same.

use passwordless_contract::placeholder;

use super::RESERVED_TAG_PREFIXES;
use super::schema::{TAG_TEXT_RULE, tag_key_is_valid};
use crate::crd::{
    AuthFactor, MAX_TAG_KEY, OAuthScope, PasswordlessPoolSpec, RESERVED_DOMAIN_WORDS, Strategy,
    patterns,
};

/// Whether a tag key starts with a reserved prefix, in any case (AWS reserves `AWS:` too).
pub fn tag_key_is_reserved(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    RESERVED_TAG_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// A rule across fields: checked in Rust, and emitted into the CRD as CEL on `spec`.
pub struct CrossFieldRule {
    /// The field the problem is reported on.
    pub field: &'static str,
    /// CEL over the spec (`self`), as the apiserver evaluates it.
    pub cel: String,
    /// What the person must change; the apiserver shows the same text.
    pub message: String,
    /// The same rule in Rust.
    pub(super) holds: SpecFn<bool>,
    /// What Rust can add to the message that CEL's fixed text cannot (e.g. the offending name).
    pub(super) detail: Option<SpecFn<String>>,
}

/// A function of the spec, as the rule table stores it.
type SpecFn<T> = Box<dyn Fn(&PasswordlessPoolSpec) -> T + Send + Sync>;

impl CrossFieldRule {
    fn with_detail(
        mut self,
        detail: impl Fn(&PasswordlessPoolSpec) -> String + Send + Sync + 'static,
    ) -> Self {
        self.detail = Some(Box::new(detail));
        self
    }
}

fn rule(
    field: &'static str,
    cel: String,
    message: String,
    holds: impl Fn(&PasswordlessPoolSpec) -> bool + Send + Sync + 'static,
) -> CrossFieldRule {
    CrossFieldRule {
        field,
        cel,
        message,
        holds: Box::new(holds),
        detail: None,
    }
}

/// A rule on a change of the spec: CEL over `self` and `oldSelf` on `spec`. The controller
/// checks the same against what the status recorded (see [`super::check_region_stays`]).
pub struct TransitionRule {
    pub field: &'static str,
    pub cel: &'static str,
    pub message: &'static str,
}

/// Why native SMS_OTP is refused.
pub const NATIVE_SMS_UNMANAGED: &str = "spec.native.allowedFirstAuthFactors: SMS_OTP is not offered yet: Cognito texts native codes only through the pool's SmsConfiguration (an SNS caller role), which the operator does not manage; use strategy smsOtp (the operator's own SMS codes) instead";

/// Why a pool cannot move region, as the apiserver and the controller say it.
pub const REGION_STAYS: &str = "spec.region cannot change: the user pool (with its users) and every resource live in their region; delete the pool and create a new one to move";

/// Every rule on a change, in the order the apiserver reports them.
pub fn transition_rules() -> Vec<TransitionRule> {
    vec![TransitionRule {
        field: "spec.region",
        cel: "has(self.region) == has(oldSelf.region) && (!has(self.region) || self.region == oldSelf.region)",
        message: REGION_STAYS,
    }]
}

/// Whether a top-level spec section named as in the manifest is set.
pub(super) fn section_is_set(spec: &PasswordlessPoolSpec, section: &str) -> bool {
    match section {
        "magicLink" => spec.magic_link.is_some(),
        "sender" => spec.sender.is_some(),
        "native" => spec.native.is_some(),
        "otp" => spec.otp.is_some(),
        "attemptLimit" => spec.attempt_limit.is_some(),
        "managedLogin" => spec.managed_login.is_some(),
        other => unreachable!("strategy tables name an unknown section {other}"),
    }
}

fn factor_allowed(spec: &PasswordlessPoolSpec, factor: AuthFactor) -> bool {
    spec.native
        .as_ref()
        .is_some_and(|n| n.allowed_first_auth_factors.contains(&factor))
}

/// A template field of `spec.email`, by its manifest name.
fn template<'a>(spec: &'a PasswordlessPoolSpec, field: &str) -> Option<&'a str> {
    let email = spec.email.as_ref()?;
    match field {
        "subject" => email.subject.as_deref(),
        "html" => email.html.as_deref(),
        "text" => email.text.as_deref(),
        other => unreachable!("unknown template field {other}"),
    }
}

/// The placeholders of a template field that the trigger does not know, as written.
fn unknown_placeholders(spec: &PasswordlessPoolSpec, field: &str) -> String {
    let names = template(spec, field)
        .map(placeholder::names)
        .unwrap_or_default();
    names
        .into_iter()
        .filter(|n| !placeholder::ALL.contains(n))
        .map(|n| format!("{{{{{n}}}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A CEL regular expression (RE2) matching one `{{ name }}` placeholder.
fn placeholder_cel(name: &str) -> String {
    format!(r"[{{][{{]\\s*{name}\\s*[}}][}}]")
}

/// Every rule that spans fields, in the order the problems are reported.
pub fn cross_field_rules() -> Vec<CrossFieldRule> {
    let mut rules = Vec::new();
    for strategy in Strategy::ALL {
        let s = strategy.as_str();
        for section in strategy.required_sections() {
            rules.push(rule(
                "spec",
                format!("self.strategy != '{s}' || has(self.{section})"),
                format!("strategy {s} needs spec.{section}"),
                move |spec| spec.strategy != strategy || section_is_set(spec, section),
            ));
        }
        for section in strategy.foreign_sections() {
            rules.push(rule(
                "spec",
                format!("self.strategy != '{s}' || !has(self.{section})"),
                format!("spec.{section} does not apply to strategy {s}: remove it"),
                move |spec| spec.strategy != strategy || !section_is_set(spec, section),
            ));
        }
    }
    rules.push(rule(
        "spec",
        "!has(self.native) || !('EMAIL_OTP' in self.native.allowedFirstAuthFactors) || has(self.sender)".into(),
        "native sign-in with EMAIL_OTP sends email: set spec.sender".into(),
        |spec| !factor_allowed(spec, AuthFactor::EmailOtp) || spec.sender.is_some(),
    ));
    // Cognito texts native codes only through a pool's SmsConfiguration (an SNS caller role it
    // assumes), which the operator does not manage yet: refused rather than Ready and silent.
    rules.push(rule(
        "spec",
        "!has(self.native) || !('SMS_OTP' in self.native.allowedFirstAuthFactors)".into(),
        NATIVE_SMS_UNMANAGED.into(),
        |spec| !factor_allowed(spec, AuthFactor::SmsOtp),
    ));
    rules.push(rule(
        "spec",
        "!has(self.native) || !('WEB_AUTHN' in self.native.allowedFirstAuthFactors) || has(self.native.webAuthnRelyingPartyId)".into(),
        "native sign-in with WEB_AUTHN needs spec.native.webAuthnRelyingPartyId".into(),
        |spec| {
            !factor_allowed(spec, AuthFactor::WebAuthn)
                || spec
                    .native
                    .as_ref()
                    .is_some_and(|n| n.web_authn_relying_party_id.is_some())
        },
    ));
    // AWS: with a custom domain, passkeys on managed login need the relying-party id to be that
    // domain's full name (a parent domain, which WebAuthn itself would accept, is refused there).
    rules.push(
        rule(
            "spec.native.webAuthnRelyingPartyId",
            "!has(self.native) || !has(self.native.webAuthnRelyingPartyId) || !has(self.managedLogin) || !has(self.managedLogin.customDomain) || self.managedLogin.customDomain.domainName.lowerAscii() == self.native.webAuthnRelyingPartyId.lowerAscii()".into(),
            "spec.native.webAuthnRelyingPartyId must be spec.managedLogin.customDomain.domainName: Cognito's managed login on a custom domain offers passkeys only for that domain's full name, and a passkey registered for another relying party is never offered there".into(),
            |spec| relying_party_fits(spec).is_none(),
        )
        .with_detail(|spec| relying_party_fits(spec).unwrap_or_default()),
    );
    rules.push(rule(
        "spec.managedLogin",
        "!has(self.managedLogin) || has(self.managedLogin.domainPrefix) != has(self.managedLogin.customDomain)".into(),
        "spec.managedLogin needs exactly one of domainPrefix and customDomain".into(),
        |spec| {
            spec.managed_login
                .as_ref()
                .is_none_or(|m| m.domain_prefix.is_some() != m.custom_domain.is_some())
        },
    ));
    let words = RESERVED_DOMAIN_WORDS.join("|");
    rules.push(rule(
        "spec.managedLogin.domainPrefix",
        format!("!has(self.managedLogin) || !has(self.managedLogin.domainPrefix) || !self.managedLogin.domainPrefix.matches('{words}')"),
        format!(
            "spec.managedLogin.domainPrefix must not contain {}: AWS reserves them",
            RESERVED_DOMAIN_WORDS.join(", ")
        ),
        |spec| {
            spec.managed_login
                .as_ref()
                .and_then(|m| m.domain_prefix.as_deref())
                .is_none_or(|p| !RESERVED_DOMAIN_WORDS.iter().any(|w| p.contains(w)))
        },
    ));
    rules.push(rule(
        "spec.managedLogin.scopes",
        "!has(self.managedLogin) || !has(self.managedLogin.scopes) || 'openid' in self.managedLogin.scopes".into(),
        "spec.managedLogin.scopes must include openid: the sign-in returns an ID token".into(),
        |spec| {
            spec.managed_login
                .as_ref()
                .is_none_or(|m| m.scopes.contains(&OAuthScope::OpenId))
        },
    ));
    // AWS reserves `aws:` in any case; ours are held to the same.
    let reserved = RESERVED_TAG_PREFIXES
        .iter()
        .map(|p| format!("!k.lowerAscii().startsWith('{p}')"))
        .collect::<Vec<_>>()
        .join(" && ");
    rules.push(rule(
        "spec.tags",
        format!("!has(self.tags) || self.tags.all(k, {reserved})"),
        format!(
            "tag keys starting with {} (in any case) are reserved",
            RESERVED_TAG_PREFIXES.join(" or ")
        ),
        |spec| spec.tags.keys().all(|k| !tag_key_is_reserved(k)),
    ));
    let key_text = patterns::TAG_TEXT.replace('\\', "\\\\");
    rules.push(
        rule(
            "spec.tags",
            format!("!has(self.tags) || self.tags.all(k, size(k) >= 1 && size(k) <= {MAX_TAG_KEY} && k.matches('{key_text}'))"),
            format!("tag keys are 1 to {MAX_TAG_KEY} characters, {TAG_TEXT_RULE}"),
            |spec| spec.tags.keys().all(|k| tag_key_is_valid(k)),
        )
        .with_detail(|spec| {
            let bad: Vec<String> = spec
                .tags
                .keys()
                .filter(|k| !tag_key_is_valid(k))
                .map(|k| format!("{k:?}"))
                .collect();
            format!(" (found {})", bad.join(", "))
        }),
    );
    let known = placeholder::ALL.join("|");
    for field in ["subject", "html", "text"] {
        rules.push(rule(
            "spec.email",
            format!(
                r"!has(self.email) || !has(self.email.{field}) || self.email.{field}.findAll('[{{][{{][^}}]*[}}][}}]').all(p, p.matches('^[{{][{{]\\s*({known})\\s*[}}][}}]$'))"
            ),
            format!(
                "spec.email.{field} uses an unknown placeholder; known: {}",
                placeholder::ALL.map(|n| format!("{{{{{n}}}}}")).join(", ")
            ),
            move |spec| unknown_placeholders(spec, field).is_empty(),
        )
        .with_detail(move |spec| format!(" (found {})", unknown_placeholders(spec, field))));
    }
    // What a person needs to sign in must be in each body: a magic-link email without the
    // link, or a code email without the code, would lock users out.
    for (strategy, needed) in [
        (Strategy::MagicLink, placeholder::LINK),
        (Strategy::EmailOtp, placeholder::CODE),
    ] {
        let s = strategy.as_str();
        for field in ["html", "text"] {
            rules.push(rule(
                "spec.email",
                format!(
                    "self.strategy != '{s}' || !has(self.email) || !has(self.email.{field}) || self.email.{field}.matches('{}')",
                    placeholder_cel(needed)
                ),
                format!("spec.email.{field} must contain {{{{{needed}}}}} for strategy {s}"),
                move |spec| {
                    spec.strategy != strategy
                        || template(spec, field)
                            .is_none_or(|t| placeholder::names(t).contains(&needed))
                },
            ));
        }
    }
    rules
}

/// Why the relying-party id cannot serve the custom domain's pages, if it cannot: it must be
/// that domain's full name (in any case).
fn relying_party_fits(spec: &PasswordlessPoolSpec) -> Option<String> {
    let rp = spec
        .native
        .as_ref()?
        .web_authn_relying_party_id
        .as_deref()?;
    let custom = spec.managed_login.as_ref()?.custom_domain.as_ref()?;
    (!rp.eq_ignore_ascii_case(&custom.domain_name))
        .then(|| format!(" (found {rp} for {})", custom.domain_name))
}

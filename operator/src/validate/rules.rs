//! The rules that span fields, in one table: each holds its CEL (emitted into the CRD by
//! `crdgen.rs`), its message, and its Rust check, so the apiserver and the CLI say the same.

use passwordless_contract::messages::{self, LANGUAGE_TAG_PATTERN};
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
        "sms" => spec.sms.is_some(),
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
    unknown_in(template(spec, field).unwrap_or_default())
}

/// The placeholders of `template` that the trigger does not know, as written.
fn unknown_in(template: &str) -> String {
    placeholder::names(template)
        .into_iter()
        .filter(|n| !placeholder::ALL.contains(n))
        .map(|n| format!("{{{{{n}}}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A section whose messages may be given per language: its manifest name and template fields.
struct Localized {
    section: &'static str,
    fields: &'static [&'static str],
}

const LOCALIZED: [Localized; 2] = [
    Localized {
        section: "email",
        fields: &["subject", "html", "text"],
    },
    Localized {
        section: "sms",
        fields: &["text"],
    },
];

/// A section's languages and their templates of `field`, as `(tag, template)`.
fn localized<'a>(
    spec: &'a PasswordlessPoolSpec,
    section: &str,
    field: &str,
) -> Vec<(&'a str, &'a str)> {
    match section {
        "email" => spec
            .email
            .iter()
            .flat_map(|e| &e.localized)
            .filter_map(|(tag, m)| {
                let text = match field {
                    "subject" => m.subject.as_deref(),
                    "html" => m.html.as_deref(),
                    "text" => m.text.as_deref(),
                    other => unreachable!("unknown email field {other}"),
                };
                Some((tag.as_str(), text?))
            })
            .collect(),
        "sms" => spec
            .sms
            .iter()
            .flat_map(|s| &s.localized)
            .map(|(tag, m)| (tag.as_str(), m.text.as_str()))
            .collect(),
        other => unreachable!("unknown localized section {other}"),
    }
}

/// The languages that give one email body without the other.
fn half_bodied(spec: &PasswordlessPoolSpec) -> Vec<&str> {
    spec.email
        .iter()
        .flat_map(|e| &e.localized)
        .filter(|(_, m)| m.html.is_some() != m.text.is_some())
        .map(|(tag, _)| tag.as_str())
        .collect()
}

/// A section's language tags.
fn languages<'a>(spec: &'a PasswordlessPoolSpec, section: &str) -> Vec<&'a str> {
    match section {
        "email" => spec
            .email
            .iter()
            .flat_map(|e| e.localized.keys())
            .map(String::as_str)
            .collect(),
        "sms" => spec
            .sms
            .iter()
            .flat_map(|s| s.localized.keys())
            .map(String::as_str)
            .collect(),
        other => unreachable!("unknown localized section {other}"),
    }
}

/// CEL: every language's `field` of `section` (as `t`) meets `check`.
fn each_language_cel(section: &str, field: &str, check: &str) -> String {
    let entry = format!("self.{section}.localized[k]");
    let check = check.replace("t.", &format!("{entry}.{field}."));
    format!(
        "!has(self.{section}) || !has(self.{section}.localized) || self.{section}.localized.all(k, !has({entry}.{field}) || {check})"
    )
}

/// What every placeholder in a template (as `t`) must be, in CEL.
fn known_placeholders_cel() -> String {
    let known = placeholder::ALL.join("|");
    format!(
        r"t.findAll('[{{][{{][^}}]*[}}][}}]').all(p, p.matches('^[{{][{{]\\s*({known})\\s*[}}][}}]$'))"
    )
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
    localized_rules(&mut rules);
    rules
}

/// The rules of messages given per language: well-formed tags, once each in any case, and each
/// template held to its default's rules.
fn localized_rules(rules: &mut Vec<CrossFieldRule>) {
    let tag = LANGUAGE_TAG_PATTERN;
    for Localized { section, fields } in LOCALIZED {
        let path = format!("spec.{section}.localized");
        rules.push(
            rule(
                "spec",
                format!("!has(self.{section}) || !has(self.{section}.localized) || self.{section}.localized.all(k, k.matches('{tag}'))"),
                format!("{path}: language tags are BCP 47, language[-Script][-REGION], e.g. de, pt-BR, zh-Hant-TW"),
                move |spec| languages(spec, section).iter().all(|t| messages::is_language_tag(t)),
            )
            .with_detail(move |spec| {
                let bad: Vec<String> = languages(spec, section)
                    .into_iter()
                    .filter(|t| !messages::is_language_tag(t))
                    .map(|t| format!("{t:?}"))
                    .collect();
                format!(" (found {})", bad.join(", "))
            }),
        );
        rules.push(rule(
            "spec",
            format!("!has(self.{section}) || !has(self.{section}.localized) || self.{section}.localized.all(k, self.{section}.localized.filter(j, j.lowerAscii() == k.lowerAscii()).size() == 1)"),
            format!("{path}: each language once: tags differing only in case name the same language"),
            move |spec| {
                let mut lower: Vec<String> = languages(spec, section).iter().map(|t| t.to_ascii_lowercase()).collect();
                let all = lower.len();
                lower.sort();
                lower.dedup();
                lower.len() == all
            },
        ));
        for field in fields {
            rules.push(
                rule(
                    "spec",
                    each_language_cel(section, field, &known_placeholders_cel()),
                    format!(
                        "{path}: a language's {field} uses an unknown placeholder; known: {}",
                        placeholder::ALL.map(|n| format!("{{{{{n}}}}}")).join(", ")
                    ),
                    move |spec| {
                        localized(spec, section, field)
                            .iter()
                            .all(|(_, t)| unknown_in(t).is_empty())
                    },
                )
                .with_detail(move |spec| {
                    let found: Vec<String> = localized(spec, section, field)
                        .into_iter()
                        .filter(|(_, t)| !unknown_in(t).is_empty())
                        .map(|(tag, t)| format!("{} in {tag}", unknown_in(t)))
                        .collect();
                    format!(" (found {})", found.join("; "))
                }),
            );
        }
    }
    // A mail client shows the HTML body or the text: a language that gives one gives both, or
    // its readers would get the other in the default language.
    rules.push(
        rule(
            "spec",
            "!has(self.email) || !has(self.email.localized) || self.email.localized.all(k, has(self.email.localized[k].html) == has(self.email.localized[k].text))".into(),
            "spec.email.localized: a language gives html and text together, or neither".into(),
            |spec| half_bodied(spec).is_empty(),
        )
        .with_detail(|spec| format!(" (only one in {})", half_bodied(spec).join(", "))),
    );
    // The email's languages are the email strategies'; a text message has its own.
    rules.push(rule(
        "spec",
        "!(self.strategy in ['smsOtp', 'native']) || !has(self.email) || !has(self.email.localized)".into(),
        "spec.email.localized applies to strategies magicLink and emailOtp only (smsOtp: spec.sms.localized)".into(),
        |spec| {
            matches!(spec.strategy, Strategy::MagicLink | Strategy::EmailOtp)
                || spec.email.as_ref().is_none_or(|e| e.localized.is_empty())
        },
    ));
    // What a person needs to sign in, in every language: the link of a magic-link email, the
    // code of a code email or text message.
    for (strategy, section, field, needed) in [
        (Strategy::MagicLink, "email", "html", placeholder::LINK),
        (Strategy::MagicLink, "email", "text", placeholder::LINK),
        (Strategy::EmailOtp, "email", "html", placeholder::CODE),
        (Strategy::EmailOtp, "email", "text", placeholder::CODE),
        (Strategy::SmsOtp, "sms", "text", placeholder::CODE),
    ] {
        let s = strategy.as_str();
        let contains = format!("t.matches('{}')", placeholder_cel(needed));
        rules.push(
            rule(
                "spec",
                format!("self.strategy != '{s}' || ({})", each_language_cel(section, field, &contains)),
                format!("spec.{section}.localized: every language's {field} must contain {{{{{needed}}}}} for strategy {s}"),
                move |spec| {
                    spec.strategy != strategy
                        || localized(spec, section, field)
                            .iter()
                            .all(|(_, t)| placeholder::names(t).contains(&needed))
                },
            )
            .with_detail(move |spec| {
                let missing: Vec<&str> = localized(spec, section, field)
                    .into_iter()
                    .filter(|(_, t)| !placeholder::names(t).contains(&needed))
                    .map(|(tag, _)| tag)
                    .collect();
                format!(" (missing in {})", missing.join(", "))
            }),
        );
    }
    // The default text message, as the email's default fields are checked above.
    rules.push(
        rule(
            "spec.sms.text",
            format!(
                "!has(self.sms) || !has(self.sms.text) || {}",
                known_placeholders_cel().replace("t.", "self.sms.text.")
            ),
            format!(
                "spec.sms.text uses an unknown placeholder; known: {}",
                placeholder::ALL.map(|n| format!("{{{{{n}}}}}")).join(", ")
            ),
            |spec| {
                unknown_in(
                    spec.sms
                        .as_ref()
                        .and_then(|s| s.text.as_deref())
                        .unwrap_or_default(),
                )
                .is_empty()
            },
        )
        .with_detail(|spec| {
            format!(
                " (found {})",
                unknown_in(
                    spec.sms
                        .as_ref()
                        .and_then(|s| s.text.as_deref())
                        .unwrap_or_default()
                )
            )
        }),
    );
    rules.push(rule(
        "spec.sms.text",
        format!(
            "!has(self.sms) || !has(self.sms.text) || self.sms.text.matches('{}')",
            placeholder_cel(placeholder::CODE)
        ),
        "spec.sms.text must contain {{code}}".into(),
        |spec| {
            spec.sms
                .as_ref()
                .and_then(|s| s.text.as_deref())
                .is_none_or(|t| placeholder::names(t).contains(&placeholder::CODE))
        },
    ));
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

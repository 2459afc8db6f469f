//! Every rule a PasswordlessPool spec must keep, checked in Rust: what the CRD schema states
//! (ranges, lengths, patterns, enums) and the cross-field rules the generated CRD carries as CEL.
//! The CLI never passes an apiserver and the controller must not trust an old one, so both call
//! [`validate`], and only its [`ValidatedSpec`] reaches the desired-state code.
//!
//! The cross-field rules live in one table, [`cross_field_rules`]: each holds its CEL
//! expression, its message and its Rust check, so the CRD and this module cannot disagree.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use passwordless_contract::{
    ATTEMPT_LIMIT, Bounds, LINK_MIN_INTERVAL_SECONDS, LINK_TTL_SECONDS, OTP_LENGTH,
    OTP_TTL_SECONDS, placeholder,
};
use regex::Regex;

use crate::crd::{
    AUTH_SESSION_VALIDITY_MINUTES, Adopt, AuthFactor, ClientSettings, DeletionPolicy,
    EmailTemplates, MAX_REDIRECT_URLS, MAX_TAGS, MAX_URL_LENGTH, MagicLink, Native, Otp,
    PasswordlessPoolSpec, REFRESH_TOKEN_VALIDITY_DAYS, Sender, SignUpPolicy, Strategy,
    TOKEN_VALIDITY_MINUTES, patterns,
};

/// Tag-key prefixes owned by AWS and by the operator's own ownership tags.
pub const RESERVED_TAG_PREFIXES: [&str; 2] = ["aws:", "passwordless-operator.dev/"];

/// One thing wrong with a spec: the field, as the apiserver names it, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a spec cannot be reconciled: every problem at once, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid spec: {}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidSpec {
    pub problems: Vec<Problem>,
}

/// A spec that passed every rule, with every default filled in. Only [`validate`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedSpec {
    pub strategy: Strategy,
    pub region: Option<String>,
    pub sender: Option<Sender>,
    /// Set exactly for `magicLink`.
    pub magic_link: Option<MagicLink>,
    pub otp: Otp,
    pub attempt_limit: u8,
    pub sign_up: SignUpPolicy,
    /// Set exactly for `native`.
    pub native: Option<Native>,
    pub email: EmailTemplates,
    pub client: ClientSettings,
    pub secret_name: Option<String>,
    pub deletion_policy: DeletionPolicy,
    pub adopt: Option<Adopt>,
    pub tags: BTreeMap<String, String>,
    _sealed: Sealed,
}

/// A field no other module can fill in: a `ValidatedSpec` comes from [`validate`] alone.
#[derive(Debug, Clone, PartialEq)]
struct Sealed;

/// Reads a manifest as the CLI gets it. A shape error names its field the way the apiserver
/// does (`spec.strategy: required`), not serde's way (`spec: missing field `strategy``).
pub fn parse_manifest(text: &str) -> Result<crate::crd::PasswordlessPool, InvalidSpec> {
    serde_yaml::from_str(text).map_err(|e| {
        let shown = e.to_string();
        let (path, reason) = shown
            .split_once(": ")
            .unwrap_or(("manifest", shown.as_str()));
        let problem = match reason.strip_prefix("missing field `") {
            Some(rest) => Problem {
                field: format!("{path}.{}", rest.split('`').next().unwrap_or_default()),
                message: "required".to_owned(),
            },
            None => Problem {
                field: path.to_owned(),
                message: reason.to_owned(),
            },
        };
        InvalidSpec {
            problems: vec![problem],
        }
    })
}

/// Checks every rule; returns every problem at once, or the spec with its defaults.
pub fn validate(spec: &PasswordlessPoolSpec) -> Result<ValidatedSpec, InvalidSpec> {
    let mut p = Problems::default();
    check_schema_rules(spec, &mut p);
    for rule in cross_field_rules() {
        if !(rule.holds)(spec) {
            let detail = rule.detail.as_ref().map(|d| d(spec)).unwrap_or_default();
            p.push(rule.field, format!("{}{detail}", rule.message));
        }
    }
    if !p.0.is_empty() {
        return Err(InvalidSpec { problems: p.0 });
    }
    Ok(ValidatedSpec {
        strategy: spec.strategy,
        region: spec.region.clone(),
        sender: spec.sender.clone(),
        magic_link: spec.magic_link.clone(),
        otp: spec.otp.clone().unwrap_or_default(),
        attempt_limit: spec
            .attempt_limit
            .unwrap_or_else(|| spec.strategy.default_attempt_limit()),
        sign_up: spec.sign_up,
        native: spec.native.clone(),
        email: spec.email.clone().unwrap_or_default(),
        client: spec.client.clone(),
        secret_name: spec.secret_name.clone(),
        deletion_policy: spec.deletion_policy,
        adopt: spec.adopt.clone(),
        tags: spec.tags.clone(),
        _sealed: Sealed,
    })
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }

    fn range(&mut self, field: &str, value: Option<u32>, bounds: Bounds) {
        if let Some(v) = value.filter(|v| !bounds.contains(*v)) {
            self.push(
                field,
                format!("{v} is outside {} to {}", bounds.min, bounds.max),
            );
        }
    }

    fn length(&mut self, field: &str, value: Option<&str>, min: usize, max: usize) {
        if let Some(n) = value
            .map(|v| v.chars().count())
            .filter(|n| !(min..=max).contains(n))
        {
            self.push(
                field,
                format!("is {n} characters long; allowed: {min} to {max}"),
            );
        }
    }

    fn pattern(&mut self, field: &str, value: Option<&str>, pattern: &Regex, what: &str) {
        if let Some(v) = value.filter(|v| !pattern.is_match(v)) {
            self.push(field, format!("{v:?} is not {what}"));
        }
    }
}

/// The schema's patterns, compiled once. The same strings are in the CRD (RE2 there).
struct Compiled {
    region: Regex,
    email: Regex,
    redirect_url: Regex,
    dns_subdomain: Regex,
    hostname: Regex,
    user_pool_id: Regex,
    display_name: Regex,
    one_line: Regex,
}

static PATTERNS: LazyLock<Compiled> = LazyLock::new(|| {
    let re = |p: &str| Regex::new(p).expect("the schema's patterns are valid regular expressions");
    Compiled {
        region: re(patterns::REGION),
        email: re(patterns::EMAIL),
        redirect_url: re(patterns::REDIRECT_URL),
        dns_subdomain: re(patterns::DNS_SUBDOMAIN),
        hostname: re(patterns::HOSTNAME),
        user_pool_id: re(patterns::USER_POOL_ID),
        display_name: re(patterns::DISPLAY_NAME),
        one_line: re(patterns::ONE_LINE),
    }
});

const SENDER_ADDRESS_MAX: usize = 254;

/// What the CRD schema states, field by field, in the schema's own order.
fn check_schema_rules(spec: &PasswordlessPoolSpec, p: &mut Problems) {
    let re = &*PATTERNS;
    p.pattern(
        "spec.region",
        spec.region.as_deref(),
        &re.region,
        "an AWS region such as eu-west-1",
    );
    if let Some(sender) = &spec.sender {
        let address = Some(sender.address.as_str());
        p.length("spec.sender.address", address, 0, SENDER_ADDRESS_MAX);
        p.pattern(
            "spec.sender.address",
            address,
            &re.email,
            "an email address",
        );
        let name = sender.display_name.as_deref();
        p.length("spec.sender.displayName", name, 1, 64);
        p.pattern(
            "spec.sender.displayName",
            name,
            &re.display_name,
            "a display name without quotes, angle brackets or line breaks",
        );
        let reply = sender.reply_to.as_deref();
        p.length("spec.sender.replyTo", reply, 0, SENDER_ADDRESS_MAX);
        p.pattern("spec.sender.replyTo", reply, &re.email, "an email address");
    }
    if let Some(link) = &spec.magic_link {
        let n = link.redirect_urls.len();
        if !(1..=MAX_REDIRECT_URLS as usize).contains(&n) {
            p.push(
                "spec.magicLink.redirectUrls",
                format!("has {n} URLs; allowed: 1 to {MAX_REDIRECT_URLS}"),
            );
        }
        for (i, url) in link.redirect_urls.iter().enumerate() {
            let field = format!("spec.magicLink.redirectUrls[{i}]");
            p.length(&field, Some(url), 0, MAX_URL_LENGTH as usize);
            p.pattern(
                &field,
                Some(url),
                &re.redirect_url,
                "an https URL (http only for localhost) without a fragment",
            );
        }
        p.range(
            "spec.magicLink.ttlSeconds",
            Some(link.ttl_seconds),
            LINK_TTL_SECONDS,
        );
        p.range(
            "spec.magicLink.minIntervalSeconds",
            Some(link.min_interval_seconds),
            LINK_MIN_INTERVAL_SECONDS,
        );
    }
    if let Some(otp) = &spec.otp {
        p.range("spec.otp.length", Some(u32::from(otp.length)), OTP_LENGTH);
        p.range(
            "spec.otp.ttlSeconds",
            Some(otp.ttl_seconds),
            OTP_TTL_SECONDS,
        );
    }
    p.range(
        "spec.attemptLimit",
        spec.attempt_limit.map(u32::from),
        ATTEMPT_LIMIT,
    );
    if let Some(native) = &spec.native {
        let factors = &native.allowed_first_auth_factors;
        if !(1..=4).contains(&factors.len()) {
            p.push(
                "spec.native.allowedFirstAuthFactors",
                format!("has {} factors; allowed: 1 to 4", factors.len()),
            );
        }
        for (i, factor) in factors.iter().enumerate() {
            if factors[..i].contains(factor) {
                p.push(
                    "spec.native.allowedFirstAuthFactors",
                    format!("lists {} twice", factor.as_str()),
                );
            }
        }
        let rp = native.web_authn_relying_party_id.as_deref();
        p.length("spec.native.webAuthnRelyingPartyId", rp, 1, 253);
        p.pattern(
            "spec.native.webAuthnRelyingPartyId",
            rp,
            &re.hostname,
            "a host name such as example.com",
        );
    }
    if let Some(email) = &spec.email {
        p.length("spec.email.appName", email.app_name.as_deref(), 1, 64);
        let subject = email.subject.as_deref();
        p.length("spec.email.subject", subject, 1, 200);
        p.pattern("spec.email.subject", subject, &re.one_line, "one line");
        p.length("spec.email.html", email.html.as_deref(), 1, 20000);
        p.length("spec.email.text", email.text.as_deref(), 1, 20000);
    }
    let c = &spec.client;
    for (field, value, bounds) in [
        (
            "spec.client.accessTokenValidityMinutes",
            c.access_token_validity_minutes,
            TOKEN_VALIDITY_MINUTES,
        ),
        (
            "spec.client.idTokenValidityMinutes",
            c.id_token_validity_minutes,
            TOKEN_VALIDITY_MINUTES,
        ),
        (
            "spec.client.refreshTokenValidityDays",
            c.refresh_token_validity_days,
            REFRESH_TOKEN_VALIDITY_DAYS,
        ),
        (
            "spec.client.authSessionValidityMinutes",
            c.auth_session_validity_minutes,
            AUTH_SESSION_VALIDITY_MINUTES,
        ),
    ] {
        p.range(field, Some(value), bounds);
    }
    let secret = spec.secret_name.as_deref();
    p.length("spec.secretName", secret, 1, 253);
    p.pattern(
        "spec.secretName",
        secret,
        &re.dns_subdomain,
        "a lower-case DNS subdomain name",
    );
    if let Some(adopt) = &spec.adopt {
        let id = Some(adopt.user_pool_id.as_str());
        p.length("spec.adopt.userPoolId", id, 0, 55);
        p.pattern(
            "spec.adopt.userPoolId",
            id,
            &re.user_pool_id,
            "a user pool id such as eu-west-1_AbC123",
        );
    }
    if spec.tags.len() > MAX_TAGS as usize {
        p.push(
            "spec.tags",
            format!("has {} tags; at most {MAX_TAGS}", spec.tags.len()),
        );
    }
}

/// A rule across fields: checked here, and emitted into the CRD as CEL on `spec`.
pub struct CrossFieldRule {
    /// The field the problem is reported on.
    pub field: &'static str,
    /// CEL over the spec (`self`), as the apiserver evaluates it.
    pub cel: String,
    /// What the person must change; the apiserver shows the same text.
    pub message: String,
    /// The same rule in Rust.
    holds: SpecFn<bool>,
    /// What Rust can add to the message that CEL's fixed text cannot (e.g. the offending name).
    detail: Option<SpecFn<String>>,
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

/// Whether a top-level spec section named as in the manifest is set.
fn section_is_set(spec: &PasswordlessPoolSpec, section: &str) -> bool {
    match section {
        "magicLink" => spec.magic_link.is_some(),
        "sender" => spec.sender.is_some(),
        "native" => spec.native.is_some(),
        "otp" => spec.otp.is_some(),
        "attemptLimit" => spec.attempt_limit.is_some(),
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
    let reserved = RESERVED_TAG_PREFIXES
        .iter()
        .map(|p| format!("!k.startsWith('{p}')"))
        .collect::<Vec<_>>()
        .join(" && ");
    rules.push(rule(
        "spec.tags",
        format!("!has(self.tags) || self.tags.all(k, {reserved})"),
        format!(
            "tag keys starting with {} are reserved",
            RESERVED_TAG_PREFIXES.join(" or ")
        ),
        |spec| {
            spec.tags
                .keys()
                .all(|k| !RESERVED_TAG_PREFIXES.iter().any(|p| k.starts_with(p)))
        },
    ));
    rules.push(rule(
        "spec.tags",
        "!has(self.tags) || self.tags.all(k, size(k) >= 1 && size(k) <= 128 && size(self.tags[k]) <= 256)".into(),
        "tag keys are 1 to 128 characters and values at most 256".into(),
        |spec| {
            spec.tags
                .iter()
                .all(|(k, v)| (1..=128).contains(&k.chars().count()) && v.chars().count() <= 256)
        },
    ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::PasswordlessPool;

    fn spec(yaml: &str) -> PasswordlessPoolSpec {
        serde_yaml::from_str(yaml).expect("test spec parses")
    }

    fn problems(yaml: &str) -> Vec<String> {
        validate(&spec(yaml))
            .err()
            .map(|e| e.problems.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    const MAGIC: &str = "strategy: magicLink
sender: {address: no-reply@example.com}
magicLink: {redirectUrls: ['https://app.example.com/cb']}
";

    #[test]
    fn a_complete_magic_link_spec_is_valid_and_gets_its_defaults() {
        assert_eq!(problems(MAGIC), Vec::<String>::new());
        let v = validate(&spec(MAGIC)).unwrap();
        assert_eq!(v.attempt_limit, 1);
        assert_eq!(v.otp, Otp::default());
        assert_eq!(v.magic_link.as_ref().unwrap().ttl_seconds, 900);
        let codes = validate(&spec("strategy: smsOtp\n")).unwrap();
        assert_eq!((codes.attempt_limit, codes.otp.ttl_seconds), (3, 300));
    }

    #[test]
    fn every_section_named_by_the_strategy_tables_is_known() {
        let s = spec(MAGIC);
        for strategy in Strategy::ALL {
            for section in strategy
                .required_sections()
                .iter()
                .chain(strategy.foreign_sections())
            {
                section_is_set(&s, section); // panics on an unknown name
            }
        }
    }

    #[test]
    fn schema_rules_name_each_field_and_are_reported_together() {
        // Each row: a change to the valid spec, and the field it must be reported on.
        let rows = [
            ("region: EU", "spec.region"),
            (
                "magicLink: {redirectUrls: ['http://evil.example/cb']}",
                "spec.magicLink.redirectUrls[0]",
            ),
            (
                "magicLink: {redirectUrls: ['https://a.example/cb#x']}",
                "spec.magicLink.redirectUrls[0]",
            ),
            (
                "magicLink: {redirectUrls: []}",
                "spec.magicLink.redirectUrls",
            ),
            (
                "magicLink: {redirectUrls: ['https://a.example'], ttlSeconds: 7200}",
                "spec.magicLink.ttlSeconds",
            ),
            (
                "magicLink: {redirectUrls: ['https://a.example'], minIntervalSeconds: 3601}",
                "spec.magicLink.minIntervalSeconds",
            ),
            ("otp: {length: 5}", "spec.otp.length"),
            ("otp: {ttlSeconds: 901}", "spec.otp.ttlSeconds"),
            ("attemptLimit: 11", "spec.attemptLimit"),
            ("attemptLimit: 0", "spec.attemptLimit"),
            ("sender: {address: not-an-address}", "spec.sender.address"),
            (
                "sender: {address: a@example.com, displayName: 'A <b>'}",
                "spec.sender.displayName",
            ),
            ("email: {subject: \"a\\nb\"}", "spec.email.subject"),
            ("email: {appName: ''}", "spec.email.appName"),
            (
                "client: {accessTokenValidityMinutes: 4}",
                "spec.client.accessTokenValidityMinutes",
            ),
            (
                "client: {refreshTokenValidityDays: 0}",
                "spec.client.refreshTokenValidityDays",
            ),
            (
                "client: {authSessionValidityMinutes: 16}",
                "spec.client.authSessionValidityMinutes",
            ),
            ("secretName: Bad_Name", "spec.secretName"),
            ("adopt: {userPoolId: nope}", "spec.adopt.userPoolId"),
        ];
        for (change, field) in rows {
            let key = change.split(':').next().unwrap();
            let base: String = MAGIC
                .lines()
                .filter(|l| !l.starts_with(&format!("{key}:")))
                .map(|l| format!("{l}\n"))
                .collect();
            let p = problems(&format!("{base}{change}\n"));
            assert_eq!(p.len(), 1, "{change}: {p:?}");
            assert!(p[0].starts_with(&format!("{field}: ")), "{change}: {p:?}");
        }
        let many = format!("{MAGIC}attemptLimit: 0\nregion: x\n");
        assert_eq!(problems(&many).len(), 2);
    }

    #[test]
    fn missing_and_foreign_sections_are_reported_together() {
        let p = problems("strategy: emailOtp\nnative: {allowedFirstAuthFactors: [PASSWORD]}\n");
        assert_eq!(
            p,
            vec![
                "spec: strategy emailOtp needs spec.sender".to_owned(),
                "spec: spec.native does not apply to strategy emailOtp: remove it".to_owned()
            ]
        );
    }

    #[test]
    fn native_factors_need_their_settings() {
        let p = problems(
            "strategy: native\nnative: {allowedFirstAuthFactors: [EMAIL_OTP, WEB_AUTHN, EMAIL_OTP]}\n",
        );
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("twice"));
        assert!(p[1].contains("spec.sender"));
        assert!(p[2].contains("webAuthnRelyingPartyId"));
    }

    #[test]
    fn reserved_and_oversized_tags_are_refused() {
        let long = "k".repeat(129);
        let yaml = format!(
            "strategy: smsOtp\ntags: {{'aws:x': a, 'passwordless-operator.dev/owner': b, {long}: c, ok: d}}\n"
        );
        let p = problems(&yaml);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("reserved") && p[1].contains("1 to 128"),
            "{p:?}"
        );
    }

    #[test]
    fn templates_must_carry_the_link_or_code_and_only_known_placeholders() {
        let yaml = format!(
            "{MAGIC}email: {{html: '<p>{{{{code}}}}</p>', text: 'Go: {{{{link}}}} {{{{lnik}}}}', subject: 'Sign in to {{{{appName}}}}'}}\n"
        );
        let p = problems(&yaml);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("spec.email.text uses an unknown placeholder"),
            "{p:?}"
        );
        assert!(p[0].ends_with("(found {{lnik}})"), "{p:?}");
        assert!(
            p[1].contains("spec.email.html must contain {{link}}"),
            "{p:?}"
        );
    }

    #[test]
    fn every_rule_has_cel_and_a_message_naming_a_field() {
        let rules = cross_field_rules();
        assert!(rules.len() > 10);
        for r in &rules {
            assert!(r.cel.contains("self."), "{}", r.cel);
            assert!(
                r.message.contains("spec.") || r.message.contains("tag"),
                "{}",
                r.message
            );
        }
    }

    #[test]
    fn shape_errors_name_the_field_like_the_apiserver() {
        let head = "apiVersion: passwordless-operator.dev/v1alpha1\nkind: PasswordlessPool\nmetadata: {name: a}\n";
        let missing = parse_manifest(&format!("{head}spec: {{region: eu-west-1}}\n")).unwrap_err();
        assert!(
            missing.to_string().contains("spec.strategy: required"),
            "{missing}"
        );
        let unknown = parse_manifest(&format!("{head}spec: {{strategy: password}}\n")).unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("spec.strategy: unknown variant"),
            "{unknown}"
        );
    }

    #[test]
    fn secret_name_defaults_to_name_dash_cognito() {
        let pool = PasswordlessPool::new("shop", spec(MAGIC));
        assert_eq!(pool.secret_name(), "shop-cognito");
    }
}

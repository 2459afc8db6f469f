//! Every rule a PasswordlessPool spec must keep, checked in Rust: what the CRD schema states
//! (ranges, lengths, patterns, enums) and the cross-field rules the generated CRD carries as CEL.
//! The CLI never passes an apiserver and the controller must not trust an old one, so both call
//! [`validate`], and only its [`ValidatedSpec`] reaches the desired-state code.
//!
//! The cross-field rules live in one table, [`cross_field_rules`]: each holds its CEL
//! expression, its message and its Rust check, so the CRD and this module cannot disagree.

mod rules;
mod schema;

use std::collections::BTreeMap;
use std::fmt;

pub use rules::{
    CrossFieldRule, REGION_STAYS, TransitionRule, cross_field_rules, transition_rules,
};
pub use schema::region_is_shaped;
use schema::{Problems, check_schema_rules};

use crate::crd::{
    Adopt, ClientSettings, DeletionPolicy, EmailTemplates, MagicLink, ManagedLogin, Native, Otp,
    PasswordlessPoolSpec, RateLimit, Sender, SignUpPolicy, SmsTemplates, Strategy,
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
    /// Every limit filled in.
    pub limits: SignInLimits,
    pub attempt_limit: u8,
    pub sign_up: SignUpPolicy,
    /// Set exactly for `native`.
    pub native: Option<Native>,
    /// Only for `native`; scopes defaulted.
    pub managed_login: Option<ManagedLogin>,
    pub email: EmailTemplates,
    pub sms: SmsTemplates,
    pub client: ClientSettings,
    pub secret_name: Option<String>,
    pub deletion_policy: DeletionPolicy,
    pub adopt: Option<Adopt>,
    pub rate_limit: Option<RateLimit>,
    pub tags: BTreeMap<String, String>,
    _sealed: Sealed,
}

/// The per-user limits with every default filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    pub min_interval_seconds: u32,
    pub max_failures: u32,
    pub lockout_seconds: u32,
}

impl SignInLimits {
    /// `limits` wins; a manifest written before it keeps its `magicLink.minIntervalSeconds`.
    fn of(spec: &PasswordlessPoolSpec) -> Self {
        let limits = spec.limits.clone().unwrap_or_default();
        let legacy = spec.magic_link.as_ref().map(|l| l.min_interval_seconds);
        Self {
            min_interval_seconds: limits
                .min_interval_seconds
                .or(legacy)
                .unwrap_or(passwordless_contract::MIN_INTERVAL_SECONDS.default),
            max_failures: limits
                .max_failures
                .unwrap_or(passwordless_contract::MAX_FAILURES.default),
            lockout_seconds: limits
                .lockout_seconds
                .unwrap_or(passwordless_contract::LOCKOUT_SECONDS.default),
        }
    }
}

/// A spec that works but that a security review would question: the controller raises each as
/// a Warning event when the spec changes, the CLI prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The event reason.
    pub reason: &'static str,
    pub message: String,
}

/// Event reasons of [`Warning`]s.
pub mod warning_reasons {
    pub const LINK_LIFETIME_OVER_ASVS: &str = "LinkLifetimeOverAsvs";
}

/// What works but should not: a link that lives longer than OWASP ASVS 5.0 allows (V6.5.5:
/// out-of-band links and codes at most 10 minutes).
pub fn warnings(spec: &ValidatedSpec) -> Vec<Warning> {
    let cap = passwordless_contract::ASVS_MAX_OUT_OF_BAND_SECONDS;
    let mut found = Vec::new();
    if let Some(link) = spec.magic_link.as_ref().filter(|l| l.ttl_seconds > cap) {
        found.push(Warning {
            reason: warning_reasons::LINK_LIFETIME_OVER_ASVS,
            message: format!(
                "spec.magicLink.ttlSeconds: {} is longer than {cap} s, OWASP ASVS 5.0's cap for sign-in links (V6.5.5); a leaked or forwarded link stays usable that long",
                link.ttl_seconds
            ),
        });
    }
    found
}

/// A field no other module can fill in: a `ValidatedSpec` comes from [`validate`] alone.
#[derive(Debug, Clone, PartialEq)]
struct Sealed;

/// Reads a manifest as the CLI gets it. A shape error names its field the way the apiserver
/// does (`spec.strategy: required`), not serde's way (`spec: missing field `strategy``).
pub fn parse_manifest(text: &str) -> Result<crate::crd::PasswordlessPool, InvalidSpec> {
    let pool: crate::crd::PasswordlessPool = serde_yaml::from_str(text).map_err(|e| {
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
    })?;
    check_metadata(&pool.metadata)?;
    Ok(pool)
}

/// The names Kubernetes would accept: a namespace is a DNS label, a name a DNS subdomain. The
/// CLI builds file paths and AWS names from them, so `../x` must never get that far.
fn check_metadata(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Result<(), InvalidSpec> {
    let label = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    let mut problems = Vec::new();
    if let Some(ns) = meta.namespace.as_deref().filter(|ns| !label(ns)) {
        problems.push(Problem {
            field: "metadata.namespace".to_owned(),
            message: format!("{ns:?} is not a DNS label (a-z, 0-9, '-', at most 63)"),
        });
    }
    if let Some(name) = &meta.name {
        let subdomain = name.len() <= 253 && name.split('.').all(label);
        if !subdomain {
            problems.push(Problem {
                field: "metadata.name".to_owned(),
                message: format!(
                    "{name:?} is not a DNS subdomain (a-z, 0-9, '-', '.', at most 253)"
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec { problems })
    }
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
    Ok(defaults_only(spec))
}

/// The apiserver's transition rule, as the controller can check it: the region the clients are
/// for (the spec's, or the operator's default) against the one the status recorded the stack in.
/// A 1.20 apiserver ignores the CEL rule; a changed default region would escape it too.
pub fn check_region_stays(region: &str, recorded: Option<&str>) -> Result<(), InvalidSpec> {
    match recorded {
        Some(lives) if lives != region => Err(InvalidSpec {
            problems: vec![Problem {
                field: "spec.region".to_owned(),
                message: format!(
                    "{REGION_STAYS} (it lives in {lives}, the spec now names {region})"
                ),
            }],
        }),
        _ => Ok(()),
    }
}

/// The spec with its defaults filled in and no rule checked. Only for deleting what a valid
/// spec once created: an object must stay deletable when its spec stops validating.
pub fn defaults_only(spec: &PasswordlessPoolSpec) -> ValidatedSpec {
    ValidatedSpec {
        strategy: spec.strategy,
        region: spec.region.clone(),
        sender: spec.sender.clone(),
        magic_link: spec.magic_link.clone(),
        otp: spec.otp.clone().unwrap_or_default(),
        limits: SignInLimits::of(spec),
        attempt_limit: spec
            .attempt_limit
            .unwrap_or_else(|| spec.strategy.default_attempt_limit()),
        sign_up: spec.sign_up,
        native: spec.native.clone(),
        managed_login: spec.managed_login.clone(),
        email: spec.email.clone().unwrap_or_default(),
        sms: spec.sms.clone().unwrap_or_default(),
        client: spec.client.clone(),
        secret_name: spec.secret_name.clone(),
        deletion_policy: spec.deletion_policy,
        adopt: spec.adopt.clone(),
        rate_limit: spec.rate_limit.clone(),
        tags: spec.tags.clone(),
        _sealed: Sealed,
    }
}

#[cfg(test)]
mod tests {
    use super::rules::section_is_set;
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
    fn a_link_over_ten_minutes_is_warned_about_and_the_default_is_not() {
        assert_eq!(warnings(&validate(&spec(MAGIC)).unwrap()), vec![]);
        let long = MAGIC.replace("cb']}", "cb'], ttlSeconds: 900}");
        let warned = warnings(&validate(&spec(&long)).unwrap());
        assert_eq!(warned.len(), 1);
        assert!(
            warned[0]
                .message
                .starts_with("spec.magicLink.ttlSeconds: 900")
        );
    }

    #[test]
    fn manifest_names_cannot_leave_their_directory() {
        let manifest = |ns: &str, name: &str| {
            format!(
                "apiVersion: passwordless-operator.dev/v1alpha1\nkind: PasswordlessPool\nmetadata: {{name: '{name}', namespace: '{ns}'}}\nspec: {{strategy: smsOtp}}\n"
            )
        };
        assert!(parse_manifest(&manifest("team-a", "web.v2")).is_ok());
        for (ns, name, field) in [
            ("team-a", "../../etc/x", "metadata.name"),
            ("team-a", "/abs", "metadata.name"),
            ("..", "web", "metadata.namespace"),
            ("Team", "web", "metadata.namespace"),
        ] {
            let err = parse_manifest(&manifest(ns, name)).unwrap_err();
            assert_eq!(err.problems[0].field, field, "{ns}/{name}");
        }
    }

    #[test]
    fn a_complete_magic_link_spec_is_valid_and_gets_its_defaults() {
        assert_eq!(problems(MAGIC), Vec::<String>::new());
        let v = validate(&spec(MAGIC)).unwrap();
        assert_eq!(v.attempt_limit, 1);
        assert_eq!(v.otp, Otp::default());
        assert_eq!(v.magic_link.as_ref().unwrap().ttl_seconds, 600);
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
    fn managed_login_problems_name_their_field() {
        const NATIVE: &str = "strategy: native\nsender: {address: a@example.com}\nnative: {allowedFirstAuthFactors: [EMAIL_OTP]}\n";
        let rows = [
            (
                "managedLogin: {domainPrefix: Acme, callbackUrls: [https://a.example.com/cb]}",
                "spec.managedLogin.domainPrefix",
            ),
            (
                "managedLogin: {customDomain: {domainName: auth.example.com, certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/x'}, callbackUrls: [https://a.example.com/cb]}",
                "spec.managedLogin.customDomain.certificateArn",
            ),
            (
                "managedLogin: {domainPrefix: acme, callbackUrls: []}",
                "spec.managedLogin.callbackUrls",
            ),
            (
                "managedLogin: {domainPrefix: acme, callbackUrls: ['https://a.example.com/cb#x']}",
                "spec.managedLogin.callbackUrls[0]",
            ),
            (
                "managedLogin: {domainPrefix: acme, callbackUrls: [https://a.example.com/cb], scopes: [openid, openid]}",
                "spec.managedLogin.scopes",
            ),
        ];
        for (change, field) in rows {
            let p = problems(&format!("{NATIVE}{change}\n"));
            assert_eq!(p.len(), 1, "{change}: {p:?}");
            assert!(p[0].starts_with(&format!("{field}: ")), "{change}: {p:?}");
        }
        let fine =
            "managedLogin: {domainPrefix: acme-login, callbackUrls: [http://localhost:3000/cb]}";
        assert_eq!(problems(&format!("{NATIVE}{fine}\n")), Vec::<String>::new());
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

    /// The CEL pattern the apiserver checks language tags with and the Rust check the CLI and
    /// the trigger use accept exactly the same strings.
    #[test]
    fn language_tags_are_read_alike_by_the_pattern_and_the_check() {
        use passwordless_contract::messages::{LANGUAGE_TAG_PATTERN, is_language_tag};
        let pattern = regex::Regex::new(LANGUAGE_TAG_PATTERN).unwrap();
        let parts = [
            "", "d", "de", "haw", "deut", "Hant", "DE", "419", "12", "1234", "x", "_",
        ];
        let mut tried = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    for tag in [
                        format!("{a}-{b}-{c}"),
                        format!("{a}-{b}"),
                        format!("{a}{b}"),
                        a.to_owned(),
                        format!("{a}-{b}\n"),
                    ] {
                        assert_eq!(pattern.is_match(&tag), is_language_tag(&tag), "{tag:?}");
                        tried += 1;
                    }
                }
            }
        }
        assert!(tried > 8000);
    }

    /// With managed login on a custom domain, passkeys must be bound to its full name (AWS's
    /// WebAuthnConfigurationType: a parent domain is refused there).
    #[test]
    fn the_relying_party_id_must_cover_the_custom_domain() {
        let pool = |rp: &str, host: &str| {
            format!(
                "strategy: native\nnative: {{allowedFirstAuthFactors: [WEB_AUTHN], webAuthnRelyingPartyId: {rp}}}\nmanagedLogin: {{customDomain: {{domainName: {host}, certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666'}}, callbackUrls: ['https://app.example.com/cb']}}\n"
            )
        };
        for (rp, host, fits) in [
            ("auth.example.com", "auth.example.com", true),
            ("Auth.Example.COM", "auth.example.com", true),
            ("example.com", "auth.example.com", false),
            ("other.com", "auth.example.com", false),
            ("ample.com", "auth.example.com", false),
            ("login.example.com", "auth.example.com", false),
            ("sub.auth.example.com", "auth.example.com", false),
            ("com", "auth.example.com", false),
        ] {
            let p = problems(&pool(rp, host));
            let refused = p.iter().any(|m| {
                m.contains("webAuthnRelyingPartyId must be spec.managedLogin.customDomain")
            });
            assert_eq!(!refused, fits, "{rp} for {host}: {p:?}");
            if refused {
                assert!(p[0].ends_with(&format!("(found {rp} for {host})")), "{p:?}");
            }
        }
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
    fn a_pool_cannot_move_region_once_its_stack_lives_somewhere() {
        assert!(check_region_stays("eu-west-1", None).is_ok());
        assert!(check_region_stays("eu-west-1", Some("eu-west-1")).is_ok());
        let err = check_region_stays("eu-central-1", Some("eu-west-1")).unwrap_err();
        assert_eq!(err.problems[0].field, "spec.region");
        assert!(
            err.to_string()
                .contains("it lives in eu-west-1, the spec now names eu-central-1"),
            "{err}"
        );
    }

    /// What AWS's service models refuse is refused here first, naming the field.
    #[test]
    fn what_aws_would_refuse_is_refused_with_its_field() {
        let native = "strategy: native\nsender: {address: a@example.com}\nnative: {allowedFirstAuthFactors: [EMAIL_OTP]}\n";
        let login = |url: &str| {
            format!(
                "{native}managedLogin: {{domainPrefix: shop, callbackUrls: ['https://a.example.com/cb'], logoutUrls: [\"{url}\"]}}\n"
            )
        };
        let rp = |host: &str| {
            format!(
                "strategy: native\nnative: {{allowedFirstAuthFactors: [WEB_AUTHN], webAuthnRelyingPartyId: {host}}}\n"
            )
        };
        let long_rp = format!("{}.{}.example", "a".repeat(63), "b".repeat(56));
        assert_eq!(long_rp.len(), 128);
        let refused = [
            ("strategy: smsOtp\ntags: {team: R&D}\n", "spec.tags.team"),
            (
                "strategy: smsOtp\ntags: {team: 'CC#42'}\n",
                "spec.tags.team",
            ),
            (
                "strategy: smsOtp\ntags: {team: 'ops, sre'}\n",
                "spec.tags.team",
            ),
            (
                "strategy: smsOtp\ntags: {team: 'a (b)'}\n",
                "spec.tags.team",
            ),
            (
                "strategy: smsOtp\ntags: {team: \"\\U0001F680\"}\n",
                "spec.tags.team",
            ),
            (
                "strategy: smsOtp\ntags: {owner: a@example.com}\n",
                "spec.tags.owner",
            ),
            (
                "strategy: smsOtp\ntags: {'ops, sre': x}\n",
                "spec.tags: tag keys are 1 to 128",
            ),
            (
                "strategy: smsOtp\ntags: {'AWS:team': x}\n",
                "spec.tags: tag keys starting",
            ),
            (
                "strategy: smsOtp\ntags: {'Passwordless-Operator.dev/owner': x}\n",
                "spec.tags: tag keys starting",
            ),
            (&rp(&long_rp), "spec.native.webAuthnRelyingPartyId"),
            (
                "strategy: native\nsender: {address: 'a%b@example.com'}\nnative: {allowedFirstAuthFactors: [EMAIL_OTP]}\n",
                "spec.sender.address",
            ),
            (
                &login("https://a.example.com/bye\\u0001"),
                "spec.managedLogin.logoutUrls[0]",
            ),
            (
                &login("https://a.example.com/bye\\u00a0x"),
                "spec.managedLogin.logoutUrls[0]",
            ),
            (
                &login("https://a.example.com/bye\\u200bx"),
                "spec.managedLogin.logoutUrls[0]",
            ),
            (
                &MAGIC.replace("/cb'", "/c\u{ad}b'"),
                "spec.magicLink.redirectUrls[0]",
            ),
        ];
        for (yaml, field) in refused {
            let p = problems(yaml);
            assert!(
                p.len() == 1 && p[0].starts_with(field),
                "{yaml}: expected one problem on {field}, got {p:?}"
            );
        }
        let accepted = [
            "strategy: smsOtp\ntags: {team: 'Platform Team', cost: 'cc:42/eu=1+x_y.z-w', 'équipe': 'données 42'}\n",
            &rp(&format!("{}.example", "a".repeat(119))),
            &login("https://a.example.com/bye?next=%2Fhome&lang=d\u{e9}"),
        ];
        for yaml in accepted {
            assert_eq!(problems(yaml), Vec::<String>::new(), "{yaml}");
        }
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

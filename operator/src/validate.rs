//! Checks the schema of a 1.20 apiserver cannot express. The CRD carries the same rules as CEL
//! for newer clusters; the CLI and the controller run these on every spec, because the CLI never
//! passes an apiserver and older clusters ignore CEL.

use crate::crd::{AuthFactor, EmailTemplates, PasswordlessPoolSpec, Strategy};

/// Tag-key prefixes owned by AWS and by the operator's own ownership tags.
pub const RESERVED_TAG_PREFIXES: [&str; 2] = ["aws:", "passwordless-operator.dev/"];

/// Placeholders a template may use.
pub const TEMPLATE_PLACEHOLDERS: [&str; 4] = ["link", "code", "ttl", "appName"];

/// Why a spec cannot be reconciled, one sentence a person can act on per problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid spec: {}", .problems.join("; "))]
pub struct InvalidSpec {
    pub problems: Vec<String>,
}

/// Validates what the schema cannot; returns every problem at once, not only the first.
pub fn validate(spec: &PasswordlessPoolSpec) -> Result<(), InvalidSpec> {
    let mut problems = Vec::new();
    check_sections(spec, &mut problems);
    check_native(spec, &mut problems);
    check_tags(spec, &mut problems);
    if let Some(email) = &spec.email {
        check_templates(spec.strategy, email, &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec { problems })
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

fn check_sections(spec: &PasswordlessPoolSpec, problems: &mut Vec<String>) {
    let strategy = spec.strategy.as_str();
    for section in spec.strategy.required_sections() {
        if !section_is_set(spec, section) {
            problems.push(format!("strategy {strategy} needs spec.{section}"));
        }
    }
    for section in spec.strategy.foreign_sections() {
        if section_is_set(spec, section) {
            problems.push(format!(
                "spec.{section} does not apply to strategy {strategy}: remove it"
            ));
        }
    }
}

fn check_native(spec: &PasswordlessPoolSpec, problems: &mut Vec<String>) {
    let Some(native) = &spec.native else { return };
    let factors = &native.allowed_first_auth_factors;
    let allows = |f: AuthFactor| factors.contains(&f);
    if allows(AuthFactor::EmailOtp) && spec.sender.is_none() {
        problems.push("native sign-in with EMAIL_OTP sends email: set spec.sender".to_owned());
    }
    if allows(AuthFactor::WebAuthn) && native.web_authn_relying_party_id.is_none() {
        problems.push(
            "native sign-in with WEB_AUTHN needs spec.native.webAuthnRelyingPartyId".to_owned(),
        );
    }
    for (i, factor) in factors.iter().enumerate() {
        if factors[..i].contains(factor) {
            problems.push(format!(
                "spec.native.allowedFirstAuthFactors lists {factor:?} twice"
            ));
        }
    }
}

fn check_tags(spec: &PasswordlessPoolSpec, problems: &mut Vec<String>) {
    for (key, value) in &spec.tags {
        if key.is_empty() || key.chars().count() > 128 {
            problems.push(format!("tag key {key:?} must be 1 to 128 characters"));
        }
        if let Some(prefix) = RESERVED_TAG_PREFIXES.iter().find(|p| key.starts_with(**p)) {
            problems.push(format!(
                "tag key {key:?} uses the reserved prefix {prefix:?}"
            ));
        }
        if value.chars().count() > 256 {
            problems.push(format!(
                "tag {key:?} has a value longer than 256 characters"
            ));
        }
    }
}

/// Every placeholder must be known, and each body must carry what the user needs to sign in: a
/// magic-link email without `{{link}}` or a code email without `{{code}}` would lock users out.
fn check_templates(strategy: Strategy, email: &EmailTemplates, problems: &mut Vec<String>) {
    let must_carry = match strategy {
        Strategy::MagicLink => Some("link"),
        Strategy::EmailOtp => Some("code"),
        Strategy::SmsOtp | Strategy::Native => None,
    };
    let fields = [
        ("subject", &email.subject),
        ("html", &email.html),
        ("text", &email.text),
    ];
    for (field, template) in fields {
        let Some(template) = template else { continue };
        let used = placeholders(template);
        for name in &used {
            if !TEMPLATE_PLACEHOLDERS.contains(name) {
                problems.push(format!(
                    "spec.email.{field} uses unknown placeholder {{{{{name}}}}}; known: {}",
                    TEMPLATE_PLACEHOLDERS.join(", ")
                ));
            }
        }
        if let (Some(needed), true) = (must_carry, field != "subject") {
            if !used.contains(&needed) {
                problems.push(format!(
                    "spec.email.{field} must contain {{{{{needed}}}}} for strategy {}",
                    strategy.as_str()
                ));
            }
        }
    }
}

/// The `{{name}}` placeholders of a template, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        found.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    found
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
            .map(|e| e.problems)
            .unwrap_or_default()
    }

    const MAGIC: &str = "strategy: magicLink
sender: {address: no-reply@example.com}
magicLink: {redirectUrls: ['https://app.example.com/cb']}
";

    #[test]
    fn a_complete_magic_link_spec_is_valid() {
        assert_eq!(problems(MAGIC), Vec::<String>::new());
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
    fn missing_and_foreign_sections_are_reported_together() {
        let p = problems("strategy: emailOtp\nnative: {allowedFirstAuthFactors: [PASSWORD]}\n");
        assert_eq!(
            p,
            vec![
                "strategy emailOtp needs spec.sender".to_owned(),
                "spec.native does not apply to strategy emailOtp: remove it".to_owned()
            ]
        );
    }

    #[test]
    fn native_factors_need_their_settings() {
        let p = problems(
            "strategy: native\nnative: {allowedFirstAuthFactors: [EMAIL_OTP, WEB_AUTHN, EMAIL_OTP]}\n",
        );
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("spec.sender"));
        assert!(p[1].contains("webAuthnRelyingPartyId"));
        assert!(p[2].contains("twice"));
    }

    #[test]
    fn reserved_and_oversized_tags_are_refused() {
        let long = "k".repeat(129);
        let yaml = format!(
            "strategy: smsOtp\ntags: {{'aws:x': a, 'passwordless-operator.dev/owner': b, {long}: c, ok: d}}\n"
        );
        let p = problems(&yaml);
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn templates_must_carry_the_link_or_code_and_only_known_placeholders() {
        let yaml = format!(
            "{MAGIC}email: {{html: '<p>{{{{code}}}}</p>', text: 'Go: {{{{link}}}} {{{{lnik}}}}', subject: 'Sign in to {{{{appName}}}}'}}\n"
        );
        let p = problems(&yaml);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("spec.email.html must contain {{link}}"),
            "{p:?}"
        );
        assert!(p[1].contains("unknown placeholder {{lnik}}"), "{p:?}");
    }

    #[test]
    fn placeholders_are_found_in_order_and_trimmed() {
        assert_eq!(
            placeholders("a {{ link }} b {{code}}{{ttl"),
            vec!["link", "code"]
        );
    }

    #[test]
    fn secret_name_defaults_to_name_dash_cognito() {
        let pool = PasswordlessPool::new("shop", spec(MAGIC));
        assert_eq!(pool.secret_name(), "shop-cognito");
    }
}

//! What the CRD schema states, field by field: ranges, lengths, patterns, counts. The bounds and
//! patterns are the constants the schema attributes are generated from.

use std::sync::LazyLock;

use passwordless_contract::{
    ATTEMPT_LIMIT, Bounds, LINK_TTL_SECONDS, LOCKOUT_SECONDS, MAX_FAILURES, MIN_INTERVAL_SECONDS,
    OTP_LENGTH, OTP_TTL_SECONDS,
};
use regex::Regex;

use super::Problem;
use crate::crd::{
    AUTH_SESSION_VALIDITY_MINUTES, MAX_LANGUAGES, MAX_LOCALIZED_BODY, MAX_OAUTH_URLS,
    MAX_REDIRECT_URLS, MAX_REGION, MAX_RELYING_PARTY_ID, MAX_SMS_TEXT, MAX_TAG_KEY, MAX_TAG_VALUE,
    MAX_TAGS, MAX_URL_LENGTH, PasswordlessPoolSpec, RATE_LIMIT_PER_FIVE_MINUTES,
    REFRESH_TOKEN_VALIDITY_DAYS, TOKEN_VALIDITY_MINUTES, patterns,
};

/// The problems found so far, in the order the schema lists the fields.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<Problem>);

impl Problems {
    pub(super) fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
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
            self.push(field, format!("{} is not {what}", quoted(v)));
        }
    }
}

/// At most [`MAX_LANGUAGES`] languages beside the default (the schema's `maxProperties`).
fn languages(p: &mut Problems, field: &str, count: usize) {
    if count > MAX_LANGUAGES {
        p.push(
            field,
            format!("has {count} languages; at most {MAX_LANGUAGES}"),
        );
    }
}

/// Whether `region` is shaped as the schema wants `spec.region` (a status's may not be).
pub fn region_is_shaped(region: &str) -> bool {
    region.len() <= MAX_REGION as usize && PATTERNS.region.is_match(region)
}

/// The longest value a message quotes: a tenant's megabyte value is named, not repeated.
const MAX_QUOTED: usize = 64;

/// The value in quotes, cut past [`MAX_QUOTED`] characters.
fn quoted(v: &str) -> String {
    let n = v.chars().count();
    if n <= MAX_QUOTED {
        return format!("{v:?}");
    }
    let head: String = v.chars().take(MAX_QUOTED).collect();
    format!("{head:?}… ({n} characters)")
}

/// The schema's patterns, compiled once. The same strings are in the CRD (RE2 there).
struct Compiled {
    region: Regex,
    email: Regex,
    sender_address: Regex,
    redirect_url: Regex,
    oauth_url: Regex,
    dns_subdomain: Regex,
    hostname: Regex,
    user_pool_id: Regex,
    display_name: Regex,
    one_line: Regex,
    domain_prefix: Regex,
    fqdn: Regex,
    acm_certificate_arn: Regex,
    tag_text: Regex,
}

static PATTERNS: LazyLock<Compiled> = LazyLock::new(|| {
    let re = |p: &str| Regex::new(p).expect("the schema's patterns are valid regular expressions");
    Compiled {
        region: re(patterns::REGION),
        email: re(patterns::EMAIL),
        sender_address: re(patterns::SENDER_ADDRESS),
        redirect_url: re(patterns::REDIRECT_URL),
        oauth_url: re(patterns::OAUTH_URL),
        dns_subdomain: re(patterns::DNS_SUBDOMAIN),
        hostname: re(patterns::HOSTNAME),
        user_pool_id: re(patterns::USER_POOL_ID),
        display_name: re(patterns::DISPLAY_NAME),
        one_line: re(patterns::ONE_LINE),
        domain_prefix: re(patterns::DOMAIN_PREFIX),
        fqdn: re(patterns::FQDN),
        acm_certificate_arn: re(patterns::ACM_CERTIFICATE_ARN),
        tag_text: re(patterns::TAG_TEXT),
    }
});

const SENDER_ADDRESS_MAX: usize = 254;

/// How messages say [`patterns::TAG_TEXT`].
pub(super) const TAG_TEXT_RULE: &str =
    "allowed in an AWS tag: letters, digits, spaces and _ . : / = + - only";

/// A tag key AWS takes: 1 to 128 characters of [`patterns::TAG_TEXT`].
pub(super) fn tag_key_is_valid(key: &str) -> bool {
    (1..=MAX_TAG_KEY as usize).contains(&key.chars().count()) && PATTERNS.tag_text.is_match(key)
}

/// A list of URLs a browser is sent to: its length, and each one matching `rule` (https, with
/// plain http only for local development).
fn urls(p: &mut Problems, field: &str, list: &[String], (min, max): (usize, u32), rule: UrlRule) {
    let n = list.len();
    if !(min..=max as usize).contains(&n) {
        p.push(field, format!("has {n} URLs; allowed: {min} to {max}"));
    }
    for (i, url) in list.iter().enumerate() {
        let field = format!("{field}[{i}]");
        p.length(&field, Some(url), 0, MAX_URL_LENGTH as usize);
        p.pattern(&field, Some(url), rule.0, rule.1);
    }
}

/// A URL pattern, and how an error message says it.
type UrlRule = (&'static Regex, &'static str);

fn redirect_url() -> UrlRule {
    (
        &PATTERNS.redirect_url,
        "an https URL (http only for localhost, 127.0.0.1 or [::1]) without a fragment",
    )
}

fn oauth_url() -> UrlRule {
    (
        &PATTERNS.oauth_url,
        "an https URL (http only for localhost) without a fragment",
    )
}

/// What the CRD schema states, field by field, in the schema's own order.
pub(super) fn check_schema_rules(spec: &PasswordlessPoolSpec, p: &mut Problems) {
    let re = &*PATTERNS;
    p.length(
        "spec.region",
        spec.region.as_deref(),
        0,
        MAX_REGION as usize,
    );
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
            &re.sender_address,
            "an email address without '%' (an SES identity ARN cannot hold it)",
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
        urls(
            p,
            "spec.magicLink.redirectUrls",
            &link.redirect_urls,
            (1, MAX_REDIRECT_URLS),
            redirect_url(),
        );
        p.range(
            "spec.magicLink.ttlSeconds",
            Some(link.ttl_seconds),
            LINK_TTL_SECONDS,
        );
        p.range(
            "spec.magicLink.minIntervalSeconds",
            Some(link.min_interval_seconds),
            MIN_INTERVAL_SECONDS,
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
    if let Some(rate) = &spec.rate_limit {
        p.range(
            "spec.rateLimit.requestsPerFiveMinutes",
            Some(rate.requests_per_five_minutes),
            RATE_LIMIT_PER_FIVE_MINUTES,
        );
    }
    if let Some(limits) = &spec.limits {
        p.range(
            "spec.limits.minIntervalSeconds",
            limits.min_interval_seconds,
            MIN_INTERVAL_SECONDS,
        );
        p.range("spec.limits.maxFailures", limits.max_failures, MAX_FAILURES);
        p.range(
            "spec.limits.lockoutSeconds",
            limits.lockout_seconds,
            LOCKOUT_SECONDS,
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
        p.length(
            "spec.native.webAuthnRelyingPartyId",
            rp,
            1,
            MAX_RELYING_PARTY_ID as usize,
        );
        p.pattern(
            "spec.native.webAuthnRelyingPartyId",
            rp,
            &re.hostname,
            "a host name such as example.com",
        );
    }
    if let Some(login) = &spec.managed_login {
        let prefix = login.domain_prefix.as_deref();
        p.length("spec.managedLogin.domainPrefix", prefix, 1, 63);
        p.pattern(
            "spec.managedLogin.domainPrefix",
            prefix,
            &re.domain_prefix,
            "lower-case letters, digits and hyphens, not starting or ending with a hyphen",
        );
        if let Some(custom) = &login.custom_domain {
            let name = Some(custom.domain_name.as_str());
            p.length("spec.managedLogin.customDomain.domainName", name, 1, 63);
            p.pattern(
                "spec.managedLogin.customDomain.domainName",
                name,
                &re.fqdn,
                "a lower-case host name such as auth.example.com",
            );
            let arn = Some(custom.certificate_arn.as_str());
            p.length(
                "spec.managedLogin.customDomain.certificateArn",
                arn,
                0,
                2048,
            );
            p.pattern(
                "spec.managedLogin.customDomain.certificateArn",
                arn,
                &re.acm_certificate_arn,
                "an ACM certificate ARN in us-east-1",
            );
        }
        urls(
            p,
            "spec.managedLogin.callbackUrls",
            &login.callback_urls,
            (1, MAX_OAUTH_URLS),
            oauth_url(),
        );
        urls(
            p,
            "spec.managedLogin.logoutUrls",
            &login.logout_urls,
            (0, MAX_OAUTH_URLS),
            oauth_url(),
        );
        let scopes = &login.scopes;
        if !(1..=5).contains(&scopes.len()) {
            p.push(
                "spec.managedLogin.scopes",
                format!("has {} scopes; allowed: 1 to 5", scopes.len()),
            );
        }
        for (i, scope) in scopes.iter().enumerate() {
            if scopes[..i].contains(scope) {
                p.push(
                    "spec.managedLogin.scopes",
                    format!("lists {} twice", scope.as_str()),
                );
            }
        }
    }
    if let Some(email) = &spec.email {
        p.length("spec.email.appName", email.app_name.as_deref(), 1, 64);
        let subject = email.subject.as_deref();
        p.length("spec.email.subject", subject, 1, 200);
        p.pattern("spec.email.subject", subject, &re.one_line, "one line");
        p.length("spec.email.html", email.html.as_deref(), 1, 20000);
        p.length("spec.email.text", email.text.as_deref(), 1, 20000);
        languages(p, "spec.email.localized", email.localized.len());
        let body = MAX_LOCALIZED_BODY as usize;
        for (tag, m) in &email.localized {
            let at = |field: &str| format!("spec.email.localized.{tag}.{field}");
            let subject = m.subject.as_deref();
            p.length(&at("subject"), subject, 1, 200);
            p.pattern(&at("subject"), subject, &re.one_line, "one line");
            p.length(&at("html"), m.html.as_deref(), 1, body);
            p.length(&at("text"), m.text.as_deref(), 1, body);
        }
    }
    if let Some(sms) = &spec.sms {
        let max = MAX_SMS_TEXT as usize;
        p.length("spec.sms.text", sms.text.as_deref(), 1, max);
        languages(p, "spec.sms.localized", sms.localized.len());
        for (tag, m) in &sms.localized {
            p.length(
                &format!("spec.sms.localized.{tag}.text"),
                Some(&m.text),
                1,
                max,
            );
        }
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
    for (key, value) in &spec.tags {
        let field = format!("spec.tags.{key}");
        p.length(&field, Some(value), 0, MAX_TAG_VALUE as usize);
        p.pattern(&field, Some(value), &re.tag_text, TAG_TEXT_RULE);
    }
}

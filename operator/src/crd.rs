//! The `PasswordlessPool` API (`passwordless-operator.dev/v1alpha1`).
//!
//! These types are the single source of truth: `passwordless-operator crd` prints the
//! CustomResourceDefinition generated from them, and the doc comments become `kubectl explain`.
//! Everything the OpenAPI schema of a 1.20 apiserver can check is expressed here as a schema
//! rule, so bad input is refused at apply time (422) rather than discovered by the controller.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use passwordless_contract::{
    ATTEMPT_LIMIT, Bounds, LINK_TTL_SECONDS, LOCKOUT_SECONDS, MAX_FAILURES, MIN_INTERVAL_SECONDS,
    OTP_LENGTH, OTP_TTL_SECONDS, sign_up, strategy,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lenient;

/// The API group of every resource this operator owns.
pub const GROUP: &str = "passwordless-operator.dev";

/// Schema patterns: RE2 in the apiserver, the `regex` crate in [`crate::validate`] (these use
/// only syntax both read alike).
pub mod patterns {
    /// An AWS region code such as `eu-west-1` or `us-gov-west-1`.
    pub const REGION: &str = r"^[a-z]{2}(-[a-z]+)+-[0-9]$";
    /// A plain email address (no display name, no comments).
    pub const EMAIL: &str = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$";
    /// A sender address: an email address without `%`, because the SES identity ARN built from
    /// it must match Cognito's `EmailConfiguration.SourceArn` pattern (`[\w+=/,.@-]`).
    pub const SENDER_ADDRESS: &str =
        r"^[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$";
    /// https anywhere; plain http only for loopback development. No fragment: the operator puts
    /// the sign-in token there.
    /// The path takes what Cognito's URL pattern `[\p{L}\p{M}\p{S}\p{N}\p{P}]+` takes: no
    /// control, format or space characters (a no-break space included).
    pub const REDIRECT_URL: &str = r"^(https://[A-Za-z0-9.-]+|http://(localhost|127\.0\.0\.1|\[::1\]))(:[0-9]{1,5})?(/[^#\p{C}\p{Z}]*)?$";
    /// Managed login's callback and sign-out URLs: Cognito takes plain http only for
    /// `localhost`, not for loopback addresses. No fragment.
    pub const OAUTH_URL: &str =
        r"^(https://[A-Za-z0-9.-]+|http://localhost)(:[0-9]{1,5})?(/[^#\p{C}\p{Z}]*)?$";
    /// A DNS-1123 subdomain, as Kubernetes requires for a Secret name.
    pub const DNS_SUBDOMAIN: &str =
        r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    /// A hostname used as WebAuthn relying-party id (a registrable domain, no scheme or port).
    pub const HOSTNAME: &str =
        r"^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$";
    /// A Cognito user pool id: `<region>_<suffix>`.
    pub const USER_POOL_ID: &str = r"^[a-z]{2}(-[a-z]+)+-[0-9]_[0-9A-Za-z]+$";
    /// A sender's display name: no quotes, angle brackets or line breaks (header injection).
    pub const DISPLAY_NAME: &str = r#"^[^"<>\r\n]+$"#;
    /// One line of text.
    pub const ONE_LINE: &str = r"^[^\r\n]+$";
    /// A Cognito prefix domain: lower-case letters, digits and inner hyphens, at most 63.
    pub const DOMAIN_PREFIX: &str = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
    /// A fully qualified domain name: at least two labels.
    pub const FQDN: &str =
        r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
    /// An ACM certificate in us-east-1, where Cognito's CloudFront distribution needs it.
    pub const ACM_CERTIFICATE_ARN: &str =
        r"^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[A-Za-z0-9-]+$";
    /// What every service the operator tags allows in a tag key or value: IAM, Lambda and WAF
    /// take `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, and DynamoDB takes no `@`.
    pub const TAG_TEXT: &str = r"^[\p{L}\p{Z}\p{N}_.:/=+-]*$";
}
use patterns::{
    ACM_CERTIFICATE_ARN as ACM_CERTIFICATE_ARN_PATTERN, DISPLAY_NAME as DISPLAY_NAME_PATTERN,
    DNS_SUBDOMAIN as DNS_SUBDOMAIN_PATTERN, DOMAIN_PREFIX as DOMAIN_PREFIX_PATTERN,
    EMAIL as EMAIL_PATTERN, FQDN as FQDN_PATTERN, HOSTNAME as HOSTNAME_PATTERN,
    OAUTH_URL as OAUTH_URL_PATTERN, ONE_LINE as ONE_LINE_PATTERN,
    REDIRECT_URL as REDIRECT_URL_PATTERN, REGION as REGION_PATTERN,
    SENDER_ADDRESS as SENDER_ADDRESS_PATTERN, USER_POOL_ID as USER_POOL_ID_PATTERN,
};

/// App-client token lifetimes Cognito accepts (minutes), and our default.
pub const TOKEN_VALIDITY_MINUTES: Bounds = Bounds {
    min: 5,
    max: 1440,
    default: 60,
};
/// Refresh-token lifetime (days).
pub const REFRESH_TOKEN_VALIDITY_DAYS: Bounds = Bounds {
    min: 1,
    max: 3650,
    default: 30,
};
/// How long one sign-in may take (minutes): Cognito's range for the auth session.
pub const AUTH_SESSION_VALIDITY_MINUTES: Bounds = Bounds {
    min: 3,
    max: 15,
    default: 3,
};
/// At most this many redirect URLs, each at most [`MAX_URL_LENGTH`] characters.
pub const MAX_REDIRECT_URLS: u32 = 10;
pub const MAX_URL_LENGTH: u32 = 1024;
/// AWS WAF's rate-based rule: requests from one IP per 5-minute window.
pub const RATE_LIMIT_PER_FIVE_MINUTES: Bounds = Bounds {
    min: 10,
    max: 2_000_000_000,
    default: 300,
};
/// At most this many callback or sign-out URLs for managed login.
pub const MAX_OAUTH_URLS: u32 = 10;
/// Words AWS refuses in a prefix domain.
pub const RESERVED_DOMAIN_WORDS: [&str; 3] = ["aws", "amazon", "cognito"];
/// The managed login version the operator asks for: the pages that offer passwordless
/// choices (version 1, the classic hosted UI, offers passwords only).
pub const MANAGED_LOGIN_VERSION: i32 = 2;
/// The longest region name (today's are at most 14 characters).
pub const MAX_REGION: u32 = 32;
/// AWS allows 50 tags on a resource; the operator's own take the rest.
pub const MAX_TAGS: u32 = 40;
/// Languages a pool's messages may be given in, beside the default.
pub const MAX_LANGUAGES: usize = passwordless_contract::messages::MAX_LANGUAGES;
/// The longest body of an email in another language: ten of them stay within the apiserver's
/// cost budget for the CEL rules that check their placeholders (20,000, the default's, does not).
pub const MAX_LOCALIZED_BODY: u32 = 12_000;
/// The longest sign-in text message template: two GSM-7 segments (five in other scripts). SNS
/// sends up to 1,600 characters, but bills each segment, and an anonymous client picks the
/// language: a short bound keeps a send's cost near one message.
pub const MAX_SMS_TEXT: u32 = 320;
/// AWS's limits on a tag key and a tag value, in characters, for every service.
pub const MAX_TAG_KEY: u32 = 128;
pub const MAX_TAG_VALUE: u32 = 256;
/// Cognito's limit on a WebAuthn relying-party id (`RelyingPartyId`).
pub const MAX_RELYING_PARTY_ID: u32 = 127;

/// Desired state of a passwordless sign-in stack on AWS Cognito.
// The lint reads the printer columns' repeated `type_ = "string"` as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "passwordless-operator.dev",
    version = "v1alpha1",
    kind = "PasswordlessPool",
    namespaced,
    status = "PasswordlessPoolStatus",
    shortname = "pwp",
    category = "passwordless",
    doc = "A Cognito user pool with passwordless sign-in (magic link, email or SMS code, or Cognito's native passwordless), kept in sync by passwordless-operator.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(name = "Strategy", type_ = "string", json_path = ".spec.strategy"),
    printcolumn(name = "Pool ID", type_ = "string", json_path = ".status.userPoolId"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PasswordlessPoolSpec {
    /// How users sign in: `magicLink` (an emailed, signed, single-use link), `emailOtp` (an
    /// emailed one-time code), `smsOtp` (a one-time code by SMS), or `native` (Cognito's own
    /// USER_AUTH passwordless: EMAIL_OTP, SMS_OTP, passkeys; no trigger Lambdas). Switching
    /// between SMS and email sign-in is refused: Cognito cannot change a pool's username attribute.
    pub strategy: Strategy,

    /// AWS region of the stack, e.g. `eu-west-1`. Defaults to the operator's AWS configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_REGION), regex(pattern = REGION_PATTERN))]
    pub region: Option<String>,

    /// The SES identity that sends sign-in email. Required for `magicLink` and `emailOtp`, and for
    /// `native` when EMAIL_OTP is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Sender>,

    /// Magic-link settings. Required for the `magicLink` strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magic_link: Option<MagicLink>,

    /// One-time-code settings, for `emailOtp`, `smsOtp`, and the typed fallback code that
    /// accompanies every magic link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<Otp>,

    /// An AWS WAF web ACL in front of the user pool with a rate-based rule: requests from one
    /// IP address above the limit are blocked before Cognito (or a trigger) sees them. Absent:
    /// no web ACL (the per-user limits still apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,

    /// Limits per user across sign-in attempts, for every strategy that runs our trigger: how
    /// often a link or code may be sent, and the lockout after repeated wrong answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,

    /// Wrong answers allowed before the sign-in attempt fails and must start over. Defaults to 1
    /// for `magicLink` and 3 for the code strategies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = ATTEMPT_LIMIT.min, max = ATTEMPT_LIMIT.max))]
    pub attempt_limit: Option<u8>,

    /// Whether an unknown user is created on first sign-in. `Disabled` (the default) answers an
    /// unknown user exactly like a known one, without sending anything; `AutoConfirm` lets the
    /// app call SignUp and confirms the user at once; their email or phone is marked verified by
    /// their first sign-in, which proves it.
    #[serde(default)]
    pub sign_up: SignUpPolicy,

    /// Cognito native passwordless settings. Required for the `native` strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<Native>,

    /// Cognito's managed login: hosted sign-in pages on a user pool domain, and the app
    /// client's OAuth settings (authorization code with PKCE; no implicit grant). Only for
    /// `native`: Cognito's pages offer its own factors, never our links or trigger codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_login: Option<ManagedLogin>,

    /// The sign-in email's subject and bodies, in one language or several. Defaults to
    /// professional built-in templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailTemplates>,

    /// The sign-in text message of `smsOtp`, in one language or several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsTemplates>,

    /// App client settings: token and session lifetimes.
    #[serde(default)]
    pub client: ClientSettings,

    /// Name of the Secret, in this namespace, that receives the pool and client IDs, region,
    /// issuer and JWKS URL for apps to mount. Defaults to `<metadata.name>-cognito`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = DNS_SUBDOMAIN_PATTERN))]
    pub secret_name: Option<String>,

    /// What happens to the AWS resources when this object is deleted: `Delete` (the default)
    /// removes them; `Retain` keeps them, and turns on the user pool's deletion protection.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Bring an existing user pool under management instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<Adopt>,

    /// Extra AWS tags for every resource the operator creates. Keys starting with `aws:` or
    /// `passwordless-operator.dev/` (in any case) are reserved. Keys (1 to 128 characters) and
    /// values (at most 256) hold letters, digits, spaces and `_ . : / = + -` only: what every
    /// service the operator tags accepts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "maxProperties" = MAX_TAGS,
        "additionalProperties" = {"type": "string", "maxLength": MAX_TAG_VALUE, "pattern": patterns::TAG_TEXT}
    ))]
    pub tags: BTreeMap<String, String>,
}

/// How users sign in.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Strategy {
    MagicLink,
    EmailOtp,
    SmsOtp,
    Native,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [Self::MagicLink, Self::EmailOtp, Self::SmsOtp, Self::Native];

    /// The value as written in a manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MagicLink => strategy::MAGIC_LINK,
            Self::EmailOtp => strategy::EMAIL_OTP,
            Self::SmsOtp => strategy::SMS_OTP,
            Self::Native => strategy::NATIVE,
        }
    }

    /// Spec sections this strategy cannot work without.
    pub fn required_sections(self) -> &'static [&'static str] {
        match self {
            Self::MagicLink => &["magicLink", "sender"],
            Self::EmailOtp => &["sender"],
            Self::SmsOtp => &[],
            Self::Native => &["native"],
        }
    }

    /// Spec sections that belong to another strategy: setting them is a mistake, not a no-op.
    pub fn foreign_sections(self) -> &'static [&'static str] {
        match self {
            Self::MagicLink => &["native", "managedLogin", "sms"],
            Self::EmailOtp => &["magicLink", "native", "managedLogin", "sms"],
            Self::SmsOtp => &["magicLink", "native", "managedLogin"],
            Self::Native => &["magicLink", "otp", "attemptLimit", "sms"],
        }
    }

    /// The attempt limit when the spec gives none (the contract's rule, shared with the trigger).
    pub fn default_attempt_limit(self) -> u8 {
        passwordless_contract::default_attempt_limit(self.as_str()) as u8
    }
}

/// The SES identity that sends sign-in email.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sender {
    /// The From address, e.g. `no-reply@example.com` (no `%`: the SES identity's ARN cannot
    /// hold it).
    #[schemars(length(max = 254), regex(pattern = SENDER_ADDRESS_PATTERN))]
    pub address: String,

    /// Which SES identity to verify: `Address` (the default) verifies the address alone by a
    /// confirmation email; `Domain` verifies the address's whole domain by DNS (DKIM) records.
    #[serde(default)]
    pub identity: SenderIdentity,

    /// Display name shown before the address, e.g. `Acme Sign-in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = DISPLAY_NAME_PATTERN))]
    pub display_name: Option<String>,

    /// Reply-To address for the sign-in email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 254), regex(pattern = EMAIL_PATTERN))]
    pub reply_to: Option<String>,
}

/// Which SES identity backs the sender.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SenderIdentity {
    #[default]
    Address,
    Domain,
}

/// Magic-link settings.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MagicLink {
    /// Where a link may send the user: full URLs, https only except for localhost, without a
    /// fragment (the token goes there). The first is the default; an app picks another through
    /// client metadata, and anything outside this list is refused.
    #[schemars(
        length(min = 1, max = MAX_REDIRECT_URLS),
        inner(length(max = MAX_URL_LENGTH), regex(pattern = REDIRECT_URL_PATTERN))
    )]
    pub redirect_urls: Vec<String>,

    /// How long a link stays valid, in seconds: 60 to 3600 (1h). Default 600 (10m), OWASP ASVS
    /// 5.0's cap for out-of-band links (V6.5.5); longer raises a Warning event.
    #[serde(default = "defaults::link_ttl_seconds")]
    #[schemars(range(min = LINK_TTL_SECONDS.min, max = LINK_TTL_SECONDS.max))]
    pub ttl_seconds: u32,

    /// Minimum time between two links sent to the same user, in seconds: 0 to 3600. Default 60.
    /// Kept for manifests written before `limits`; `limits.minIntervalSeconds` wins when set.
    #[serde(default = "defaults::link_min_interval_seconds")]
    #[schemars(range(min = MIN_INTERVAL_SECONDS.min, max = MIN_INTERVAL_SECONDS.max))]
    pub min_interval_seconds: u32,
}

/// Per-user limits across sign-in attempts (kept in the pool's state table).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Minimum time between two sends (link or code) to one user, in seconds: 0 to 3600.
    /// Default 60, or `magicLink.minIntervalSeconds` where a manifest still sets that. A start
    /// inside it sends nothing and answers COOLDOWN with the seconds left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_INTERVAL_SECONDS.min, max = MIN_INTERVAL_SECONDS.max))]
    pub min_interval_seconds: Option<u32>,

    /// Wrong answers to one user, across attempts, before sign-in locks: 1 to 100. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MAX_FAILURES.min, max = MAX_FAILURES.max))]
    pub max_failures: Option<u32>,

    /// The first lockout, in seconds: 1 to 86400. Default 900. Each further wrong answer
    /// doubles it, up to a day. A correct sign-in clears the count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = LOCKOUT_SECONDS.min, max = LOCKOUT_SECONDS.max))]
    pub lockout_seconds: Option<u32>,
}

/// One-time-code settings.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Otp {
    /// Number of digits: 6 to 10. Default 6.
    #[serde(default = "defaults::otp_length")]
    #[schemars(range(min = OTP_LENGTH.min, max = OTP_LENGTH.max))]
    pub length: u8,

    /// How long a code stays valid, in seconds: 60 to 900 (15m, Cognito's longest auth session).
    /// Default 300 (5m).
    #[serde(default = "defaults::otp_ttl_seconds")]
    #[schemars(range(min = OTP_TTL_SECONDS.min, max = OTP_TTL_SECONDS.max))]
    pub ttl_seconds: u32,
}

impl Default for Otp {
    fn default() -> Self {
        Self {
            length: defaults::otp_length(),
            ttl_seconds: defaults::otp_ttl_seconds(),
        }
    }
}

/// Whether unknown users may sign up on first sign-in.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SignUpPolicy {
    #[default]
    Disabled,
    AutoConfirm,
}

impl SignUpPolicy {
    /// The value as written in a manifest and in the trigger's environment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => sign_up::DISABLED,
            Self::AutoConfirm => sign_up::AUTO_CONFIRM,
        }
    }
}

/// Cognito native passwordless (USER_AUTH) settings.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Native {
    /// First factors a user may sign in with: EMAIL_OTP, WEB_AUTHN (passkeys) and PASSWORD.
    /// At least one, each at most once. SMS_OTP is refused until the operator manages the
    /// pool's SmsConfiguration (use strategy smsOtp for texted codes).
    #[schemars(length(min = 1, max = 4), extend("x-kubernetes-list-type" = "set"))]
    pub allowed_first_auth_factors: Vec<AuthFactor>,

    /// The WebAuthn relying-party id: the domain passkeys are bound to, e.g. `example.com`.
    /// Required when WEB_AUTHN is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_RELYING_PARTY_ID), regex(pattern = HOSTNAME_PATTERN))]
    pub web_authn_relying_party_id: Option<String>,
}

/// Managed login: where Cognito hosts the sign-in pages, and where they may send the user.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedLogin {
    /// A Cognito prefix domain: the pages are served at
    /// `https://<prefix>.auth.<region>.amazoncognito.com`. Lower-case letters, digits and
    /// hyphens (not first or last), without `aws`, `amazon` or `cognito`; unique in the region
    /// across all AWS accounts. Set this or `customDomain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), regex(pattern = DOMAIN_PREFIX_PATTERN))]
    pub domain_prefix: Option<String>,

    /// Your own domain for the pages instead of a prefix domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_domain: Option<CustomDomain>,

    /// Where Cognito may send the authorization code: full URLs, https only except for
    /// `http://localhost` (not 127.0.0.1), without a fragment. The first is the one the output Secret's `signInUrl` uses.
    #[schemars(
        length(min = 1, max = MAX_OAUTH_URLS),
        inner(length(max = MAX_URL_LENGTH), regex(pattern = OAUTH_URL_PATTERN))
    )]
    pub callback_urls: Vec<String>,

    /// Where Cognito may send the user after signing out: same rules as `callbackUrls`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = MAX_OAUTH_URLS),
        inner(length(max = MAX_URL_LENGTH), regex(pattern = OAUTH_URL_PATTERN))
    )]
    pub logout_urls: Vec<String>,

    /// The OAuth scopes apps may ask for; `openid` is required. Default `[openid, email]`.
    #[serde(default = "defaults::oauth_scopes")]
    #[schemars(length(min = 1, max = 5), extend("x-kubernetes-list-type" = "set"))]
    pub scopes: Vec<OAuthScope>,
}

/// A custom domain for the managed login pages.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomain {
    /// The pages' host name, e.g. `auth.example.com`, at most 63 characters (Cognito's limit).
    /// Point its DNS at the CloudFront distribution Cognito reports.
    #[schemars(length(min = 1, max = 63), regex(pattern = FQDN_PATTERN))]
    pub domain_name: String,

    /// The ACM certificate for that name, in us-east-1 (Cognito serves the pages through
    /// CloudFront).
    #[schemars(length(max = 2048), regex(pattern = ACM_CERTIFICATE_ARN_PATTERN))]
    pub certificate_arn: String,
}

/// An OAuth scope of the app client.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum OAuthScope {
    #[serde(rename = "openid")]
    OpenId,
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "phone")]
    Phone,
    #[serde(rename = "profile")]
    Profile,
    /// Lets the access token call Cognito's user APIs (GetUser, UpdateUserAttributes).
    #[serde(rename = "aws.cognito.signin.user.admin")]
    CognitoAdmin,
}

impl OAuthScope {
    /// The name Cognito and the manifest use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenId => "openid",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Profile => "profile",
            Self::CognitoAdmin => "aws.cognito.signin.user.admin",
        }
    }
}

/// A first factor of Cognito's USER_AUTH flow.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthFactor {
    EmailOtp,
    SmsOtp,
    WebAuthn,
    Password,
}

impl AuthFactor {
    /// The name Cognito and the manifest use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailOtp => "EMAIL_OTP",
            Self::SmsOtp => "SMS_OTP",
            Self::WebAuthn => "WEB_AUTHN",
            Self::Password => "PASSWORD",
        }
    }
}

/// The sign-in email. Placeholders, written `{{name}}`: `link` (the magic link), `code` (the
/// one-time code), `ttl` (how long it stays valid, in English, e.g. `15 minutes`), `ttlMinutes`
/// (the same in whole minutes, rounded up, e.g. `15`: for other languages) and `appName`. Values are
/// HTML-escaped in the HTML body. Unset fields use the built-in templates.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailTemplates {
    /// The product name shown in the email, e.g. `Acme`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub app_name: Option<String>,

    /// Subject line, one line of at most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = ONE_LINE_PATTERN))]
    pub subject: Option<String>,

    /// HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20000))]
    pub html: Option<String>,

    /// Plain-text body, for clients that do not render HTML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20000))]
    pub text: Option<String>,

    /// The email in other languages, by BCP 47 language tag (`de`, `pt-BR`, `zh-Hant-TW`; at
    /// most 10). The trigger picks the user's `locale` attribute, else the sign-in request's
    /// `clientMetadata.locale`, matching a tag or its language alone (`de-AT` finds `de`), else
    /// uses the fields above. A field a language leaves out is taken from above.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = MAX_LANGUAGES))]
    pub localized: BTreeMap<String, LocalizedEmail>,
}

/// One language's sign-in email; each field is checked like the default's.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalizedEmail {
    /// Subject line, one line of at most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = ONE_LINE_PATTERN))]
    pub subject: Option<String>,

    /// HTML body, at most 12,000 characters (the apiserver's budget for checking ten of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_LOCALIZED_BODY))]
    pub html: Option<String>,

    /// Plain-text body, at most 12,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_LOCALIZED_BODY))]
    pub text: Option<String>,
}

/// The sign-in text message (`smsOtp`). Placeholders as in the email: `{{code}}` (required),
/// `{{ttl}}`, `{{ttlMinutes}}` and `{{appName}}` (`spec.email.appName`).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsTemplates {
    /// The message, at most 320 characters (a message over 160 GSM characters, or 70 others,
    /// is sent and billed as several). Default: `{{code}} is your {{appName}} sign-in code. It
    /// expires in {{ttl}}.`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_SMS_TEXT))]
    pub text: Option<String>,

    /// The message in other languages, by BCP 47 language tag (at most 10), picked as for the
    /// email.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = MAX_LANGUAGES))]
    pub localized: BTreeMap<String, LocalizedSms>,
}

/// One language's sign-in text message.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalizedSms {
    #[schemars(length(min = 1, max = MAX_SMS_TEXT))]
    pub text: String,
}

/// App client settings.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientSettings {
    /// Access token lifetime in minutes: 5 to 1440 (1 day). Default 60.
    #[serde(default = "defaults::token_validity_minutes")]
    #[schemars(range(min = TOKEN_VALIDITY_MINUTES.min, max = TOKEN_VALIDITY_MINUTES.max))]
    pub access_token_validity_minutes: u32,

    /// ID token lifetime in minutes: 5 to 1440 (1 day). Default 60.
    #[serde(default = "defaults::token_validity_minutes")]
    #[schemars(range(min = TOKEN_VALIDITY_MINUTES.min, max = TOKEN_VALIDITY_MINUTES.max))]
    pub id_token_validity_minutes: u32,

    /// Refresh token lifetime in days: 1 to 3650. Default 30.
    #[serde(default = "defaults::refresh_token_validity_days")]
    #[schemars(range(min = REFRESH_TOKEN_VALIDITY_DAYS.min, max = REFRESH_TOKEN_VALIDITY_DAYS.max))]
    pub refresh_token_validity_days: u32,

    /// How long a sign-in may take, from the first request to the last answer, in minutes:
    /// 3 to 15. Default 3. A magic link opened later starts a fresh session, so this bounds
    /// typing a code, not the link's lifetime.
    #[serde(default = "defaults::auth_session_validity_minutes")]
    #[schemars(range(
        min = AUTH_SESSION_VALIDITY_MINUTES.min,
        max = AUTH_SESSION_VALIDITY_MINUTES.max
    ))]
    pub auth_session_validity_minutes: u32,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            access_token_validity_minutes: defaults::token_validity_minutes(),
            id_token_validity_minutes: defaults::token_validity_minutes(),
            refresh_token_validity_days: defaults::refresh_token_validity_days(),
            auth_session_validity_minutes: defaults::auth_session_validity_minutes(),
        }
    }
}

/// What happens to the AWS resources when the PasswordlessPool is deleted.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    #[default]
    Delete,
    Retain,
}

/// The web ACL's rate-based rule.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests from one IP address per 5 minutes, to any of the pool's public operations:
    /// 10 to 2000000000. Default 300.
    #[serde(default = "defaults::rate_limit")]
    #[schemars(range(min = RATE_LIMIT_PER_FIVE_MINUTES.min, max = RATE_LIMIT_PER_FIVE_MINUTES.max))]
    pub requests_per_five_minutes: u32,
}

/// An existing user pool to manage instead of creating one.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Adopt {
    /// The existing user pool's id, e.g. `eu-west-1_AbC123xyz`.
    #[schemars(length(max = 55), regex(pattern = USER_POOL_ID_PATTERN))]
    pub user_pool_id: String,
}

/// Observed state, written by the operator. A field that does not parse (written by anyone
/// else with status access) reads as absent.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordlessPoolStatus {
    /// The `metadata.generation` this status describes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub observed_generation: Option<i64>,

    /// Standard conditions. `Ready` is True once every AWS resource exists, matches the spec,
    /// and the sender is verified; its reason says which step is pending otherwise.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::each_or_dropped"
    )]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The Cognito user pool id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub user_pool_id: Option<String>,

    /// The Cognito user pool ARN.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub user_pool_arn: Option<String>,

    /// The app client id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub client_id: Option<String>,

    /// The AWS region the stack lives in.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub region: Option<String>,

    /// The token issuer (`iss` claim) apps must expect.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub issuer_url: Option<String>,

    /// Where apps fetch the keys that sign the pool's tokens.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub jwks_url: Option<String>,

    /// The SES sender identity and its verification state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub sender: Option<SenderStatus>,

    /// Where managed login serves its pages, once the domain exists.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub managed_login: Option<ManagedLoginStatus>,

    /// ARNs of the trigger Lambda functions (none for `native`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::or_absent"
    )]
    pub trigger_function_arns: Vec<String>,

    /// The WAF web ACL in front of the pool (`spec.rateLimit`), recorded the moment it is
    /// made, so a deletion interrupted after detaching it still finds it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub web_acl_arn: Option<String>,

    /// Name of the output Secret that holds the connection details.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub secret_name: Option<String>,

    /// Cognito's feature plan the spec needs, which sets the price per monthly active user.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub tier: Option<TierStatus>,

    /// The value of the `passwordless-operator.dev/reconcile-requested-at` annotation last acted
    /// on: a request is handled once per value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::or_absent"
    )]
    pub last_handled_reconcile_at: Option<String>,
}

/// The user pool's feature plan, and why.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TierStatus {
    /// `LITE` or `ESSENTIALS`.
    pub plan: String,
    /// The spec field that needs more than `LITE`, e.g. `spec.native`; absent on `LITE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_by: Option<String>,
}

/// Managed login's public endpoints.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedLoginStatus {
    /// The host the pages are served at, e.g. `acme.auth.eu-west-1.amazoncognito.com`.
    pub domain: String,
    /// The authorize URL for the first callback URL; an app adds `state` and its PKCE
    /// `code_challenge`.
    pub sign_in_url: String,
    /// Where an app exchanges the code (with its PKCE verifier) for tokens.
    pub token_endpoint: String,
    /// Cognito's logout endpoint for the first sign-out URL (none without `logoutUrls`): it
    /// ends the managed login session, then sends the browser there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_out_url: Option<String>,
    /// For a custom domain: the CloudFront host its DNS record (an alias, or a CNAME) must
    /// point at before the pages answer there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_front_distribution: Option<String>,
}

/// The SES identity and how far its verification got.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SenderStatus {
    /// The SES identity: the sender address or its domain.
    pub identity: String,
    /// SES verification status: Pending, Success, Failed, TemporaryFailure or NotStarted.
    pub verification_status: String,
    /// For a domain identity: the DKIM records to publish in the domain's DNS (Easy DKIM), as
    /// SES names them. SES verifies the domain once it finds them (up to 72 hours).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dkim_records: Vec<DnsRecord>,
}

/// A DNS record to publish.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    pub name: String,
    /// `CNAME`.
    #[serde(rename = "type")]
    pub type_: String,
    pub value: String,
}

/// Defaults for serde: the trigger's own come from the contract; the client's are Cognito's.
mod defaults {
    use passwordless_contract as contract;

    pub fn link_ttl_seconds() -> u32 {
        contract::LINK_TTL_SECONDS.default
    }
    pub fn link_min_interval_seconds() -> u32 {
        contract::MIN_INTERVAL_SECONDS.default
    }
    pub fn otp_length() -> u8 {
        contract::OTP_LENGTH.default as u8
    }
    pub fn otp_ttl_seconds() -> u32 {
        contract::OTP_TTL_SECONDS.default
    }
    pub fn rate_limit() -> u32 {
        super::RATE_LIMIT_PER_FIVE_MINUTES.default
    }
    pub fn token_validity_minutes() -> u32 {
        super::TOKEN_VALIDITY_MINUTES.default
    }
    pub fn refresh_token_validity_days() -> u32 {
        super::REFRESH_TOKEN_VALIDITY_DAYS.default
    }
    pub fn auth_session_validity_minutes() -> u32 {
        super::AUTH_SESSION_VALIDITY_MINUTES.default
    }
    pub fn oauth_scopes() -> Vec<super::OAuthScope> {
        vec![super::OAuthScope::OpenId, super::OAuthScope::Email]
    }
}

impl PasswordlessPool {
    /// The name of the output Secret: `spec.secretName`, or `<name>-cognito`.
    pub fn secret_name(&self) -> String {
        match &self.spec.secret_name {
            Some(name) => name.clone(),
            None => format!(
                "{}-cognito",
                self.metadata.name.as_deref().unwrap_or_default()
            ),
        }
    }
}

impl PasswordlessPoolSpec {
    /// How long a retired signing key stays in the secret: the longest a link or code signed
    /// with it stays valid, plus the time a warm trigger keeps the keys it read.
    pub fn retired_key_seconds(&self) -> u64 {
        // Every trigger strategy sends a code (a magic link's typed fallback included), so the
        // code's lifetime, default or not, always counts.
        let link = self.magic_link.as_ref().map_or(0, |m| m.ttl_seconds);
        let code = self
            .otp
            .as_ref()
            .map_or(OTP_TTL_SECONDS.default, |o| o.ttl_seconds);
        u64::from(link.max(code)) + passwordless_contract::signing_keys::MAX_AGE_SECONDS
    }
}

//! The configuration of each AWS resource, as compared field by field.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::VERIFIED_FIELD;

/// A configuration that can be compared field by field.
pub trait Fields {
    /// `(field, rendered value)` for every field the operator manages, sorted by field. Secret
    /// values are rendered as a fingerprint, never as themselves.
    fn fields(&self) -> Vec<(String, String)>;
}

fn list(values: &[String]) -> String {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.join(",")
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// `sha256:<first 12 hex>`: enough to see a secret changed, nothing to learn it from.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("(sensitive, sha256:{hex})")
}

#[derive(Debug, Clone, PartialEq)]
pub struct SenderConfig {
    /// The SES identity: the address, or its domain.
    pub identity: String,
    /// Its ARN, in the pool's account and region.
    pub arn: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleConfig {
    pub name: String,
    pub trust_policy: Value,
    pub policy_name: String,
    pub policy: Value,
    /// The managed policy's ARN; None on a role made before boundaries (or stripped of it).
    pub permissions_boundary: Option<String>,
}

impl Fields for RoleConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![
            ("assumeRolePolicy".into(), self.trust_policy.to_string()),
            (
                format!("inlinePolicy.{}", self.policy_name),
                self.policy.to_string(),
            ),
            (
                "permissionsBoundary".into(),
                opt(&self.permissions_boundary),
            ),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableConfig {
    pub name: String,
    pub ttl_attribute: String,
}

impl Fields for TableConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![(
            "timeToLive.attributeName".into(),
            self.ttl_attribute.clone(),
        )]
    }
}

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
        let digest = Sha256::digest(text.as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
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

/// The Secrets Manager secret holding the trigger's signing keys. The operator never reads
/// the value back: a digest tag says which keys it holds.
#[derive(Clone, PartialEq)]
pub struct KeysSecretConfig {
    pub name: String,
    /// `sha256:<16 hex>` of the value.
    pub digest: String,
    /// The value to write (`kid:base64,...`); None when observed.
    pub value: Option<String>,
    /// Observed: scheduled for deletion (by hand, or by a deletion with a recovery window),
    /// which blocks creating the name for up to 30 days. Restored when it is this pool's.
    pub scheduled_for_deletion: bool,
}

impl KeysSecretConfig {
    pub fn new(name: String, value: String) -> Self {
        let digest = Sha256::digest(value.as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Self {
            name,
            digest: format!("sha256:{hex}"),
            value: Some(value),
            scheduled_for_deletion: false,
        }
    }
}

/// Never shows the keys.
impl std::fmt::Debug for KeysSecretConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysSecretConfig")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .finish()
    }
}

impl Fields for KeysSecretConfig {
    fn fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![("keysDigest".to_owned(), self.digest.clone())];
        if self.scheduled_for_deletion {
            fields.push(("scheduledForDeletion".to_owned(), "true".to_owned()));
        }
        fields
    }
}

/// The WAF web ACL in front of the user pool: one rate-based rule, and its association.
#[derive(Debug, Clone, PartialEq)]
pub struct WebAclConfig {
    pub name: String,
    /// Requests from one IP per 5 minutes.
    pub rate_limit: u32,
    /// The user pool ARN it is associated with (`(known after apply)` before the pool).
    pub associated_with: String,
}

impl Fields for WebAclConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![
            ("associatedWith".to_owned(), self.associated_with.clone()),
            ("rateLimit".to_owned(), self.rate_limit.to_string()),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionConfig {
    pub statement_id: String,
    pub principal: String,
    pub source_arn: String,
    pub source_account: String,
}

impl Fields for PermissionConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![
            ("principal".into(), self.principal.clone()),
            ("sourceAccount".into(), self.source_account.clone()),
            ("sourceArn".into(), self.source_arn.clone()),
        ]
    }
}

/// The whole user pool configuration: UpdateUserPool is always sent all of it, because AWS
/// resets every field an update omits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserPoolConfig {
    pub name: String,
    /// Fixed at creation: `email` or `phone_number`.
    pub username_attributes: Vec<String>,
    pub auto_verified_attributes: Vec<String>,
    pub define_auth_challenge: Option<String>,
    pub create_auth_challenge: Option<String>,
    pub verify_auth_challenge_response: Option<String>,
    pub pre_sign_up: Option<String>,
    pub post_authentication: Option<String>,
    /// ACTIVE or INACTIVE.
    pub deletion_protection: String,
    pub allow_admin_create_user_only: bool,
    /// Account recovery off: only an administrator can recover an account.
    pub recovery_mechanism: String,
    pub mfa: String,
    /// LITE or ESSENTIALS (native passwordless needs ESSENTIALS).
    pub tier: String,
    pub allowed_first_auth_factors: Vec<String>,
    pub web_authn_relying_party_id: Option<String>,
    /// COGNITO_DEFAULT, or DEVELOPER (SES) for native EMAIL_OTP.
    pub email_sending_account: String,
    pub email_source_arn: Option<String>,
    pub email_from: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl Fields for UserPoolConfig {
    fn fields(&self) -> Vec<(String, String)> {
        let mut f = vec![
            (
                "accountRecoverySetting".to_owned(),
                self.recovery_mechanism.clone(),
            ),
            (
                "adminCreateUserConfig.allowAdminCreateUserOnly".to_owned(),
                self.allow_admin_create_user_only.to_string(),
            ),
            (
                "autoVerifiedAttributes".to_owned(),
                list(&self.auto_verified_attributes),
            ),
            (
                "deletionProtection".to_owned(),
                self.deletion_protection.clone(),
            ),
            (
                "emailConfiguration.emailSendingAccount".to_owned(),
                self.email_sending_account.clone(),
            ),
            ("emailConfiguration.from".to_owned(), opt(&self.email_from)),
            (
                "emailConfiguration.sourceArn".to_owned(),
                opt(&self.email_source_arn),
            ),
            (
                "lambdaConfig.createAuthChallenge".to_owned(),
                opt(&self.create_auth_challenge),
            ),
            (
                "lambdaConfig.defineAuthChallenge".to_owned(),
                opt(&self.define_auth_challenge),
            ),
            (
                "lambdaConfig.postAuthentication".to_owned(),
                opt(&self.post_authentication),
            ),
            ("lambdaConfig.preSignUp".to_owned(), opt(&self.pre_sign_up)),
            (
                "lambdaConfig.verifyAuthChallengeResponse".to_owned(),
                opt(&self.verify_auth_challenge_response),
            ),
            ("mfaConfiguration".to_owned(), self.mfa.clone()),
            (
                "policies.signInPolicy.allowedFirstAuthFactors".to_owned(),
                list(&self.allowed_first_auth_factors),
            ),
            ("userPoolTier".to_owned(), self.tier.clone()),
            (
                "webAuthnRelyingPartyId".to_owned(),
                opt(&self.web_authn_relying_party_id),
            ),
        ];
        for (k, v) in &self.tags {
            f.push((format!("tags.{k}"), v.clone()));
        }
        f.sort();
        f
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientConfig {
    pub name: String,
    pub explicit_auth_flows: Vec<String>,
    pub prevent_user_existence_errors: String,
    pub enable_token_revocation: bool,
    pub access_token_validity_minutes: i32,
    pub id_token_validity_minutes: i32,
    pub refresh_token_validity_days: i32,
    pub auth_session_validity_minutes: i32,
    /// The attributes a signed-in user may change through this client: never `email` or
    /// `phone_number`, which a sign-in proves.
    pub write_attributes: Vec<String>,
    /// Managed login's OAuth settings; all empty (and off) without `spec.managedLogin`.
    pub oauth: OAuthConfig,
}

/// The app client's OAuth settings for managed login.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OAuthConfig {
    /// `AllowedOAuthFlowsUserPoolClient`: the client may use the OAuth endpoints at all.
    pub enabled: bool,
    /// Only `code` (PKCE is the app's side of it); never `implicit`.
    pub flows: Vec<String>,
    pub scopes: Vec<String>,
    /// In spec order (the first is the one `signInUrl` names); compared as a set, as
    /// Cognito does not promise to keep the order.
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
    pub identity_providers: Vec<String>,
}

/// The user pool domain that serves managed login.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainConfig {
    /// The prefix, or the custom domain's host name.
    pub domain: String,
    /// Set exactly for a custom domain.
    pub certificate_arn: Option<String>,
    pub managed_login_version: i32,
    /// Observed only: the operator's other domains on the pool, all to be deleted (so never
    /// any in the desired state).
    pub others: Vec<String>,
    /// Observed only, for a custom domain: the CloudFront host its DNS record must point at.
    /// Not a setting, so not among the fields.
    pub cloud_front_distribution: Option<String>,
    /// Observed only: Cognito's `Status` (`CREATING`, `ACTIVE`, `FAILED`, ...). Not a setting.
    pub status: Option<String>,
}

/// Cognito's status of a domain that serves its pages.
pub const DOMAIN_ACTIVE: &str = "ACTIVE";
/// Cognito's status of a domain that will not serve them without a fix.
pub const DOMAIN_FAILED: &str = "FAILED";

impl DomainConfig {
    /// The host the pages are served at.
    pub fn host(&self, region: &str) -> String {
        match self.certificate_arn {
            Some(_) => self.domain.clone(),
            None => format!("{}.auth.{region}.amazoncognito.com", self.domain),
        }
    }
}

impl Fields for DomainConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![
            ("certificateArn".into(), opt(&self.certificate_arn)),
            ("domain".into(), self.domain.clone()),
            (
                "managedLoginVersion".into(),
                self.managed_login_version.to_string(),
            ),
            ("otherDomains".into(), list(&self.others)),
        ]
    }
}

/// The app client's managed login style. The operator makes sure one is assigned (Cognito's
/// own look); how it looks after that is the branding designer's business, never reset.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginStyleConfig;

impl Fields for LoginStyleConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![("assigned".into(), "true".into())]
    }
}

impl Fields for ClientConfig {
    fn fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![
            (
                "accessTokenValidity".into(),
                format!("{}m", self.access_token_validity_minutes),
            ),
            (
                "authSessionValidity".into(),
                format!("{}m", self.auth_session_validity_minutes),
            ),
            (
                "enableTokenRevocation".into(),
                self.enable_token_revocation.to_string(),
            ),
            ("explicitAuthFlows".into(), list(&self.explicit_auth_flows)),
            (
                "idTokenValidity".into(),
                format!("{}m", self.id_token_validity_minutes),
            ),
            (
                "preventUserExistenceErrors".into(),
                self.prevent_user_existence_errors.clone(),
            ),
            (
                "refreshTokenValidity".into(),
                format!("{}d", self.refresh_token_validity_days),
            ),
            ("writeAttributes".into(), list(&self.write_attributes)),
            (
                "allowedOAuthFlowsUserPoolClient".into(),
                self.oauth.enabled.to_string(),
            ),
            ("allowedOAuthFlows".into(), list(&self.oauth.flows)),
            ("allowedOAuthScopes".into(), list(&self.oauth.scopes)),
            ("callbackUrls".into(), list(&self.oauth.callback_urls)),
            ("logoutUrls".into(), list(&self.oauth.logout_urls)),
            (
                "supportedIdentityProviders".into(),
                list(&self.oauth.identity_providers),
            ),
        ];
        fields.sort();
        fields
    }
}

//! The app client: the sign-in flow (custom auth or USER_AUTH), token lifetimes, what a user
//! may write, and managed login's OAuth settings.

use super::fields::{Fields, list};
use crate::names::StackNames;
use crate::validate::ValidatedSpec;

/// What a signed-in user may change about themselves: Cognito's standard attributes but the
/// ones a sign-in proves (`email`, `phone_number`), so nobody can swap in an address they
/// never received a link or code at.
pub const WRITABLE_ATTRIBUTES: [&str; 15] = [
    "address",
    "birthdate",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

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

pub(super) fn desired(spec: &ValidatedSpec, names: &StackNames) -> ClientConfig {
    let flow = if spec.native.is_some() {
        "ALLOW_USER_AUTH"
    } else {
        "ALLOW_CUSTOM_AUTH"
    };
    ClientConfig {
        name: names.client.clone(),
        explicit_auth_flows: vec![flow.to_owned(), "ALLOW_REFRESH_TOKEN_AUTH".to_owned()],
        prevent_user_existence_errors: "ENABLED".to_owned(),
        enable_token_revocation: true,
        access_token_validity_minutes: spec.client.access_token_validity_minutes as i32,
        id_token_validity_minutes: spec.client.id_token_validity_minutes as i32,
        refresh_token_validity_days: spec.client.refresh_token_validity_days as i32,
        auth_session_validity_minutes: spec.client.auth_session_validity_minutes as i32,
        write_attributes: WRITABLE_ATTRIBUTES.map(str::to_owned).to_vec(),
        oauth: oauth_config(spec),
    }
}

/// The client's OAuth settings: the authorization-code flow (with PKCE, the app's side) on
/// Cognito's own sign-in, only with `spec.managedLogin`.
fn oauth_config(spec: &ValidatedSpec) -> OAuthConfig {
    let Some(login) = &spec.managed_login else {
        return OAuthConfig::default();
    };
    OAuthConfig {
        enabled: true,
        flows: vec!["code".to_owned()],
        scopes: login.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        callback_urls: login.callback_urls.clone(),
        logout_urls: login.logout_urls.clone(),
        identity_providers: vec!["COGNITO".to_owned()],
    }
}

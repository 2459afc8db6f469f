//! The app client. Every UpdateUserPoolClient carries the whole configuration: AWS resets any
//! field an update omits.

use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, OAuthFlowType, PreventUserExistenceErrorTypes, TimeUnitsType,
    TokenValidityUnitsType,
};

use super::sent_once;
use crate::aws::{AwsError, Clients, Found, Paced, RESOURCE_NOT_FOUND};
use crate::desired::{ClientConfig, OAuthConfig};

/// The id of the app client named `name`, if present.
pub async fn find_client(c: &Clients, pool: &str, name: &str) -> Result<Option<String>, AwsError> {
    let mut token = None;
    loop {
        let out = c
            .cognito
            .list_user_pool_clients()
            .user_pool_id(pool)
            .max_results(60)
            .set_next_token(token)
            .send()
            .paced(c, "cognito-idp:ListUserPoolClients")
            .await?;
        if let Some(found) = out
            .user_pool_clients()
            .iter()
            .find(|cl| cl.client_name() == Some(name))
        {
            return Ok(found.client_id().map(str::to_owned));
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(None);
        }
    }
}

fn minutes(value: Option<i32>, unit: Option<&TimeUnitsType>) -> i32 {
    let v = value.unwrap_or_default();
    match unit.map(TimeUnitsType::as_str) {
        Some("seconds") => v / 60,
        Some("hours") => v * 60,
        Some("days") => v * 1440,
        _ => v,
    }
}

pub async fn observe_client(
    c: &Clients,
    pool: &str,
    id: &str,
    desired: &ClientConfig,
) -> Result<Option<ClientConfig>, AwsError> {
    let described = c
        .cognito
        .describe_user_pool_client()
        .user_pool_id(pool)
        .client_id(id)
        .send();
    let Some(out) = described
        .paced(c, "cognito-idp:DescribeUserPoolClient")
        .await
        .found(RESOURCE_NOT_FOUND)?
    else {
        return Ok(None);
    };
    let Some(cl) = out.user_pool_client() else {
        return Ok(None);
    };
    let units = cl.token_validity_units();
    let refresh_minutes = minutes(
        Some(cl.refresh_token_validity()),
        Some(
            units
                .and_then(|u| u.refresh_token())
                .unwrap_or(&TimeUnitsType::Days),
        ),
    );
    Ok(Some(ClientConfig {
        name: cl.client_name().unwrap_or_default().to_owned(),
        explicit_auth_flows: cl
            .explicit_auth_flows()
            .iter()
            .map(|f| f.as_str().to_owned())
            .collect(),
        prevent_user_existence_errors: cl
            .prevent_user_existence_errors()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| desired.prevent_user_existence_errors.clone()),
        enable_token_revocation: cl
            .enable_token_revocation()
            .unwrap_or(desired.enable_token_revocation),
        access_token_validity_minutes: minutes(
            cl.access_token_validity(),
            Some(
                units
                    .and_then(|u| u.access_token())
                    .unwrap_or(&TimeUnitsType::Hours),
            ),
        ),
        id_token_validity_minutes: minutes(
            cl.id_token_validity(),
            Some(
                units
                    .and_then(|u| u.id_token())
                    .unwrap_or(&TimeUnitsType::Hours),
            ),
        ),
        refresh_token_validity_days: refresh_minutes / 1440,
        auth_session_validity_minutes: cl
            .auth_session_validity()
            .unwrap_or(desired.auth_session_validity_minutes),
        write_attributes: cl.write_attributes().to_vec(),
        oauth: OAuthConfig {
            enabled: cl.allowed_o_auth_flows_user_pool_client().unwrap_or(false),
            flows: cl
                .allowed_o_auth_flows()
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect(),
            scopes: cl.allowed_o_auth_scopes().to_vec(),
            callback_urls: cl.callback_urls().to_vec(),
            logout_urls: cl.logout_urls().to_vec(),
            identity_providers: cl.supported_identity_providers().to_vec(),
        },
    }))
}

fn flows(cl: &ClientConfig) -> Vec<ExplicitAuthFlowsType> {
    cl.explicit_auth_flows
        .iter()
        .map(|f| ExplicitAuthFlowsType::from(f.as_str()))
        .collect()
}

fn units() -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .access_token(TimeUnitsType::Minutes)
        .id_token(TimeUnitsType::Minutes)
        .refresh_token(TimeUnitsType::Days)
        .build()
}

fn oauth_flows(o: &OAuthConfig) -> Vec<OAuthFlowType> {
    o.flows
        .iter()
        .map(|f| OAuthFlowType::from(f.as_str()))
        .collect()
}

/// Every client setting the operator manages, on a create or an update request alike (an update
/// resets whatever it omits; the OAuth lists are sent even when empty, so turning managed login
/// off clears them on any implementation).
macro_rules! client_settings {
    ($builder:expr, $cl:expr) => {
        $builder
            .client_name(&$cl.name)
            .set_explicit_auth_flows(Some(flows($cl)))
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::from(
                $cl.prevent_user_existence_errors.as_str(),
            ))
            .enable_token_revocation($cl.enable_token_revocation)
            .access_token_validity($cl.access_token_validity_minutes)
            .id_token_validity($cl.id_token_validity_minutes)
            .refresh_token_validity($cl.refresh_token_validity_days)
            .token_validity_units(units())
            .auth_session_validity($cl.auth_session_validity_minutes)
            .set_write_attributes(Some($cl.write_attributes.clone()))
            .allowed_o_auth_flows_user_pool_client($cl.oauth.enabled)
            .set_allowed_o_auth_flows(Some(oauth_flows(&$cl.oauth)))
            .set_allowed_o_auth_scopes(Some($cl.oauth.scopes.clone()))
            .set_callback_urls(Some($cl.oauth.callback_urls.clone()))
            .set_logout_urls(Some($cl.oauth.logout_urls.clone()))
            .set_supported_identity_providers(Some($cl.oauth.identity_providers.clone()))
    };
}

/// Creates the app client (no secret); returns its id.
pub async fn create_client(c: &Clients, pool: &str, cl: &ClientConfig) -> Result<String, AwsError> {
    let out = c
        .cognito
        .create_user_pool_client()
        .user_pool_id(pool)
        .generate_secret(false);
    let out = client_settings!(out, cl)
        .customize()
        .config_override(sent_once())
        .send()
        .paced(c, "cognito-idp:CreateUserPoolClient")
        .await?;
    Ok(out
        .user_pool_client()
        .and_then(|c| c.client_id())
        .unwrap_or_default()
        .to_owned())
}

pub async fn update_client(
    c: &Clients,
    pool: &str,
    id: &str,
    cl: &ClientConfig,
) -> Result<(), AwsError> {
    let update = c
        .cognito
        .update_user_pool_client()
        .user_pool_id(pool)
        .client_id(id);
    client_settings!(update, cl)
        .send()
        .paced(c, "cognito-idp:UpdateUserPoolClient")
        .await?;
    Ok(())
}

pub async fn delete_client(c: &Clients, pool: &str, id: &str) -> Result<(), AwsError> {
    let deleted = c
        .cognito
        .delete_user_pool_client()
        .user_pool_id(pool)
        .client_id(id)
        .send();
    deleted
        .paced(c, "cognito-idp:DeleteUserPoolClient")
        .await
        .found(RESOURCE_NOT_FOUND)?;
    Ok(())
}

//! The app client's managed login style (the pages show an error for a client without one).

use crate::aws::{AwsError, Clients, Found, Paced, RESOURCE_NOT_FOUND};

/// The id of the client's style, if it has one.
pub async fn find_style(c: &Clients, pool: &str, client: &str) -> Result<Option<String>, AwsError> {
    let described = c
        .cognito
        .describe_managed_login_branding_by_client()
        .user_pool_id(pool)
        .client_id(client)
        .send();
    let out = described
        .paced(c, "cognito-idp:DescribeManagedLoginBrandingByClient")
        .await
        .found(RESOURCE_NOT_FOUND)?;
    Ok(out.and_then(|out| {
        out.managed_login_branding()
            .and_then(|b| b.managed_login_branding_id())
            .map(str::to_owned)
    }))
}

/// Assigns Cognito's own style to the client; returns its id.
pub async fn create_style(c: &Clients, pool: &str, client: &str) -> Result<String, AwsError> {
    let created = c
        .cognito
        .create_managed_login_branding()
        .user_pool_id(pool)
        .client_id(client)
        .use_cognito_provided_values(true)
        .send();
    let out = created
        .paced(c, "cognito-idp:CreateManagedLoginBranding")
        .await?;
    Ok(out
        .managed_login_branding()
        .and_then(|b| b.managed_login_branding_id())
        .unwrap_or_default()
        .to_owned())
}

pub async fn delete_style(c: &Clients, pool: &str, id: &str) -> Result<(), AwsError> {
    let deleted = c
        .cognito
        .delete_managed_login_branding()
        .user_pool_id(pool)
        .managed_login_branding_id(id)
        .send();
    deleted
        .paced(c, "cognito-idp:DeleteManagedLoginBranding")
        .await
        .found(RESOURCE_NOT_FOUND)?;
    Ok(())
}

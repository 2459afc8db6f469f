//! Managed login: the user pool domain that serves Cognito's sign-in pages, and the app
//! client's style (the pages show an error for a client without one).

use aws_sdk_cognitoidentityprovider::types::CustomDomainConfigType;

use super::{AwsError, Clients, Found, Paced, RESOURCE_NOT_FOUND};
use crate::desired::DomainConfig;

/// The domain `name` if it belongs to `pool`; `None` if it does not exist. A domain of another
/// pool is an error naming it (prefixes are unique per region across all accounts).
pub async fn observe_domain(
    c: &Clients,
    pool: &str,
    name: &str,
) -> Result<Result<Option<DomainConfig>, String>, AwsError> {
    let described = c.cognito.describe_user_pool_domain().domain(name).send();
    let out = described
        .paced(c, "cognito-idp:DescribeUserPoolDomain")
        .await?;
    // AWS answers an unknown domain with an empty description, not an error.
    let Some(d) = out.domain_description().filter(|d| d.domain().is_some()) else {
        return Ok(Ok(None));
    };
    match d.user_pool_id() {
        Some(owner) if owner == pool => {}
        _ => {
            return Ok(Err(format!(
                "the domain {name} is taken by another user pool"
            )));
        }
    }
    let certificate_arn = d
        .custom_domain_config()
        .map(|c| c.certificate_arn().to_owned())
        .filter(|arn| !arn.is_empty());
    Ok(Ok(Some(DomainConfig {
        domain: name.to_owned(),
        certificate_arn: certificate_arn.clone(),
        managed_login_version: d.managed_login_version().unwrap_or(1),
        others: Vec::new(),
        cloud_front_distribution: d
            .cloud_front_distribution()
            .filter(|c| !c.is_empty() && certificate_arn.is_some())
            .map(str::to_owned),
        status: d.status().map(|s| s.as_str().to_owned()),
    })))
}

fn custom_config(d: &DomainConfig) -> Result<Option<CustomDomainConfigType>, AwsError> {
    d.certificate_arn
        .as_ref()
        .map(|arn| {
            CustomDomainConfigType::builder()
                .certificate_arn(arn)
                .build()
                .map_err(|e| AwsError::Unexpected(e.to_string()))
        })
        .transpose()
}

/// Everything a domain's create and update share: the name, the certificate of a custom
/// domain, the managed login version.
macro_rules! domain_settings {
    ($builder:expr, $pool:expr, $d:expr) => {
        $builder
            .user_pool_id($pool)
            .domain(&$d.domain)
            .set_custom_domain_config(custom_config($d)?)
            .managed_login_version($d.managed_login_version)
    };
}

pub async fn create_domain(c: &Clients, pool: &str, d: &DomainConfig) -> Result<(), AwsError> {
    let created = domain_settings!(c.cognito.create_user_pool_domain(), pool, d).send();
    created.paced(c, "cognito-idp:CreateUserPoolDomain").await?;
    Ok(())
}

/// The certificate (custom domains) and the managed login version; the name cannot change.
pub async fn update_domain(c: &Clients, pool: &str, d: &DomainConfig) -> Result<(), AwsError> {
    let updated = domain_settings!(c.cognito.update_user_pool_domain(), pool, d).send();
    updated.paced(c, "cognito-idp:UpdateUserPoolDomain").await?;
    Ok(())
}

pub async fn delete_domain(c: &Clients, pool: &str, name: &str) -> Result<(), AwsError> {
    let deleted = c
        .cognito
        .delete_user_pool_domain()
        .user_pool_id(pool)
        .domain(name)
        .send();
    deleted
        .paced(c, "cognito-idp:DeleteUserPoolDomain")
        .await
        .found(RESOURCE_NOT_FOUND)?;
    Ok(())
}

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

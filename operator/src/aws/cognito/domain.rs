//! The user pool domain that serves Cognito's managed login pages.

use aws_sdk_cognitoidentityprovider::types::CustomDomainConfigType;

use crate::aws::{AwsError, Clients, Found, Paced, RESOURCE_NOT_FOUND, built};
use crate::desired::DomainConfig;

/// What DescribeUserPoolDomain says of a domain name.
#[derive(Debug)]
pub enum DomainSeen {
    Absent,
    Ours(DomainConfig),
    /// Another user pool's (prefixes are unique per region across all accounts).
    Taken,
}

/// The domain `name`, as `pool` may see it.
pub async fn observe_domain(c: &Clients, pool: &str, name: &str) -> Result<DomainSeen, AwsError> {
    let described = c.cognito.describe_user_pool_domain().domain(name).send();
    let out = described
        .paced(c, "cognito-idp:DescribeUserPoolDomain")
        .await?;
    // AWS answers an unknown domain with an empty description, not an error.
    let Some(d) = out.domain_description().filter(|d| d.domain().is_some()) else {
        return Ok(DomainSeen::Absent);
    };
    match d.user_pool_id() {
        Some(owner) if owner == pool => {}
        _ => return Ok(DomainSeen::Taken),
    }
    let certificate_arn = d
        .custom_domain_config()
        .map(|c| c.certificate_arn().to_owned())
        .filter(|arn| !arn.is_empty());
    Ok(DomainSeen::Ours(DomainConfig {
        domain: name.to_owned(),
        certificate_arn: certificate_arn.clone(),
        managed_login_version: d.managed_login_version().unwrap_or(1),
        others: Vec::new(),
        cloud_front_distribution: d
            .cloud_front_distribution()
            .filter(|c| !c.is_empty() && certificate_arn.is_some())
            .map(str::to_owned),
        status: d.status().map(|s| s.as_str().to_owned()),
    }))
}

fn custom_config(d: &DomainConfig) -> Result<Option<CustomDomainConfigType>, AwsError> {
    d.certificate_arn
        .as_ref()
        .map(|arn| {
            built(
                CustomDomainConfigType::builder()
                    .certificate_arn(arn)
                    .build(),
            )
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

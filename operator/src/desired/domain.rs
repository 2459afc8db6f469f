//! The user pool domain that serves managed login: a prefix, or a custom domain.

use super::fields::{Fields, list, opt};
use crate::crd::MANAGED_LOGIN_VERSION;
use crate::validate::ValidatedSpec;

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

pub(super) fn desired(spec: &ValidatedSpec) -> Option<DomainConfig> {
    let m = spec.managed_login.as_ref()?;
    Some(DomainConfig {
        domain: m
            .custom_domain
            .as_ref()
            .map(|c| c.domain_name.clone())
            .or_else(|| m.domain_prefix.clone())
            .unwrap_or_default(),
        certificate_arn: m.custom_domain.as_ref().map(|c| c.certificate_arn.clone()),
        managed_login_version: MANAGED_LOGIN_VERSION,
        others: Vec::new(),
        cloud_front_distribution: None,
        status: None,
    })
}

//! The WAF web ACL in front of the user pool (`spec.rateLimit`).

use super::Facts;
use super::fields::Fields;
use crate::names::StackNames;
use crate::validate::ValidatedSpec;

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

pub(super) fn desired(
    spec: &ValidatedSpec,
    names: &StackNames,
    facts: &Facts,
) -> Option<WebAclConfig> {
    let rate = spec.rate_limit.as_ref()?;
    Some(WebAclConfig {
        name: names.web_acl.clone(),
        rate_limit: rate.requests_per_five_minutes,
        associated_with: facts
            .user_pool_arn()
            .unwrap_or_else(|| "(known after apply)".to_owned()),
    })
}

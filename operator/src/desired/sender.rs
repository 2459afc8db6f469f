//! The SES identity the sign-in mail is sent from.

use super::Facts;
use crate::crd::SenderIdentity;
use crate::validate::ValidatedSpec;

#[derive(Debug, Clone, PartialEq)]
pub struct SenderConfig {
    /// The SES identity: the address, or its domain.
    pub identity: String,
    /// Its ARN, in the pool's account and region.
    pub arn: String,
}

/// The SES identity for a sender: the address itself, or its domain.
pub(super) fn desired(spec: &ValidatedSpec, facts: &Facts) -> Option<SenderConfig> {
    let sender = spec.sender.as_ref()?;
    let identity = match sender.identity {
        SenderIdentity::Address => sender.address.clone(),
        SenderIdentity::Domain => sender
            .address
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default(),
    };
    Some(SenderConfig {
        arn: facts.ses_identity_arn(&identity),
        identity,
    })
}

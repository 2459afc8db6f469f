//! The SES sender identity: find, or create (which starts verification). Never deleted by the
//! operator: it may serve other pools, and verifying it took a human.

use std::collections::BTreeMap;

use aws_sdk_sesv2::types::Tag;

use super::{AwsError, Clients, call_error, code_of};
use crate::names::{MANAGED_BY, MANAGED_BY_TAG, VERIFICATION_SENT_TAG};
use crate::observed::SenderObserved;
use crate::state::unix_now;

pub async fn observe(c: &Clients, identity: &str) -> Result<Option<SenderObserved>, AwsError> {
    match c
        .ses
        .get_email_identity()
        .email_identity(identity)
        .send()
        .await
    {
        Ok(out) => Ok(Some(SenderObserved {
            identity: identity.to_owned(),
            ours: out
                .tags()
                .iter()
                .any(|t| t.key() == MANAGED_BY_TAG && t.value() == MANAGED_BY),
            verification_sent_at: out
                .tags()
                .iter()
                .find(|t| t.key() == VERIFICATION_SENT_TAG)
                .and_then(|t| t.value().parse().ok()),
            resend_due: false,
            verification_status: out
                .verification_status()
                .map(|s| match s.as_str() {
                    "SUCCESS" => "Success",
                    "PENDING" => "Pending",
                    "FAILED" => "Failed",
                    "TEMPORARY_FAILURE" => "TemporaryFailure",
                    _ => "NotStarted",
                })
                .unwrap_or(if out.verified_for_sending_status() {
                    "Success"
                } else {
                    "Pending"
                })
                .to_owned(),
            dkim_tokens: if identity.contains('@') {
                Vec::new()
            } else {
                out.dkim_attributes()
                    .map(|d| d.tokens().to_vec())
                    .unwrap_or_default()
            },
        })),
        Err(e) if code_of(&e) == Some("NotFoundException") => Ok(None),
        Err(e) => Err(call_error("ses:GetEmailIdentity", e)),
    }
}

/// Creates the identity, which has SES send its verification link (an address) or start
/// looking for its DKIM records (a domain); the time is tagged, for [`restart_verification`].
pub async fn create(
    c: &Clients,
    identity: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let mut tags = tags.clone();
    tags.insert(VERIFICATION_SENT_TAG.to_owned(), unix_now().to_string());
    let tags = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>();
    let tags = tags.map_err(|e| AwsError::Unexpected(e.to_string()))?;
    match c
        .ses
        .create_email_identity()
        .email_identity(identity)
        .set_tags(Some(tags))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // Created meanwhile (another pool, or a retry after a crash): found, not an error.
        Err(e) if code_of(&e) == Some("AlreadyExistsException") => Ok(()),
        Err(e) => Err(call_error("ses:CreateEmailIdentity", e)),
    }
}

/// SES's only way to send an address a new verification link once the first expired: the
/// identity deleted and created again (it verified nothing, so nothing sends as it meanwhile).
/// Resumes after a crash in between: the next pass finds it missing and creates it.
pub async fn restart_verification(
    c: &Clients,
    identity: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    match c
        .ses
        .delete_email_identity()
        .email_identity(identity)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if code_of(&e) == Some("NotFoundException") => {}
        Err(e) => return Err(call_error("ses:DeleteEmailIdentity", e)),
    }
    create(c, identity, tags).await
}

//! The SES sender identity: find, or create (which starts verification). Never deleted by the
//! operator: it may serve other pools, and verifying it took a human.

use std::collections::BTreeMap;

use aws_sdk_sesv2::types::Tag;

use super::{AwsError, Clients, call_error, code_of};
use crate::names::{VERIFICATION_RESENDS_TAG, VERIFICATION_SENT_TAG};
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
            tags: out
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
            ours: false,
            verification_sent_at: tag_number(out.tags(), VERIFICATION_SENT_TAG),
            resends: tag_number(out.tags(), VERIFICATION_RESENDS_TAG).unwrap_or(0),
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

/// A tag's number, if it holds one.
fn tag_number<N: std::str::FromStr>(tags: &[Tag], key: &str) -> Option<N> {
    tags.iter()
        .find(|t| t.key() == key)
        .and_then(|t| t.value().parse().ok())
}

/// Has SES send an address whose link expired a new one (SES v1's `VerifyEmailIdentity`, the
/// one call that does so for an existing identity: nothing is deleted, its settings stay), then
/// records when and how many on the identity. Were the tagging to fail after the send, the next
/// pass would send once more, no more.
pub async fn resend_verification(
    c: &Clients,
    identity: &str,
    arn: &str,
    resends: u32,
) -> Result<(), AwsError> {
    c.ses_v1
        .verify_email_identity()
        .email_address(identity)
        .send()
        .await
        .map_err(|e| call_error("ses:VerifyEmailIdentity", e))?;
    let tags = [
        (VERIFICATION_SENT_TAG, unix_now().to_string()),
        (VERIFICATION_RESENDS_TAG, (resends + 1).to_string()),
    ];
    let tags = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AwsError::Unexpected(e.to_string()))?;
    c.ses
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| call_error("ses:TagResource", e))?;
    Ok(())
}

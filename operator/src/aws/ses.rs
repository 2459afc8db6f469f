//! The SES sender identity: find, or create (which starts verification). Never deleted by the
//! operator: it may serve other pools, and verifying it took a human.

use std::collections::BTreeMap;

use aws_sdk_sesv2::types::Tag;

use super::{AwsError, Clients, call_error, code_of};
use crate::observed::SenderObserved;

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

pub async fn create(
    c: &Clients,
    identity: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
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

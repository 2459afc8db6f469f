//! The SES sender identity: find, or create (which starts verification). Never deleted by the
//! operator: it may serve other pools, and verifying it took a human.

use std::collections::BTreeMap;

use aws_sdk_sesv2::types::Tag;

use super::{AwsError, Clients, Found, Sent, built};
use crate::names::{VERIFICATION_RESENDS_TAG, VERIFICATION_SENT_TAG};
use crate::observed::SenderObserved;
use crate::state::unix_now;

pub async fn observe(c: &Clients, identity: &str) -> Result<Option<SenderObserved>, AwsError> {
    let read = c.ses.get_email_identity().email_identity(identity).send();
    let found = read
        .sent("ses:GetEmailIdentity")
        .await
        .found("NotFoundException")?;
    Ok(found.map(|out| SenderObserved {
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
    }))
}

/// Creates the identity, which has SES send its verification link (an address) or start
/// looking for its DKIM records (a domain); the time is tagged, for [`resend_verification`].
pub async fn create(
    c: &Clients,
    identity: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let sent_at = (VERIFICATION_SENT_TAG.to_owned(), unix_now().to_string());
    let tags = ses_tags(
        tags.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain([sent_at]),
    )?;
    let created = c
        .ses
        .create_email_identity()
        .email_identity(identity)
        .set_tags(Some(tags))
        .send()
        .sent("ses:CreateEmailIdentity")
        .await;
    // Created meanwhile (another pool, or a retry after a crash): found, not an error.
    created.found("AlreadyExistsException")?;
    Ok(())
}

/// A tag's number, if it holds one.
fn tag_number<N: std::str::FromStr>(tags: &[Tag], key: &str) -> Option<N> {
    tags.iter()
        .find(|t| t.key() == key)
        .and_then(|t| t.value().parse().ok())
}

fn ses_tags(tags: impl IntoIterator<Item = (String, String)>) -> Result<Vec<Tag>, AwsError> {
    built(
        tags.into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect(),
    )
}

/// Has SES send an address whose link expired a new one (SES v1's `VerifyEmailIdentity`, the
/// one call that does so for an existing identity: nothing is deleted, its settings stay). The
/// attempt is recorded on the identity first (when, and how many), so a send that fails or
/// whose answer is lost is not tried again before the day is out: an address is never mailed
/// twice in a day, whatever fails.
pub async fn resend_verification(
    c: &Clients,
    identity: &str,
    arn: &str,
    resends: u32,
) -> Result<(), AwsError> {
    let tags = ses_tags([
        (VERIFICATION_SENT_TAG.to_owned(), unix_now().to_string()),
        (
            VERIFICATION_RESENDS_TAG.to_owned(),
            (resends + 1).to_string(),
        ),
    ])?;
    let tagged = c.ses.tag_resource().resource_arn(arn).set_tags(Some(tags));
    tagged.send().sent("ses:TagResource").await?;
    let link = c.ses_v1.verify_email_identity().email_address(identity);
    link.send().sent("ses:VerifyEmailIdentity").await?;
    Ok(())
}

//! The SES identity that sends sign-in email. It may serve other pools and its verification
//! took a person, so it is created when missing and never deleted. An address this pool created
//! whose link expired unclicked is sent a new link, at most once a day and three times.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, step};
use crate::aws;
use crate::desired::DesiredStack;
use crate::names::{Ownership, StackNames};
use crate::observed::{ObservedIds, ObservedStack};
use crate::state::unix_now;

/// The one field the sender identity is compared on: whether its verification link still
/// stands, or expired and is due again (then the update has SES send a new one).
const VERIFICATION: &str = "verification";

pub struct SenderIdentity;

impl Resource for SenderIdentity {
    fn label(&self) -> &'static str {
        labels::SENDER_IDENTITY
    }

    fn name(&self, _: &StackNames, desired: &DesiredStack) -> String {
        desired
            .sender
            .as_ref()
            .map(|s| s.identity.clone())
            .unwrap_or_default()
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        d.sender
            .as_ref()
            .map(|_| vec![(VERIFICATION.to_owned(), "requested".to_owned())])
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.sender.as_ref().map(|s| {
            let state = if s.resend_due { "expired" } else { "requested" };
            vec![(VERIFICATION.to_owned(), state.to_owned())]
        })
    }

    fn kept(&self) -> bool {
        true
    }
}

impl StackResource for SenderIdentity {
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            if let Some(sender) = &cx.desired.sender {
                into.sender = aws::ses::observe(cx.c, &sender.identity)
                    .await?
                    .map(|mut found| {
                        let tags = found.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                        found.ours = cx.names.ownership(tags) == Ownership::Ours;
                        found.resend_due = found.resend_due_at(unix_now());
                        found
                    });
            }
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(sender) = &p.desired.sender {
                aws::ses::create(p.c, &sender.identity, &p.desired.tags).await?;
            }
            Ok(())
        })
    }

    /// Sends an expired address a new link. The attempt is recorded first (a failure to record
    /// it fails the pass); the link itself is best effort: a refusal (say, an operator upgraded
    /// before its IAM policy) is logged, the status keeps saying the identity failed, and the
    /// rest of the pass goes on without asking again before the day is out.
    fn update<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            let (Some(sender), Some(found)) = (&p.desired.sender, &p.observed.sender) else {
                return Ok(());
            };
            let sent =
                aws::ses::resend_verification(p.c, &sender.identity, &sender.arn, found.resends);
            match sent.await {
                Err(
                    e @ aws::AwsError::Call {
                        operation: "ses:VerifyEmailIdentity",
                        ..
                    },
                ) => {
                    tracing::warn!(identity = %sender.identity, error = %e, "a new verification link could not be sent");
                    Ok(())
                }
                other => Ok(other?),
            }
        })
    }

    fn delete<'a>(&'a self, _: &'a Pass<'a>) -> Step<'a> {
        step(async { Ok(()) })
    }
}

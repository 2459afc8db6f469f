//! The SES identity that sends sign-in email. It may serve other pools and its verification
//! took a person, so it is created when missing and never deleted; but an address the operator
//! created whose link expired unclicked is deleted and created again at once (SES's way to send
//! a new link), at most once a day.

use super::{FieldList, Observing, Pass, StackResource, Step, labels, step};
use crate::aws;
use crate::desired::DesiredStack;
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};
use crate::state::unix_now;

/// The one field the sender identity is compared on: whether its verification link still
/// stands, or expired and is due again (then the update restarts verification).
const VERIFICATION: &str = "verification";

pub struct SenderIdentity;

impl StackResource for SenderIdentity {
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

    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            if let Some(sender) = &cx.desired.sender {
                into.sender = aws::ses::observe(cx.c, &sender.identity)
                    .await?
                    .map(|mut found| {
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

    fn update<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(sender) = &p.desired.sender {
                aws::ses::restart_verification(p.c, &sender.identity, &p.desired.tags).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, _: &'a Pass<'a>) -> Step<'a> {
        step(async { Ok(()) })
    }
}

//! The SES identity that sends sign-in email. It may serve other pools and its verification
//! took a person, so it is created when missing and never deleted.

use super::{FieldList, Observing, Pass, StackResource, Step, labels, step};
use crate::aws;
use crate::desired::DesiredStack;
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};

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
        d.sender.as_ref().map(|_| Vec::new())
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.sender.as_ref().map(|_| Vec::new())
    }

    fn kept(&self) -> bool {
        true
    }

    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            if let Some(sender) = &cx.desired.sender {
                into.sender = aws::ses::observe(cx.c, &sender.identity).await?;
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

    fn update<'a>(&'a self, _: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async { Ok(()) })
    }

    fn delete<'a>(&'a self, _: &'a Pass<'a>) -> Step<'a> {
        step(async { Ok(()) })
    }
}

//! The Secrets Manager secret the trigger reads its signing keys from: out of the function's
//! environment, so `lambda:GetFunctionConfiguration` (which read-only policies grant) cannot
//! forge a link.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, owned, step};
use crate::aws;
use crate::desired::{DesiredStack, Fields};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};

pub struct KeysSecret;

impl Resource for KeysSecret {
    fn label(&self) -> &'static str {
        labels::KEYS_SECRET
    }

    fn name(&self, names: &StackNames, _: &DesiredStack) -> String {
        names.keys_secret.clone()
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        d.keys_secret.as_ref().map(Fields::fields)
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.keys_secret.as_ref().map(Fields::fields)
    }
}

impl StackResource for KeysSecret {
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let name = &cx.names.keys_secret;
            if let Some((secret, tags)) = aws::secrets::observe(cx.c, name).await?
                && owned(cx, &format!("secretsmanager secret {name}"), &tags)?
            {
                into.keys_secret = Some(secret);
            }
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(secret) = &p.desired.keys_secret {
                aws::secrets::create(p.c, secret, &p.desired.tags).await?;
            }
            Ok(())
        })
    }

    fn update<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(secret) = &p.desired.keys_secret {
                let observed = p.observed.keys_secret.as_ref();
                let restore = observed.is_some_and(|s| s.scheduled_for_deletion);
                aws::secrets::update(p.c, secret, restore).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            aws::secrets::delete(p.c, &p.names.keys_secret).await?;
            Ok(())
        })
    }
}

//! The trigger Lambda function: one function serves every Cognito trigger of the pool.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, owned, step};
use crate::aws::{self, Clients};
use crate::desired::{DesiredStack, Fields, FunctionConfig, VERIFIED_FIELD};
use crate::diff::Change;
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};
use crate::reconcile_error::Error;

pub struct TriggerFunction;

/// Whether a change only asks for the probe again (nothing of the function itself differs).
pub fn only_awaits_probe(change: &Change) -> bool {
    change.resource == labels::TRIGGER_FUNCTION
        && change.fields.iter().all(|f| f.field == VERIFIED_FIELD)
}

impl Resource for TriggerFunction {
    fn label(&self) -> &'static str {
        labels::TRIGGER_FUNCTION
    }

    fn name(&self, names: &StackNames, _: &DesiredStack) -> String {
        names.function.clone()
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        d.function.as_ref().map(Fields::fields)
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.function.as_ref().map(Fields::fields)
    }
}

impl StackResource for TriggerFunction {
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let found = aws::lambda::observe(cx.c, &cx.names.function).await?;
            if let Some((arn, function, tags)) = found
                && owned(cx, &format!("lambda function {}", cx.names.function), &tags)?
            {
                into.ids.function_arn = Some(arn);
                into.function = Some(function);
            }
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(function) = &p.desired.function {
                let arn = aws::lambda::create(p.c, function, p.code, &p.desired.tags).await?;
                ids.function_arn = Some(arn.clone());
                prove_it_starts(p.c, function, &arn).await?;
            }
            Ok(())
        })
    }

    fn update<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let (Some(before), Some(function)) = (&p.observed.function, &p.desired.function) {
                aws::lambda::update(p.c, before, function, p.code).await?;
                let arn = p.observed.ids.function_arn.clone().unwrap_or_default();
                prove_it_starts(p.c, function, &arn).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            aws::lambda::delete(p.c, &p.names.function).await?;
            Ok(())
        })
    }
}

/// One synthetic invocation of the deployed code and configuration before the pool can be Ready;
/// the function is tagged with the configuration's digest only once it answered, so a refusal
/// is probed again (and reported again) on the next apply.
async fn prove_it_starts(c: &Clients, function: &FunctionConfig, arn: &str) -> Result<(), Error> {
    if let Some(reason) = aws::lambda::probe(c, &function.name).await? {
        return Err(Error::TriggerUnhealthy(reason));
    }
    let digest = function
        .verified
        .clone()
        .unwrap_or_else(|| function.digest());
    aws::lambda::mark_verified(c, arn, &digest).await?;
    Ok(())
}

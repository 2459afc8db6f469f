//! The trigger's IAM execution role and its least-privilege inline policy.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, owned, step};
use crate::aws;
use crate::desired::{DesiredStack, Fields};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};

pub struct ExecutionRole;

impl Resource for ExecutionRole {
    fn label(&self) -> &'static str {
        labels::EXECUTION_ROLE
    }

    fn name(&self, names: &StackNames, _: &DesiredStack) -> String {
        names.role.clone()
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        d.role.as_ref().map(Fields::fields)
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.role.as_ref().map(Fields::fields)
    }
}

impl StackResource for ExecutionRole {
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let found = aws::iam::observe(cx.c, &cx.names.role, &cx.names.role_policy).await?;
            if let Some((_, role, tags)) = found
                && owned(cx, &format!("iam role {}", cx.names.role), &tags)?
            {
                into.role = Some(role);
            }
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(role) = &p.desired.role {
                aws::iam::create(p.c, role, &p.desired.tags).await?;
            }
            Ok(())
        })
    }

    fn update<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let (Some(before), Some(role)) = (&p.observed.role, &p.desired.role) {
                aws::iam::update(p.c, before, role).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            aws::iam::delete(p.c, &p.names.role, &p.names.role_policy).await?;
            Ok(())
        })
    }
}

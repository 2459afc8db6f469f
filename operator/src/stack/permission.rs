//! The resource policy statement that lets Cognito (this pool only) invoke the trigger.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, step};
use crate::aws;
use crate::desired::{DesiredStack, Fields, PERMISSION_STATEMENT};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};

pub struct InvokePermission;

impl Resource for InvokePermission {
    fn label(&self) -> &'static str {
        labels::INVOKE_PERMISSION
    }

    fn name(&self, names: &StackNames, _: &DesiredStack) -> String {
        names.function.clone()
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        d.permission.as_ref().map(Fields::fields)
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.permission.as_ref().map(Fields::fields)
    }

    fn needs_pool_id(&self) -> bool {
        true
    }
}

impl StackResource for InvokePermission {
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            if into.function.is_some() {
                into.permission =
                    aws::lambda::observe_permission(cx.c, &cx.names.function, PERMISSION_STATEMENT)
                        .await?;
            }
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(permission) = &p.desired.permission {
                aws::lambda::add_permission(p.c, &p.names.function, permission).await?;
            }
            Ok(())
        })
    }

    /// A statement cannot be edited: it is replaced.
    fn update<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            self.delete(p).await?;
            self.create(p, ids).await
        })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            aws::lambda::remove_permission(p.c, &p.names.function, PERMISSION_STATEMENT).await?;
            Ok(())
        })
    }
}

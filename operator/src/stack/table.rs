//! The DynamoDB table that keeps magic links single-use and enforces the send cooldown.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, owned, step};
use crate::aws;
use crate::desired::{DesiredStack, Fields};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};

pub struct StateTable;

impl Resource for StateTable {
    fn label(&self) -> &'static str {
        labels::STATE_TABLE
    }

    fn name(&self, names: &StackNames, _: &DesiredStack) -> String {
        names.table.clone()
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        d.table.as_ref().map(Fields::fields)
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.table.as_ref().map(Fields::fields)
    }
}

impl StackResource for StateTable {
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let table = aws::table::observe(cx.c, &cx.names.table).await?;
            if let Some(table) = table {
                let tags = aws::table::tags(cx.c, &cx.facts.table_arn(cx.names)).await?;
                if owned(cx, &format!("dynamodb table {}", cx.names.table), &tags)? {
                    into.table = Some(table);
                }
            }
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(table) = &p.desired.table {
                aws::table::create(p.c, table, &p.desired.tags).await?;
            }
            Ok(())
        })
    }

    fn update<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(table) = &p.desired.table {
                aws::table::set_ttl(p.c, table).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            aws::table::delete(p.c, &p.names.table).await?;
            Ok(())
        })
    }
}

//! The app client's managed login style: without one, Cognito's managed login pages show an
//! error instead of the sign-in. The operator assigns Cognito's own look once and never resets
//! a style someone edited in the branding designer.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, step};
use crate::aws;
use crate::desired::{DesiredStack, Fields, LoginStyleConfig};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};

pub struct LoginStyle;

impl Resource for LoginStyle {
    fn label(&self) -> &'static str {
        labels::LOGIN_STYLE
    }

    fn name(&self, names: &StackNames, _: &DesiredStack) -> String {
        format!("{} style", names.client)
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        d.login_style.as_ref().map(Fields::fields)
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.login_style.as_ref().map(|_| LoginStyleConfig.fields())
    }

    fn needs_pool_id(&self) -> bool {
        true
    }
}

impl StackResource for LoginStyle {
    /// Read only where managed login is wanted or was on (the client still has OAuth): other
    /// pools pay nothing.
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let (Some(pool), Some(client)) = (&into.ids.user_pool_id, &into.ids.client_id) else {
                return Ok(());
            };
            let had_oauth = into.client.as_ref().is_some_and(|c| c.oauth.enabled);
            if cx.desired.login_style.is_none() && !had_oauth {
                return Ok(());
            }
            into.login_style = aws::cognito::find_style(cx.c, pool, client).await?;
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let (Some(pool), Some(client)) = (&ids.user_pool_id, &ids.client_id) {
                aws::cognito::create_style(p.c, pool, client).await?;
            }
            Ok(())
        })
    }

    /// Nothing to bring back: its look is not the operator's.
    fn update<'a>(&'a self, _: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async { Ok(()) })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            if let (Some(pool), Some(id)) = (&p.observed.ids.user_pool_id, &p.observed.login_style)
            {
                aws::cognito::delete_style(p.c, pool, id).await?;
            }
            Ok(())
        })
    }
}

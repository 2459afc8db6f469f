//! The Cognito app client apps sign in through.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, step};
use crate::aws;
use crate::desired::{DesiredStack, Fields};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};

pub struct AppClient;

impl Resource for AppClient {
    fn label(&self) -> &'static str {
        labels::APP_CLIENT
    }

    fn name(&self, names: &StackNames, _: &DesiredStack) -> String {
        names.client.clone()
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        Some(d.client.fields())
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.client.as_ref().map(Fields::fields)
    }

    fn needs_pool_id(&self) -> bool {
        true
    }
}

impl StackResource for AppClient {
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let Some(pool) = into.ids.user_pool_id.clone() else {
                return Ok(());
            };
            let id = match &cx.known.client_id {
                Some(id) => Some(id.clone()),
                None => aws::cognito::find_client(cx.c, &pool, &cx.names.client).await?,
            };
            if let Some(id) = id {
                into.client =
                    aws::cognito::observe_client(cx.c, &pool, &id, &cx.desired.client).await?;
                // App clients take no tags: a recorded id is used only for the client named as
                // this pool's, so a forged status.clientId on a pool with other apps' clients
                // never makes the operator rewrite theirs. The name lookup below finds ours.
                if into
                    .client
                    .as_ref()
                    .is_some_and(|c| c.name != cx.names.client)
                {
                    tracing::warn!(client = %id, "the recorded app client is not this pool's; it is left alone");
                    into.client = None;
                }
                if into.client.is_some() {
                    into.ids.client_id = Some(id);
                    return Ok(());
                }
            }
            // A recorded id that no longer exists: the client may still be there by name.
            if cx.known.client_id.is_some() {
                if let Some(id) = aws::cognito::find_client(cx.c, &pool, &cx.names.client).await? {
                    into.client =
                        aws::cognito::observe_client(cx.c, &pool, &id, &cx.desired.client).await?;
                    into.ids.client_id = into.client.as_ref().map(|_| id);
                }
            }
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(pool) = &ids.user_pool_id {
                let id = aws::cognito::create_client(p.c, pool, &p.desired.client).await?;
                ids.client_id = Some(id);
            }
            Ok(())
        })
    }

    fn update<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let (Some(pool), Some(id)) = (&ids.user_pool_id, &ids.client_id) {
                aws::cognito::update_client(p.c, pool, id, &p.desired.client).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            let ids = &p.observed.ids;
            if let (Some(pool), Some(id)) = (&ids.user_pool_id, &ids.client_id) {
                aws::cognito::delete_client(p.c, pool, id).await?;
            }
            Ok(())
        })
    }
}

//! The optional WAF web ACL in front of the user pool (`spec.rateLimit`): a rate-based rule per
//! source IP, associated with the pool. Last in the list: it needs the pool's ARN.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, owned, step};
use crate::aws;
use crate::aws::waf::{Made, OnPool};
use crate::desired::{DesiredStack, Fields};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack};
use crate::reconcile_error::Conflict;

pub struct WebAcl;

impl Resource for WebAcl {
    fn label(&self) -> &'static str {
        labels::WEB_ACL
    }

    fn name(&self, names: &StackNames, _: &DesiredStack) -> String {
        names.web_acl.clone()
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        d.web_acl.as_ref().map(Fields::fields)
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.web_acl.as_ref().map(|w| w.config.fields())
    }

    fn needs_pool_id(&self) -> bool {
        true
    }
}

impl StackResource for WebAcl {
    /// Through the pool: the web ACL associated with it, if any (one read); else a detached one
    /// recorded in the status, or found by name when deleting a pool with `rateLimit`.
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let name = &cx.names.web_acl;
            let Some(pool) = into.ids.user_pool_arn.clone() else {
                return Ok(());
            };
            let what = format!("wafv2 web acl {name}");
            let found = match aws::waf::observe(cx.c, name, &pool).await? {
                // Someone else's web ACL on the pool: replacing it is not ours to do.
                OnPool::Other(other) if cx.desired.web_acl.is_some() && !cx.cleanup => {
                    let name = name.clone();
                    return Err(Conflict::ForeignWebAcl { other, name }.into());
                }
                OnPool::Other(_) => return Ok(()),
                OnPool::Named(acl, tags) => {
                    if !owned(cx, &what, &tags)? {
                        return Ok(());
                    }
                    acl
                }
                // Not on the pool: the recorded one, or when deleting a pool whose spec has a
                // rate limit one of this name, may be left detached by an interrupted create
                // or deletion, and is ours to finish. (Only then a list: a fleet of pools
                // without `rateLimit` is deleted without one each.)
                OnPool::Nothing => {
                    let recorded = cx.known.web_acl_arn.as_deref();
                    let search = cx.cleanup && cx.desired.web_acl.is_some();
                    match aws::waf::observe_detached(cx.c, name, recorded, search).await? {
                        Some((acl, tags))
                            if cx
                                .names
                                .check_owned(
                                    &what,
                                    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                                )
                                .is_ok() =>
                        {
                            acl
                        }
                        _ => return Ok(()),
                    }
                }
            };
            into.ids.web_acl_arn = Some(found.arn.clone());
            into.web_acl = Some(found);
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(acl) = &p.desired.web_acl {
                // One a crash left unassociated is taken up only if it is this pool's.
                let arn = match aws::waf::create(p.c, acl, &p.desired.tags).await? {
                    Made::New(arn) => arn,
                    Made::Existing { arn, tags } => {
                        let what = format!("wafv2 web acl {}", acl.name);
                        let tags = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                        p.names
                            .check_owned(&what, tags)
                            .map_err(Conflict::NotOurs)?;
                        arn
                    }
                };
                aws::waf::associate(p.c, &arn, &acl.associated_with).await?;
                ids.web_acl_arn = Some(arn);
            }
            Ok(())
        })
    }

    fn update<'a>(&'a self, p: &'a Pass<'a>, _: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let (Some(found), Some(acl)) = (&p.observed.web_acl, &p.desired.web_acl) {
                aws::waf::update(p.c, found, acl).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            if let Some(found) = &p.observed.web_acl {
                aws::waf::delete(p.c, found).await?;
            }
            Ok(())
        })
    }
}

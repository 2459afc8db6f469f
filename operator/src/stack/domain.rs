//! The user pool domain that serves managed login (`spec.managedLogin`). Domains carry no tags:
//! the pool's ownership covers them. A pool the operator created has domains only because a
//! spec asked, so one the spec no longer names is removed; an adopted pool's are never touched.

use super::{FieldList, Observing, Pass, StackResource, Step, labels, step};
use crate::aws;
use crate::desired::{DesiredStack, DomainConfig, Fields};
use crate::names::StackNames;
use crate::observed::{ObservedIds, ObservedStack, PoolDomains};
use crate::reconcile::Error;

pub struct UserPoolDomain;

/// The pool's domains, the wanted one first: the one observe describes.
fn present(domains: &PoolDomains, wanted: Option<&DomainConfig>) -> Vec<String> {
    let mut all: Vec<String> = [&domains.prefix, &domains.custom]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    if let Some(w) = wanted {
        all.sort_by_key(|d| *d != w.domain);
    }
    all
}

impl StackResource for UserPoolDomain {
    fn label(&self) -> &'static str {
        labels::USER_POOL_DOMAIN
    }

    fn name(&self, _: &StackNames, d: &DesiredStack) -> String {
        d.domain
            .as_ref()
            .map_or_else(|| "(managed login domain)".to_owned(), |d| d.domain.clone())
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        d.domain.as_ref().map(Fields::fields)
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.domain.as_ref().map(Fields::fields)
    }

    fn needs_pool_id(&self) -> bool {
        true
    }

    /// From the pool's description (read already); one more read only for a pool that has a
    /// domain.
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let Some(pool) = into.ids.user_pool_id.clone() else {
                return Ok(());
            };
            let wanted = cx.desired.domain.as_ref();
            let Some(first) = present(&into.pool_domains, wanted).into_iter().next() else {
                return Ok(());
            };
            if cx.adopted && wanted.is_none_or(|w| w.domain != first) {
                if wanted.is_some() && !cx.cleanup {
                    return Err(Error::Conflict(format!(
                        "spec.managedLogin: the adopted user pool already has the domain {first}; name it in spec.managedLogin, or remove it from the pool first"
                    )));
                }
                // Not the operator's: never described, so never changed or deleted.
                return Ok(());
            }
            into.domain = aws::managed_login::observe_domain(cx.c, &pool, &first)
                .await?
                .map_err(Error::Conflict)?;
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let (Some(pool), Some(d)) = (&ids.user_pool_id, &p.desired.domain) {
                create(p, pool, d).await?;
            }
            Ok(())
        })
    }

    /// A domain's name cannot change: any other domain of the pool goes, then the wanted one
    /// is updated in place or created.
    fn update<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            let (Some(pool), Some(d)) = (&ids.user_pool_id, &p.desired.domain) else {
                return Ok(());
            };
            let mut exists = false;
            for name in present(&p.observed.pool_domains, Some(d)) {
                if name == d.domain {
                    exists = true;
                } else {
                    aws::managed_login::delete_domain(p.c, pool, &name).await?;
                }
            }
            if exists {
                aws::managed_login::update_domain(p.c, pool, d).await?;
            } else {
                create(p, pool, d).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            let Some(pool) = &p.observed.ids.user_pool_id else {
                return Ok(());
            };
            if p.observed.domain.is_none() {
                return Ok(());
            }
            for name in present(&p.observed.pool_domains, None) {
                aws::managed_login::delete_domain(p.c, pool, &name).await?;
            }
            Ok(())
        })
    }
}

/// Creates the domain, unless another pool of this account holds the name already (said
/// plainly, naming the field, rather than as AWS's error).
async fn create(p: &Pass<'_>, pool: &str, d: &DomainConfig) -> Result<(), Error> {
    if let Err(taken) = aws::managed_login::observe_domain(p.c, pool, &d.domain).await? {
        let field = if d.certificate_arn.is_some() {
            "spec.managedLogin.customDomain.domainName"
        } else {
            "spec.managedLogin.domainPrefix"
        };
        return Err(Error::Conflict(format!("{field}: {taken}; choose another")));
    }
    aws::managed_login::create_domain(p.c, pool, d).await?;
    Ok(())
}

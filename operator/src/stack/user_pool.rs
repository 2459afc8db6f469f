//! The Cognito user pool: its triggers, sign-in policy, deletion protection and tags. An update
//! always carries the whole configuration, because AWS resets every field an update omits.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, owned, step};
use crate::aws::{self, Clients};
use crate::desired::{DesiredStack, Fields};
use crate::names::{ADOPTED_TAG, Ownership, RELYING_PARTY_TAG, StackNames};
use crate::observed::{ObservedIds, ObservedStack};
use crate::reconcile_error::{Conflict, Error};

pub struct UserPool;

/// The pool's id, before anything else is observed (the desired state names it): the one
/// recorded earlier, the adopted one, or the one found by name. An adopting pool only ever
/// uses the id its spec names (which the tenancy rules checked): a recorded id that differs
/// (a status edited by hand, or a changed `spec.adopt`) is refused, never followed.
pub async fn locate_pool(
    c: &Clients,
    names: &StackNames,
    known: Option<&str>,
    adopted: Option<&str>,
) -> Result<Option<String>, Error> {
    match (known, adopted) {
        (Some(recorded), Some(adopt)) if recorded != adopt => Err(Conflict::AdoptionChanged {
            recorded: recorded.to_owned(),
            adopt: adopt.to_owned(),
        }
        .into()),
        (_, Some(adopt)) => Ok(Some(adopt.to_owned())),
        (Some(recorded), None) => Ok(Some(recorded.to_owned())),
        (None, None) => Ok(aws::cognito::find_pool(c, &names.user_pool).await?),
    }
}

impl Resource for UserPool {
    fn label(&self) -> &'static str {
        labels::USER_POOL
    }

    fn name(&self, names: &StackNames, _: &DesiredStack) -> String {
        names.user_pool.clone()
    }

    fn desired(&self, d: &DesiredStack) -> Option<FieldList> {
        Some(d.user_pool.fields())
    }

    fn observed(&self, o: &ObservedStack) -> Option<FieldList> {
        o.user_pool.as_ref().map(Fields::fields)
    }
}

impl StackResource for UserPool {
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let Some(id) = &cx.known.user_pool_id else {
                return Ok(());
            };
            // Read before the rest of the stack (see `reconcile::observe`).
            let Some(aws::cognito::ObservedPool {
                arn,
                config: pool,
                unmanaged,
                domains,
            }) = cx.pool.cloned()
            else {
                if cx.adopted && !cx.cleanup {
                    return Err(Conflict::AdoptedPoolMissing(id.clone()).into());
                }
                return Ok(());
            };
            let names = cx.names;
            let what = format!("user pool {id} ({})", pool.name);
            let tags = pool.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            // Never one that another pool (or another cluster's operator) created or adopted:
            // adopting it would rewire its sign-in to this pool's trigger. An untagged pool
            // may only be adopted.
            let untagged_adoption =
                cx.adopted && names.ownership(tags.clone()) == Ownership::Untagged;
            if !untagged_adoption && !owned(cx, &what, &pool.tags)? {
                return Ok(());
            }
            if cx.adopted && !cx.cleanup && !unmanaged.is_empty() {
                let (id, settings) = (id.clone(), unmanaged);
                return Err(Conflict::UnmanagedSettings { id, settings }.into());
            }
            // Adopted pools too: a pool signing in by plain usernames would echo an unknown
            // user's typed name unmasked, telling known users from unknown ones.
            let wanted = &cx.desired.user_pool.username_attributes;
            if !cx.cleanup && pool.username_attributes != *wanted {
                return Err(Conflict::UsernameAttributes {
                    found: pool.username_attributes,
                    wanted: wanted.clone(),
                }
                .into());
            }
            if !cx.cleanup {
                relying_party_stays(&pool, cx)?;
            }
            into.ids.user_pool_id = Some(id.clone());
            into.ids.user_pool_arn = Some(arn);
            into.user_pool = Some(pool);
            into.pool_domains = domains;
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            let (id, arn) = aws::cognito::create_pool(p.c, &p.desired.user_pool).await?;
            ids.user_pool_id = Some(id);
            ids.user_pool_arn = Some(arn);
            Ok(())
        })
    }

    fn update<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let Some(id) = &ids.user_pool_id {
                aws::cognito::update_pool(p.c, id, &p.desired.user_pool).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            let (Some(id), Some(pool)) = (&p.observed.ids.user_pool_id, &p.observed.user_pool)
            else {
                return Ok(());
            };
            // Only a pool this operator created and still owns (never an adopted one, whose
            // deletion protection is never switched off either).
            let tags = pool.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            if p.names.ownership(tags) != Ownership::Ours || pool.tags.contains_key(ADOPTED_TAG) {
                return Ok(());
            }
            if pool.deletion_protection == "ACTIVE" {
                // Retain was switched to Delete without an apply in between.
                let mut unprotected = p.desired.user_pool.clone();
                unprotected.deletion_protection = "INACTIVE".into();
                aws::cognito::update_pool(p.c, id, &unprotected).await?;
            }
            aws::cognito::delete_pool(p.c, id).await?;
            Ok(())
        })
    }
}

/// A passkey works only on the relying party it was registered for: a spec that moves a pool
/// away from its id orphans every passkey its users registered, so it takes the annotation
/// naming the new id. The id is the one the operator last set (the pool's
/// [`RELYING_PARTY_TAG`]), else, on a pool from before the tag, the one AWS has: AWS drifting
/// from the tag is put back like any drift, never mistaken for the spec's change. A first id
/// orphans nothing.
fn relying_party_stays(
    pool: &crate::desired::UserPoolConfig,
    cx: &Observing<'_>,
) -> Result<(), Conflict> {
    let set = pool
        .tags
        .get(RELYING_PARTY_TAG)
        .or(pool.web_authn_relying_party_id.as_ref());
    relying_party_change(
        set.map(String::as_str),
        cx.desired.user_pool.web_authn_relying_party_id.as_deref(),
        cx.acknowledged_relying_party_id,
    )
}

fn relying_party_change(
    observed: Option<&str>,
    desired: Option<&str>,
    acknowledged: Option<&str>,
) -> Result<(), Conflict> {
    // Domain names, so in any case.
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match (observed, desired) {
        (Some(from), Some(to)) if !same(from, to) && !acknowledged.is_some_and(|a| same(a, to)) => {
            Err(Conflict::RelyingPartyIdChange {
                from: from.to_owned(),
                to: to.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod relying_party_tests {
    use super::*;

    #[test]
    fn a_changed_relying_party_id_needs_the_new_id_acknowledged() {
        let refused = |from: &str, to: &str| {
            Err(Conflict::RelyingPartyIdChange {
                from: from.into(),
                to: to.into(),
            })
        };
        let (a, b) = ("example.com", "auth.example.com");
        for (observed, desired, ack, expected) in [
            (None, Some(a), None, Ok(())),
            (Some(a), Some(a), None, Ok(())),
            (Some(a), Some(b), None, refused(a, b)),
            (Some(a), Some(b), Some(a), refused(a, b)),
            (Some(a), Some(b), Some("other.example.com"), refused(a, b)),
            (Some(a), Some(b), Some(b), Ok(())),
            (Some(a), Some("EXAMPLE.com"), None, Ok(())),
            (Some(a), Some(b), Some("Auth.Example.COM"), Ok(())),
            // Not observed: the spec asks for none, so the pool's was not read.
            (Some(a), None, None, Ok(())),
        ] {
            assert_eq!(
                relying_party_change(observed, desired, ack),
                expected,
                "{observed:?} -> {desired:?}, acknowledged {ack:?}"
            );
        }
    }
}

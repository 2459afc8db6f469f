//! The user pool domain that serves managed login (`spec.managedLogin`). Domains carry no tags,
//! so the pool's [`DOMAINS_TAG`] names the ones the operator made, written before each is
//! created. The operator changes or deletes only those, and the one the spec names on a pool
//! it created; a domain someone added by hand, or an adopted pool's own, is never touched (it
//! may be named in the spec if it already matches). Deleting its own pool takes every domain,
//! as Cognito refuses to delete a pool that has one.

use super::{FieldList, Observing, Pass, Resource, StackResource, Step, labels, step};
use crate::aws;
use crate::aws::cognito::DomainSeen;
use crate::desired::{DesiredStack, DomainConfig, Fields};
use crate::names::{ADOPTED_TAG, DOMAINS_TAG, StackNames};
use crate::observed::{ObservedIds, ObservedStack, PoolDomains};
use crate::reconcile_error::{Conflict, Error};

pub struct UserPoolDomain;

/// The pool's domains split by who may change them.
#[derive(Debug, Default, PartialEq)]
struct Claim {
    ours: Vec<String>,
    foreign: Vec<String>,
}

/// Whose each present domain is: the operator's if its tag names it, or, on a pool the operator
/// created, if the spec names it; every one when the operator deletes its own pool.
fn claim(
    present: &[String],
    tagged: &str,
    wanted: Option<&str>,
    adopted: bool,
    cleanup: bool,
) -> Claim {
    let mut c = Claim::default();
    for name in present {
        let ours = (cleanup && !adopted)
            || tagged.split(' ').any(|t| t == name)
            || (!adopted && wanted == Some(name.as_str()));
        if ours { &mut c.ours } else { &mut c.foreign }.push(name.clone());
    }
    c
}

/// The pool's domains, prefix first.
fn present(domains: &PoolDomains) -> Vec<String> {
    [&domains.prefix, &domains.custom]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

/// Cognito keeps one prefix and one custom domain per pool: the present one of `wanted`'s kind.
fn same_kind<'d>(domains: &'d PoolDomains, wanted: &DomainConfig) -> Option<&'d String> {
    match wanted.certificate_arn {
        Some(_) => domains.custom.as_ref(),
        None => domains.prefix.as_ref(),
    }
}

/// The fields where a domain differs from the spec, `field: seen (spec: wanted)`.
fn differences(seen: &DomainConfig, wanted: &DomainConfig) -> Vec<String> {
    let wanted = wanted.fields();
    seen.fields()
        .into_iter()
        .zip(wanted)
        .filter(|((field, a), (_, b))| field != "otherDomains" && a != b)
        .map(|((field, a), (_, b))| format!("{field}: {a} (spec: {b})"))
        .collect()
}

impl Resource for UserPoolDomain {
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
}

impl StackResource for UserPoolDomain {
    /// From the pool's description (read already); one more read only for a pool that has a
    /// domain. Describes the wanted domain if the pool has it, else the first of the
    /// operator's, with its other ones listed (all to go).
    fn observe<'a>(&'a self, cx: &'a Observing<'a>, into: &'a mut ObservedStack) -> Step<'a> {
        step(async move {
            let wanted = cx.desired.domain.as_ref();
            let (Some(pool_id), Some(pool)) = (into.ids.user_pool_id.clone(), &into.user_pool)
            else {
                into.operator_domains = wanted.map(|w| w.domain.clone()).into_iter().collect();
                return Ok(());
            };
            let adopted = cx.adopted || pool.tags.contains_key(ADOPTED_TAG);
            let tagged = pool.tags.get(DOMAINS_TAG).map_or("", String::as_str);
            let present = present(&into.pool_domains);
            let name = wanted.map(|w| w.domain.as_str());
            let claim = claim(&present, tagged, name, adopted, cx.cleanup);
            let wanted_present = name.is_some_and(|n| present.iter().any(|p| p == n));
            if let Some(w) = wanted.filter(|_| !wanted_present && !cx.cleanup)
                && let Some(other) = same_kind(&into.pool_domains, w)
                && claim.foreign.contains(other)
            {
                return Err(Conflict::ForeignDomain(other.clone()).into());
            }
            into.operator_domains = claim.ours.clone();
            if let Some(n) = name.filter(|_| !wanted_present) {
                into.operator_domains.push(n.to_owned());
            }
            let shown = match name.filter(|_| wanted_present) {
                Some(n) => n.to_owned(),
                None => match claim.ours.first() {
                    Some(first) => first.clone(),
                    None => return Ok(()),
                },
            };
            let mut seen = match aws::cognito::observe_domain(cx.c, &pool_id, &shown).await? {
                DomainSeen::Ours(seen) => seen,
                DomainSeen::Absent => return Ok(()),
                DomainSeen::Taken => return Err(Conflict::DomainTakenSince(shown).into()),
            };
            if let Some(w) = wanted.filter(|_| claim.foreign.contains(&shown)) {
                let diff = differences(&seen, w);
                if !diff.is_empty() && !cx.cleanup {
                    return Err(Conflict::ForeignDomainDiffers {
                        domain: shown,
                        differences: diff,
                    }
                    .into());
                }
            }
            seen.others = claim.ours.into_iter().filter(|d| *d != shown).collect();
            into.domain = Some(seen);
            Ok(())
        })
    }

    fn create<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            if let (Some(pool), Some(d)) = (&ids.user_pool_id, &p.desired.domain) {
                ensure_free(p, pool, d).await?;
                aws::cognito::create_domain(p.c, pool, d).await?;
            }
            Ok(())
        })
    }

    /// A domain's name cannot change. A new one is checked free before anything goes, and is
    /// created before the old one is deleted, unless it is of the same kind (Cognito keeps one
    /// of each): then the old one goes first.
    fn update<'a>(&'a self, p: &'a Pass<'a>, ids: &'a mut ObservedIds) -> Step<'a> {
        step(async move {
            let (Some(pool), Some(d), Some(seen)) =
                (&ids.user_pool_id, &p.desired.domain, &p.observed.domain)
            else {
                return Ok(());
            };
            let mut stale = seen.others.clone();
            if seen.domain == d.domain {
                if !differences(seen, d).is_empty() {
                    aws::cognito::update_domain(p.c, pool, d).await?;
                }
            } else {
                stale.push(seen.domain.clone());
                ensure_free(p, pool, d).await?;
                if let Some(old) = same_kind(&p.observed.pool_domains, d)
                    && let Some(i) = stale.iter().position(|s| s == old)
                {
                    aws::cognito::delete_domain(p.c, pool, &stale.remove(i)).await?;
                }
                aws::cognito::create_domain(p.c, pool, d).await?;
            }
            for name in &stale {
                aws::cognito::delete_domain(p.c, pool, name).await?;
            }
            Ok(())
        })
    }

    /// Only the operator's domains: observe describes no other when none is wanted.
    fn delete<'a>(&'a self, p: &'a Pass<'a>) -> Step<'a> {
        step(async move {
            let (Some(pool), Some(seen)) = (&p.observed.ids.user_pool_id, &p.observed.domain)
            else {
                return Ok(());
            };
            for name in std::iter::once(&seen.domain).chain(&seen.others) {
                aws::cognito::delete_domain(p.c, pool, name).await?;
            }
            Ok(())
        })
    }
}

/// Fails unless the name is free or already this pool's: another pool of any account holding
/// it is said plainly, naming the field, rather than as AWS's error.
async fn ensure_free(p: &Pass<'_>, pool: &str, d: &DomainConfig) -> Result<(), Error> {
    if let DomainSeen::Taken = aws::cognito::observe_domain(p.c, pool, &d.domain).await? {
        let field = if d.certificate_arn.is_some() {
            "spec.managedLogin.customDomain.domainName"
        } else {
            "spec.managedLogin.domainPrefix"
        };
        let domain = d.domain.clone();
        return Err(Conflict::DomainTaken { field, domain }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_operator_claims_only_the_domains_it_made_or_its_own_pools_spec_names() {
        let present = names(&["acme-login", "login.acme.example"]);
        /// (tag, wanted, adopted, cleanup) -> ours
        type Case<'a> = (&'a str, Option<&'a str>, bool, bool, &'a [&'a str]);
        let cases: [Case; 9] = [
            // Made before the operator managed domains, or added by hand: never its own.
            ("", None, false, false, &[]),
            // The spec names it on the operator's pool: claimed (the tag follows).
            ("", Some("acme-login"), false, false, &["acme-login"]),
            // ... but not on an adopted pool, whose own domain is only used as it is.
            ("", Some("acme-login"), true, false, &[]),
            // The tag names what the operator made, adopted pool or not.
            ("acme-login", None, true, false, &["acme-login"]),
            (
                "acme-login",
                Some("login.acme.example"),
                false,
                false,
                &["acme-login", "login.acme.example"],
            ),
            // A name is matched whole, not as a prefix of another.
            ("acme-log", None, false, false, &[]),
            ("old-prefix acme-login", None, false, false, &["acme-login"]),
            // Deleting its own pool takes every domain; an adopted pool is never deleted.
            ("", None, false, true, &["acme-login", "login.acme.example"]),
            ("", None, true, true, &[]),
        ];
        for (tag, wanted, adopted, cleanup, ours) in cases {
            let c = claim(&present, tag, wanted, adopted, cleanup);
            assert_eq!(
                c.ours,
                names(ours),
                "tag {tag:?} wanted {wanted:?} adopted {adopted} cleanup {cleanup}"
            );
            let foreign: Vec<String> = present
                .iter()
                .filter(|p| !ours.contains(&p.as_str()))
                .cloned()
                .collect();
            assert_eq!(c.foreign, foreign);
        }
    }

    #[test]
    fn differences_name_the_field_and_ignore_the_other_domains() {
        let wanted = DomainConfig {
            domain: "acme-login".into(),
            certificate_arn: None,
            managed_login_version: 2,
            others: vec![],
            cloud_front_distribution: None,
            status: None,
        };
        let mut seen = wanted.clone();
        seen.others = names(&["old"]);
        assert!(differences(&seen, &wanted).is_empty());
        seen.managed_login_version = 1;
        assert_eq!(
            differences(&seen, &wanted),
            ["managedLoginVersion: 1 (spec: 2)"]
        );
    }
}

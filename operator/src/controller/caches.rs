//! What the controller remembers between reconciles, each behind its own lock: the AWS clients
//! per region, when each pool was last compared with AWS, the status last written per pool, and
//! the failures in a row per pool (for the backoff), their places in the resync period, and the
//! pools released by their cleanup.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;

use super::schedule;
use crate::aws::pace::Pacers;
use crate::aws::{CallCounter, Clients};
use crate::crd::{PasswordlessPool, PasswordlessPoolStatus};
use crate::metrics::Metrics;
use crate::reconcile;
use crate::tenancy::Account;

/// When a pool was last compared with AWS, and for which spec and keys.
struct Synced {
    generation: Option<i64>,
    kids: String,
    until: Instant,
}

/// A region (`None`: the configured default) and the account: `None` for the operator's own,
/// else the assumed role with its external id and session name (a changed external id must
/// never reuse a session assumed with the old one).
type ClientsKey = (Option<String>, Option<(String, Option<String>, String)>);

/// Client sets kept at once. Each holds its SDK clients and connection pools; past this the
/// least recently used goes, so no stream of distinct regions grows the operator, while a real
/// installation's (region x mapped namespace) sets stay cached.
pub const MAX_CLIENT_SETS: usize = 256;

/// The client sets, least recently used first, and the one counter and set of pacers all of
/// them share.
#[derive(Default)]
struct ClientSets {
    sets: HashMap<ClientsKey, Clients>,
    used: VecDeque<ClientsKey>,
    shared: Option<(CallCounter, Arc<Pacers>)>,
    /// The configured default region, once a set was built for it.
    default_region: Option<String>,
}

impl ClientSets {
    fn touch(&mut self, key: &ClientsKey) {
        if let Some(at) = self.used.iter().position(|k| k == key) {
            if let Some(k) = self.used.remove(at) {
                self.used.push_back(k);
            }
        }
    }
}

#[derive(Default)]
pub struct Caches {
    /// AWS clients per region (by name) and account, built once.
    aws: tokio::sync::Mutex<ClientSets>,
    synced: Mutex<HashMap<ObjectRef<PasswordlessPool>, Synced>>,
    /// The status last written per pool (by UID), until the watch shows it. The operator is the
    /// status's only writer, so this is never older than the watch cache, which can lag behind
    /// the operator's own write (a reconcile triggered by the Secret it just applied would
    /// otherwise see the old status and announce the same transition twice).
    written: Mutex<HashMap<String, PasswordlessPoolStatus>>,
    failures: Mutex<HashMap<ObjectRef<PasswordlessPool>, u32>>,
    /// The keys ([`super::schedule::uid_key`]) of the pools this replica has seen: a pool's
    /// rank among them is its place in the resync period.
    places: Mutex<BTreeSet<u64>>,
    /// The pools (by UID) whose cleanup is done and finalizer released, until the watch shows
    /// them gone: a reconcile queued behind the cleanup still sees the object with the
    /// finalizer, and would clean up (every AWS lookup) a second time.
    released: Mutex<HashMap<String, Instant>>,
}

/// A released pool the watch never showed gone (its Delete event fell in a watch restart) is
/// forgotten after this long.
const RELEASED_KEPT: std::time::Duration = std::time::Duration::from_secs(600);

impl Caches {
    /// The AWS clients for `region` in `account`, built on first use; their calls are counted
    /// in `metrics`.
    pub async fn clients(
        &self,
        region: Option<&str>,
        account: &Account,
        metrics: &Metrics,
    ) -> Result<Clients, reconcile::Error> {
        let mut all = self.aws.lock().await;
        let role = match account {
            Account::Operator => None,
            Account::Assumed { role, session } => Some((
                role.role_arn.clone(),
                role.external_id.clone(),
                session.clone(),
            )),
        };
        // Keyed by the region's name, however the pool spells it (named, or left to the
        // default): one set per account and region. (Pacers are per account: namespaces
        // mapped to one account share its pacer, as its quotas count.)
        let named = region
            .map(str::to_owned)
            .or_else(|| all.default_region.clone());
        if let Some(found) = named.map(|r| (Some(r), role.clone())) {
            if let Some(c) = all.sets.get(&found).cloned() {
                all.touch(&found);
                return Ok(c);
            }
        }
        let (calls, pacers) = match &all.shared {
            Some(shared) => shared.clone(),
            None => {
                let shared = (CallCounter::default(), Arc::<Pacers>::default());
                metrics.count_aws_calls(shared.0.clone());
                metrics.count_pacing(shared.1.clone());
                all.shared = Some(shared.clone());
                shared
            }
        };
        let c = Clients::counted(region, account, calls, pacers).await?;
        if region.is_none() {
            all.default_region = Some(c.region.clone());
        }
        let key = (Some(c.region.clone()), role);
        if let Some(same) = all.sets.get(&key).cloned() {
            // The default region, named by a pool before any pool left it out.
            all.touch(&key);
            return Ok(same);
        }
        while all.used.len() >= MAX_CLIENT_SETS {
            if let Some(oldest) = all.used.pop_front() {
                all.sets.remove(&oldest);
            }
        }
        all.used.push_back(key.clone());
        all.sets.insert(key, c.clone());
        Ok(c)
    }

    /// A new term as leader: another replica may have created pools meanwhile, so every
    /// account's index of pool names is scanned again before it is trusted.
    pub async fn new_term(&self) {
        for c in self.aws.lock().await.sets.values() {
            c.pool_names.forget().await;
        }
    }

    /// Until when the last comparison with AWS holds, if it was made for this generation of
    /// the pool and these keys (`kids`) and has not run out.
    pub fn synced_until(&self, pool: &PasswordlessPool, kids: &str) -> Option<Instant> {
        let synced = self.synced.lock().ok()?;
        synced
            .get(&ObjectRef::from_obj(pool))
            .filter(|s| {
                s.generation == pool.metadata.generation
                    && s.kids == kids
                    && Instant::now() < s.until
            })
            .map(|s| s.until)
    }

    pub fn mark_synced(&self, pool: &PasswordlessPool, kids: String, until: Instant) {
        if let Ok(mut s) = self.synced.lock() {
            s.insert(
                ObjectRef::from_obj(pool),
                Synced {
                    generation: pool.metadata.generation,
                    kids,
                    until,
                },
            );
        }
    }

    /// Forgets the last comparison with AWS: the next reconcile compares again.
    pub fn forget_sync(&self, pool: &PasswordlessPool) {
        if let Ok(mut s) = self.synced.lock() {
            s.remove(&ObjectRef::from_obj(pool));
        }
    }

    /// The pool's status: as last written, else as the watch showed it. Once the watch shows
    /// what was written, the copy goes: the pools of a fleet at rest hold their status once, in
    /// the watch's cache. (Reconciles of one pool run one at a time, each on an object the
    /// watch showed later than the last one's, so none reads an older status after this.)
    pub fn current_status(&self, pool: &PasswordlessPool) -> Option<PasswordlessPoolStatus> {
        let (Some(uid), Ok(mut written)) = (&pool.metadata.uid, self.written.lock()) else {
            return pool.status.clone();
        };
        match written.get(uid) {
            Some(last) if pool.status.as_ref() != Some(last) => Some(last.clone()),
            Some(_) => {
                written.remove(uid);
                // A fleet's first apply fills the map; at rest it empties again.
                if written.len() < written.capacity() / 4 {
                    written.shrink_to_fit();
                }
                pool.status.clone()
            }
            None => pool.status.clone(),
        }
    }

    pub fn mark_written(&self, pool: &PasswordlessPool, status: &PasswordlessPoolStatus) {
        if let (Some(uid), Ok(mut written)) = (&pool.metadata.uid, self.written.lock()) {
            written.insert(uid.clone(), status.clone());
        }
    }

    /// Counts one more failure in a row; returns how many there have been.
    pub fn count_failure(&self, pool: &PasswordlessPool) -> u32 {
        self.failures
            .lock()
            .map(|mut f| {
                let n = f.entry(ObjectRef::from_obj(pool)).or_default();
                *n += 1;
                *n
            })
            .unwrap_or(1)
    }

    pub fn clear_failures(&self, pool: &PasswordlessPool) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(&ObjectRef::from_obj(pool));
        }
    }

    /// Forgets a pool that is gone (its failures went with its last, successful reconcile).
    pub fn forget(&self, pool: &PasswordlessPool) {
        self.forget_sync(pool);
        if let (Some(uid), Ok(mut w)) = (&pool.metadata.uid, self.written.lock()) {
            w.remove(uid);
        }
        if let (Some(uid), Ok(mut places)) = (&pool.metadata.uid, self.places.lock()) {
            places.remove(&schedule::uid_key(uid));
        }
        if let (Some(uid), Ok(mut released)) = (&pool.metadata.uid, self.released.lock()) {
            released.remove(uid);
        }
    }

    /// Notes that the pool's finalizer is off: it has nothing left to clean up.
    pub fn mark_released(&self, pool: &PasswordlessPool) {
        if let (Some(uid), Ok(mut released)) = (&pool.metadata.uid, self.released.lock()) {
            released.retain(|_, at| at.elapsed() < RELEASED_KEPT);
            released.insert(uid.clone(), Instant::now());
        }
    }

    /// Whether the pool's finalizer was released by this replica (see [`Self::mark_released`]).
    pub fn released(&self, pool: &PasswordlessPool) -> bool {
        let (Some(uid), Ok(released)) = (&pool.metadata.uid, self.released.lock()) else {
            return false;
        };
        released.contains_key(uid)
    }

    /// Counts a pool among those whose ranks are the places in the resync period.
    pub fn know(&self, pool: &PasswordlessPool) {
        if let (Some(uid), Ok(mut places)) = (&pool.metadata.uid, self.places.lock()) {
            places.insert(schedule::uid_key(uid));
        }
    }

    /// The pool's place in the resync period (see [`schedule::place`]): its rank among the
    /// pools known, so a fleet's comparisons spread evenly over the period. `None` without a
    /// UID. (Counting the rank walks the keys below it: microseconds at 10,000 pools.)
    pub fn place(&self, pool: &PasswordlessPool) -> Option<f64> {
        let key = schedule::uid_key(pool.metadata.uid.as_deref()?);
        let mut places = self.places.lock().ok()?;
        places.insert(key);
        Some(schedule::place(places.range(..key).count(), places.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool as the watch shows it.
    fn pool(uid: Option<&str>) -> PasswordlessPool {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "passwordless-operator.dev/v1alpha1",
            "kind": "PasswordlessPool",
            "metadata": {"name": "app", "namespace": "team", "uid": uid},
            "spec": {"strategy": "native", "sender": {"address": "no-reply@example.com"}},
        }))
        .unwrap()
    }

    #[test]
    fn a_written_status_is_kept_until_the_watch_shows_it() {
        let caches = Caches::default();
        let status = |id: &str| PasswordlessPoolStatus {
            user_pool_id: Some(id.into()),
            ..Default::default()
        };
        let mut seen = pool(Some("a"));
        seen.status = Some(status("first"));
        caches.mark_written(&seen, &status("second"));
        assert_eq!(
            caches.current_status(&seen),
            Some(status("second")),
            "the watch lags"
        );
        seen.status = Some(status("second"));
        assert_eq!(caches.current_status(&seen), Some(status("second")));
        assert!(
            caches.written.lock().unwrap().is_empty(),
            "caught up: the copy goes"
        );
        let other = pool(Some("b"));
        assert_eq!(caches.current_status(&other), None);
        assert_eq!(caches.current_status(&pool(None)), None);
    }

    #[test]
    fn a_released_pool_is_remembered_until_the_watch_shows_it_gone() {
        let caches = Caches::default();
        let (released, other) = (pool(Some("a")), pool(Some("b")));
        caches.mark_released(&released);
        assert!(caches.released(&released));
        assert!(!caches.released(&other), "by UID: a recreated pool is not");
        caches.forget(&released);
        assert!(!caches.released(&released));
        assert!(!caches.released(&pool(None)));
    }

    /// A tenant walking `spec.region` through made-up names builds client sets, but never more
    /// than the cap at once; the sets in use stay, and all count in one counter.
    #[tokio::test]
    async fn the_client_sets_are_bounded() {
        let caches = Caches::default();
        let metrics = Metrics::default();
        for i in 0..MAX_CLIENT_SETS + 20 {
            let region = format!("zz-test-{i}");
            let c = caches
                .clients(Some(&region), &Account::Operator, &metrics)
                .await
                .unwrap();
            assert_eq!(c.region, region);
            // The set in use all along stays: the least recently used goes.
            caches
                .clients(Some("zz-test-0"), &Account::Operator, &metrics)
                .await
                .unwrap();
        }
        let all = caches.aws.lock().await;
        assert_eq!(all.sets.len(), MAX_CLIENT_SETS);
        assert_eq!(all.used.len(), MAX_CLIENT_SETS);
        let key = |i: usize| (Some(format!("zz-test-{i}")), None);
        assert!(all.sets.contains_key(&key(MAX_CLIENT_SETS + 19)));
        assert!(all.sets.contains_key(&key(0)));
        assert!(!all.sets.contains_key(&key(1)));
        assert_eq!(
            metrics.aws_counters(),
            1,
            "one counter for every set, registered once"
        );
    }

    /// Pools seen (by the watch) and reconciled share the places; N pools take the N places
    /// k/N, and a pool gone gives its place up.
    #[test]
    fn pools_take_evenly_spaced_places_by_rank() {
        let caches = Caches::default();
        let pool = |uid: Option<String>| -> PasswordlessPool {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "passwordless-operator.dev/v1alpha1", "kind": "PasswordlessPool",
                "metadata": {"name": "p", "namespace": "shop", "uid": uid},
                "spec": {"strategy": "smsOtp"},
            }))
            .expect("a pool")
        };
        let pools: Vec<PasswordlessPool> = (0..4).map(|i| pool(Some(format!("uid-{i}")))).collect();
        for p in &pools[..3] {
            caches.know(p);
        }
        // The fourth is counted by its own first reconcile.
        assert!(caches.place(&pools[3]).is_some());
        let mut places: Vec<f64> = pools.iter().filter_map(|p| caches.place(p)).collect();
        places.sort_by(f64::total_cmp);
        assert_eq!(places, [0.0, 0.25, 0.5, 0.75]);
        caches.forget(&pools[0]);
        let mut places: Vec<f64> = pools[1..].iter().filter_map(|p| caches.place(p)).collect();
        places.sort_by(f64::total_cmp);
        assert_eq!(places, [0.0, 1.0 / 3.0, 2.0 / 3.0]);
        assert_eq!(caches.place(&pool(None)), None);
    }

    /// A pool naming the default region and one leaving it out share one set, so one pacer,
    /// whichever comes first; a namespace mapped to a role in the operator's own account
    /// shares that pacer too: Cognito's quotas count per account and region.
    #[tokio::test]
    #[ignore = "needs a default region (AWS_REGION, as the test bed's env sets); run by `make test`"]
    async fn one_pacer_per_region_however_it_is_spelled() {
        let metrics = Metrics::default();
        let default = Caches::default()
            .clients(None, &Account::Operator, &metrics)
            .await
            .unwrap()
            .region;
        for named_first in [true, false] {
            let caches = Caches::default();
            let mut sets = Vec::new();
            for named in [named_first, !named_first] {
                let region = named.then_some(default.as_str());
                sets.push(
                    caches
                        .clients(region, &Account::Operator, &metrics)
                        .await
                        .unwrap(),
                );
            }
            assert!(
                Arc::ptr_eq(&sets[0].pace().await, &sets[1].pace().await),
                "{named_first}"
            );
            assert_eq!(caches.aws.lock().await.sets.len(), 1);
            let own = sets[0].caller().await.unwrap().account;
            let role = crate::tenancy::AccountRole {
                role_arn: format!("arn:aws:iam::{own}:role/passwordless-team"),
                external_id: None,
            };
            let mapped = caches
                .clients(
                    None,
                    &Account::Assumed {
                        role,
                        session: crate::tenancy::session_name("team"),
                    },
                    &metrics,
                )
                .await
                .unwrap();
            assert_eq!(caches.aws.lock().await.sets.len(), 2);
            assert!(Arc::ptr_eq(&sets[0].pace().await, &mapped.pace().await));
        }
    }
}

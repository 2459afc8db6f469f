//! Leader election on a `coordination.k8s.io/v1` Lease: one replica reconciles, the others wait
//! and take over once the holder stops renewing. Writes use the Lease's resourceVersion, so two
//! replicas can never both win the same round.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};

#[derive(Debug, Clone)]
pub struct LeaseSettings {
    pub name: String,
    pub namespace: String,
    /// This replica's identity (the pod name in a cluster).
    pub identity: String,
    /// How long a holder that stopped renewing keeps the lease.
    pub duration: Duration,
}

impl LeaseSettings {
    /// Renew well within the lease duration, so one slow round trip does not lose it.
    pub fn renew_every(&self) -> Duration {
        self.duration / 3
    }

    /// Standbys retry this often: failover takes at most `duration` plus this.
    pub fn retry_every(&self) -> Duration {
        (self.duration / 5).max(Duration::from_millis(500))
    }
}

/// What to do with the lease as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Ours already: refresh `renewTime`.
    Renew,
    /// Free or expired: take it, counting a transition.
    Take,
    /// Held by a live replica.
    Wait,
}

pub fn decide(lease: Option<&LeaseSpec>, me: &str, now: Timestamp) -> Decision {
    let Some(spec) = lease else {
        return Decision::Take;
    };
    match spec.holder_identity.as_deref() {
        Some(holder) if holder == me => Decision::Renew,
        None | Some("") => Decision::Take,
        Some(_) => {
            let renewed = spec
                .renew_time
                .as_ref()
                .or(spec.acquire_time.as_ref())
                .map(|t| t.0);
            let duration = SignedDuration::from_secs(i64::from(
                spec.lease_duration_seconds.unwrap_or(0).max(0),
            ));
            match renewed {
                Some(at) if at + duration > now => Decision::Wait,
                _ => Decision::Take,
            }
        }
    }
}

pub struct Leader {
    api: Api<Lease>,
    settings: LeaseSettings,
}

impl Leader {
    pub fn new(client: kube::Client, settings: LeaseSettings) -> Self {
        Self {
            api: Api::namespaced(client, &settings.namespace),
            settings,
        }
    }

    pub fn settings(&self) -> &LeaseSettings {
        &self.settings
    }

    fn spec(&self, previous: Option<&LeaseSpec>, decision: Decision) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        let mut spec = previous.cloned().unwrap_or_default();
        if decision == Decision::Take {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions =
                Some(spec.lease_transitions.unwrap_or(0) + i32::from(previous.is_some()));
        }
        spec.holder_identity = Some(self.settings.identity.clone());
        spec.lease_duration_seconds =
            Some(i32::try_from(self.settings.duration.as_secs().max(1)).unwrap_or(i32::MAX));
        spec.renew_time = Some(now);
        spec
    }

    /// One round, bounded in time so a silent apiserver counts as a failed one.
    async fn round(&self) -> Result<bool, String> {
        match tokio::time::timeout(self.settings.renew_every(), self.try_hold()).await {
            Ok(held) => held.map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "no answer within {:?}",
                self.settings.renew_every()
            )),
        }
    }

    /// One round: whether this replica holds the lease afterwards. Losing a write race (409)
    /// is an ordinary "no".
    pub async fn try_hold(&self) -> Result<bool, kube::Error> {
        let name = &self.settings.name;
        let Some(lease) = self.api.get_opt(name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(None, Decision::Take)),
            };
            return lost_race_is_no(self.api.create(&PostParams::default(), &lease).await);
        };
        let decision = decide(
            lease.spec.as_ref(),
            &self.settings.identity,
            Timestamp::now(),
        );
        if decision == Decision::Wait {
            return Ok(false);
        }
        let mut next = lease.clone();
        next.spec = Some(self.spec(lease.spec.as_ref(), decision));
        lost_race_is_no(self.api.replace(name, &PostParams::default(), &next).await)
    }

    /// Waits until this replica leads. Errors (the apiserver away) are logged and retried.
    /// `reachable` hears after each round whether the apiserver answered.
    pub async fn acquire(&self, reachable: &impl Fn(bool)) {
        loop {
            match self.round().await {
                Ok(true) => {
                    reachable(true);
                    return;
                }
                Ok(false) => reachable(true),
                Err(e) => {
                    reachable(false);
                    tracing::warn!(error = %e, "leader lease: apiserver call failed");
                }
            }
            tokio::time::sleep(self.settings.retry_every()).await;
        }
    }

    /// Renews until the lease is lost: another replica took it, or renewals failed for so long
    /// that another may have. Returns only then. After a failed renewal the next try comes
    /// sooner, so a short outage does not cost the lease.
    pub async fn keep(&self, reachable: &impl Fn(bool)) {
        let mut last_renewal = tokio::time::Instant::now();
        let mut wait = self.settings.renew_every();
        // Give up before a standby may take over, so two never reconcile at once.
        let give_up_after = self.settings.duration * 2 / 3;
        loop {
            tokio::time::sleep(wait).await;
            match self.round().await {
                Ok(true) => {
                    reachable(true);
                    last_renewal = tokio::time::Instant::now();
                    wait = self.settings.renew_every();
                }
                Ok(false) => {
                    reachable(true);
                    tracing::error!("leader lease taken by another replica");
                    return;
                }
                Err(e) => {
                    reachable(false);
                    tracing::warn!(error = %e, "leader lease: renewal failed");
                    wait = self.settings.retry_every();
                }
            }
            if last_renewal.elapsed() > give_up_after {
                tracing::error!("leader lease: no renewal for {give_up_after:?}");
                return;
            }
        }
    }

    /// Hands the lease back so a standby takes over at once instead of waiting for it to expire.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        lost_race_is_no(
            self.api
                .replace(&self.settings.name, &PostParams::default(), &lease)
                .await,
        )
        .map(|_| ())
    }
}

fn lost_race_is_no<T>(result: Result<T, kube::Error>) -> Result<bool, kube::Error> {
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(by: &str, renewed: i64, seconds: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(by.into()),
            renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
            lease_duration_seconds: Some(seconds),
            ..Default::default()
        }
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn a_live_lease_of_another_replica_is_respected_until_it_expires() {
        let other = held("b", 100, 15);
        assert_eq!(decide(Some(&other), "a", at(114)), Decision::Wait);
        assert_eq!(decide(Some(&other), "a", at(115)), Decision::Take);
        assert_eq!(decide(Some(&other), "b", at(200)), Decision::Renew);
    }

    #[test]
    fn a_missing_released_or_never_renewed_lease_is_free() {
        assert_eq!(decide(None, "a", at(0)), Decision::Take);
        let released = LeaseSpec {
            holder_identity: None,
            ..held("x", 100, 15)
        };
        assert_eq!(decide(Some(&released), "a", at(101)), Decision::Take);
        let blank = LeaseSpec {
            holder_identity: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(decide(Some(&blank), "a", at(0)), Decision::Take);
    }
}

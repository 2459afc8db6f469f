//! The in-cluster controller: a kube-runtime Controller over PasswordlessPools that calls the
//! same reconcile core as the CLI, keeps signing keys in the operator's namespace, writes the
//! output Secret and the status, emits events on transitions, and cleans AWS up behind a
//! finalizer.

pub mod keys;
pub mod leader;
pub mod output;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{self, Event as Finalized, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use tokio::sync::Semaphore;

use crate::aws::Clients;
use crate::crd::{PasswordlessPool, PasswordlessPoolStatus};
use crate::metrics::Metrics;
use crate::reconcile::{self, Deleted};
use crate::recorded::{self, RecordStore, RecordingSink};
use crate::state::{State, unix_now};
use crate::status::{self, now, reasons};

/// Guards the AWS cleanup of a pool.
pub const FINALIZER: &str = "passwordless-operator.dev/aws-cleanup";
/// The server-side apply field manager of everything this operator writes.
pub const FIELD_MANAGER: &str = "passwordless-operator.dev";
/// Set (or change) this annotation's value to rotate a pool's signing key.
pub const ROTATE_ANNOTATION: &str = "passwordless-operator.dev/rotate-signing-key";
/// Marks the Secrets this operator writes; its Secret watch selects on it.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// How often a pool still being created, or waiting for its sender, is looked at again.
const PENDING_RECHECK: Duration = Duration::from_secs(10);
const SENDER_RECHECK: Duration = Duration::from_secs(60);
/// Backoff after failures: doubles from the first delay, capped, with jitter.
const BACKOFF_FIRST: Duration = Duration::from_secs(2);
const BACKOFF_CAP: Duration = Duration::from_secs(300);
/// Opens the message of a failed cleanup, so a retry that fails alike raises no new event.
const CLEANUP_FAILED: &str = "AWS cleanup failed; the finalizer stays until it succeeds: ";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reconcile(#[from] reconcile::Error),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("signing keys: {0}")]
    Keys(String),
    #[error("finalizer: {0}")]
    Finalizer(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// A stable label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Reconcile(e) => e.metric_label(),
            Self::Kube(_) => "kube_api",
            Self::Keys(_) => "signing_keys",
            Self::Finalizer(_) => "finalizer",
            Self::Internal(_) => "internal",
        }
    }

    /// An invalid spec cannot heal by retrying: wait for the next change.
    pub fn waits_for_change(&self) -> bool {
        matches!(
            self,
            Self::Reconcile(reconcile::Error::InvalidSpec(_) | reconcile::Error::Desired(_))
        )
    }

    /// The `Ready` reason this failure reports.
    fn reason(&self) -> &'static str {
        match self {
            _ if self.waits_for_change() => reasons::INVALID_SPEC,
            Self::Kube(_) | Self::Finalizer(_) => reasons::KUBERNETES_ERROR,
            Self::Keys(_) => reasons::SIGNING_KEY_ERROR,
            Self::Reconcile(_) | Self::Internal(_) => reasons::AWS_ERROR,
        }
    }

    fn from_finalizer(e: finalizer::Error<Self>) -> Self {
        match e {
            finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
            finalizer::Error::AddFinalizer(e) | finalizer::Error::RemoveFinalizer(e) => {
                Self::Kube(e)
            }
            other => Self::Finalizer(other.to_string()),
        }
    }
}

/// The labels on every Secret this operator writes; its Secret watch selects on them.
pub(crate) fn managed_labels() -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([(
        MANAGED_BY_LABEL.to_owned(),
        crate::names::MANAGED_BY.to_owned(),
    )])
}

/// Deletes a Secret; one already gone counts as deleted.
pub(crate) async fn delete_secret(api: &Api<Secret>, name: &str) -> Result<(), Error> {
    match api.delete(name, &kube::api::DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn namespace_and_name(pool: &PasswordlessPool) -> Result<(&str, &str), Error> {
    match (&pool.metadata.namespace, &pool.metadata.name) {
        (Some(ns), Some(name)) => Ok((ns, name)),
        _ => Err(Error::Internal(
            "a PasswordlessPool without namespace or name".into(),
        )),
    }
}

/// What `run` needs from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Where the signing-key Secrets live (the operator's own namespace).
    pub keys_namespace: String,
    /// How often an in-sync pool is compared with AWS again.
    pub resync: Duration,
    /// Pools reconciled at once, across all namespaces.
    pub concurrency: usize,
    /// Names this replica in events.
    pub identity: String,
}

/// When a pool was last compared with AWS, and for which spec and keys.
struct Synced {
    generation: Option<i64>,
    kids: String,
    until: tokio::time::Instant,
}

pub struct Context {
    client: kube::Client,
    settings: Settings,
    zip: Vec<u8>,
    recorder: Recorder,
    keys: keys::KeyStore,
    metrics: Arc<Metrics>,
    /// AWS clients per region (`None`: the configured default), built once.
    aws: tokio::sync::Mutex<HashMap<Option<String>, Clients>>,
    slots: Semaphore,
    synced: Mutex<HashMap<ObjectRef<PasswordlessPool>, Synced>>,
    /// The status last written per pool (by UID). The operator is the status's only writer, so
    /// this is never older than the watch cache, which can lag behind the operator's own write
    /// (a reconcile triggered by the Secret it just applied would otherwise see the old status
    /// and announce the same transition twice).
    written: Mutex<HashMap<String, PasswordlessPoolStatus>>,
    failures: Mutex<HashMap<ObjectRef<PasswordlessPool>, u32>>,
}

/// A uniform fraction in [0, 1) from the OS random source, for jitter.
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

/// The delay after the `failures`-th failure in a row: doubling, capped, then scaled by a
/// factor in [0.5, 1) so failing pools do not retry in lockstep.
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    let doubled = BACKOFF_FIRST.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    doubled
        .min(BACKOFF_CAP)
        .mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// Replaces any signing secret that could have slipped into a message by `<redacted>`.
fn redact(message: String, keys: &State) -> String {
    keys.signing_keys
        .iter()
        .fold(message, |m, k| m.replace(&k.secret, "<redacted>"))
}

/// The pool's status: AWS IDs are written to it the moment they are assigned, so a crash
/// resumes with them.
struct StatusStore<'a> {
    ctx: &'a Context,
    pool: &'a PasswordlessPool,
}

impl RecordStore<Option<PasswordlessPoolStatus>> for StatusStore<'_> {
    async fn write(&mut self, status: &Option<PasswordlessPoolStatus>) -> Result<(), String> {
        let Some(status) = status else {
            return Ok(());
        };
        self.ctx
            .patch_status(self.pool, status)
            .await
            .map_err(|e| e.to_string())
    }
}

impl Context {
    pub fn new(
        client: kube::Client,
        settings: Settings,
        zip: Vec<u8>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance: Some(settings.identity.clone()),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            keys: keys::KeyStore::new(client.clone(), &settings.keys_namespace),
            slots: Semaphore::new(settings.concurrency.max(1)),
            client,
            settings,
            zip,
            metrics,
            aws: tokio::sync::Mutex::default(),
            synced: Mutex::default(),
            written: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    async fn clients(&self, region: Option<&str>) -> Result<Clients, Error> {
        let mut all = self.aws.lock().await;
        let key = region.map(str::to_owned);
        if let Some(c) = all.get(&key) {
            return Ok(c.clone());
        }
        let c = Clients::from_env(region)
            .await
            .map_err(reconcile::Error::from)?;
        self.metrics.count_aws_calls(c.calls.clone());
        all.insert(key, c.clone());
        Ok(c)
    }

    fn api(&self, pool: &PasswordlessPool) -> Result<Api<PasswordlessPool>, Error> {
        let (namespace, _) = namespace_and_name(pool)?;
        Ok(Api::namespaced(self.client.clone(), namespace))
    }

    async fn patch_status(
        &self,
        pool: &PasswordlessPool,
        status: &PasswordlessPoolStatus,
    ) -> Result<(), Error> {
        let (_, name) = namespace_and_name(pool)?;
        let body = serde_json::json!({
            "apiVersion": PasswordlessPool::api_version(&()),
            "kind": PasswordlessPool::kind(&()),
            "status": status,
        });
        // Forced: the status has no other writer, and this manager must own all of it.
        self.api(pool)?
            .patch_status(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(body),
            )
            .await?;
        if let (Some(uid), Ok(mut written)) = (&pool.metadata.uid, self.written.lock()) {
            written.insert(uid.clone(), status.clone());
        }
        Ok(())
    }

    /// The pool's status as last written, else as the watch reported it.
    fn current_status(&self, pool: &PasswordlessPool) -> Option<PasswordlessPoolStatus> {
        pool.metadata
            .uid
            .as_ref()
            .and_then(|uid| self.written.lock().ok()?.get(uid).cloned())
            .or_else(|| pool.status.clone())
    }

    /// Writes `next` if it differs from `current`, and an event if `Ready` changed reason.
    async fn report(
        &self,
        pool: &PasswordlessPool,
        current: &mut Option<PasswordlessPoolStatus>,
        next: PasswordlessPoolStatus,
        action: &str,
    ) -> Result<(), Error> {
        let settled = status::settle(current.as_ref(), next);
        if settled.changed {
            self.patch_status(pool, &settled.status).await?;
        }
        if settled.transition {
            if let Some(ready) = status::ready_of(Some(&settled.status)) {
                let event = KubeEvent {
                    type_: if reasons::is_warning(&ready.reason) {
                        EventType::Warning
                    } else {
                        EventType::Normal
                    },
                    reason: ready.reason.clone(),
                    note: Some(ready.message.chars().take(1000).collect()),
                    action: action.to_owned(),
                    secondary: None,
                };
                // An event is a courtesy: failing to publish one must not fail the reconcile.
                if let Err(e) = self.recorder.publish(&event, &pool.object_ref(&())).await {
                    tracing::warn!(error = %e, "publishing an event failed");
                }
            }
        }
        *current = Some(settled.status);
        Ok(())
    }

    /// A failed step: `Ready` says why, with secrets scrubbed from the message.
    async fn report_failure(
        &self,
        pool: &PasswordlessPool,
        current: &mut Option<PasswordlessPoolStatus>,
        error: &Error,
        context: &str,
        keys: &State,
        action: &str,
    ) {
        let message = redact(format!("{context}{error}"), keys);
        let next = status::with_ready(
            current.as_ref(),
            false,
            error.reason(),
            message,
            pool.metadata.generation,
            now(),
        );
        if let Err(e) = self.report(pool, current, next, action).await {
            tracing::warn!(error = %e, "writing the failure status failed");
        }
    }

    /// Converges AWS, the status, and the output Secret.
    async fn apply(&self, pool: &PasswordlessPool) -> Result<Action, Error> {
        let key = ObjectRef::from_obj(pool);
        let mut current = self.current_status(pool);
        let keys = match self.keys.ensure(pool, unix_now()).await {
            Ok(keys) => keys,
            Err(e) => {
                let none = State::default();
                self.report_failure(pool, &mut current, &e, "", &none, "Reconcile")
                    .await;
                return Err(e);
            }
        };
        let kids = keys
            .signing_keys
            .iter()
            .map(|k| k.kid.as_str())
            .collect::<Vec<_>>()
            .join(",");
        // A reconcile caused by the output Secret (or a restart of the watch) needs no AWS
        // calls while the last comparison with AWS still holds for this spec and these keys.
        let fresh = self.synced.lock().ok().and_then(|s| {
            s.get(&key)
                .filter(|s| {
                    s.generation == pool.metadata.generation
                        && s.kids == kids
                        && tokio::time::Instant::now() < s.until
                })
                .map(|s| s.until)
        });
        let next_check = match fresh {
            Some(until) => until.saturating_duration_since(tokio::time::Instant::now()),
            None => match self.sync_aws(pool, &keys, &mut current).await {
                Ok(after) => {
                    if let Ok(mut s) = self.synced.lock() {
                        s.insert(
                            key,
                            Synced {
                                generation: pool.metadata.generation,
                                kids,
                                until: tokio::time::Instant::now() + after,
                            },
                        );
                    }
                    after
                }
                Err(e) => {
                    self.report_failure(pool, &mut current, &e, "", &keys, "Reconcile")
                        .await;
                    return Err(e);
                }
            },
        };
        if let Some(secret) = current
            .as_ref()
            .and_then(|s| output::output_secret(pool, s))
        {
            output::apply(&self.client, &secret).await?;
        }
        // Retired keys leave the trigger as soon as their links have expired.
        let key_expiry = crate::keys::next_expiry(&keys, pool.spec.link_lifetime_seconds())
            .map(|at| Duration::from_secs(at.saturating_sub(unix_now()) + 1));
        Ok(Action::requeue(
            key_expiry.map_or(next_check, |k| k.min(next_check)),
        ))
    }

    /// One comparison with AWS and the status it leads to; returns when to compare again.
    async fn sync_aws(
        &self,
        pool: &PasswordlessPool,
        keys: &State,
        current: &mut Option<PasswordlessPoolStatus>,
    ) -> Result<Duration, Error> {
        let generation = pool.metadata.generation;
        if status::ready_of(current.as_ref()).is_none() {
            let provisioning = status::with_ready(
                current.as_ref(),
                false,
                reasons::PROVISIONING,
                "creating the AWS resources".into(),
                generation,
                now(),
            );
            self.report(pool, current, provisioning, "Reconcile")
                .await?;
        }
        let clients = self.clients(pool.spec.region.as_deref()).await?;
        let req = recorded::request(pool, &self.zip, keys, &*current)?;
        let mut sink = RecordingSink {
            record: current.clone(),
            store: StatusStore { ctx: self, pool },
        };
        let applied = reconcile::apply(&clients, &req, &mut sink).await;
        *current = sink.record;
        let applied = applied?;
        let next = status::status_of(&applied.outputs, generation, now());
        let after = match status::ready_of(Some(&next)).map(|c| c.reason.as_str()) {
            Some(reasons::READY) => self.settings.resync.mul_f64(0.9 + random_fraction() / 5.0),
            Some(reasons::SENDER_NOT_VERIFIED) => SENDER_RECHECK.min(self.settings.resync),
            _ => PENDING_RECHECK,
        };
        self.report(pool, current, next, "Reconcile").await?;
        Ok(after)
    }

    /// Removes (or, under `Retain`, keeps) the AWS resources, then lets the pool go.
    async fn cleanup(&self, pool: &PasswordlessPool) -> Result<Action, Error> {
        let mut current = self.current_status(pool);
        let failed_before = status::ready_of(current.as_ref())
            .is_some_and(|c| c.message.starts_with(CLEANUP_FAILED));
        let deleting = status::with_ready(
            current.as_ref(),
            false,
            reasons::DELETING,
            format!(
                "deleting; AWS resources: {}",
                match pool.spec.deletion_policy {
                    crate::crd::DeletionPolicy::Retain => "kept (deletionPolicy: Retain)",
                    crate::crd::DeletionPolicy::Delete => "being removed",
                }
            ),
            pool.metadata.generation,
            now(),
        );
        if !failed_before {
            self.report(pool, &mut current, deleting, "Cleanup").await?;
        }
        let keys = self.keys.get(pool).await?.unwrap_or_default();
        let removed = async {
            let clients = self.clients(pool.spec.region.as_deref()).await?;
            let req = recorded::request(pool, &self.zip, &keys, &current)?;
            Ok::<_, Error>(reconcile::delete(&clients, &req).await?)
        }
        .await;
        match removed {
            Ok(outcome) => {
                output::delete(&self.client, pool).await?;
                self.keys.delete(pool).await?;
                if let Ok(mut s) = self.synced.lock() {
                    s.remove(&ObjectRef::from_obj(pool));
                }
                if let (Some(uid), Ok(mut w)) = (&pool.metadata.uid, self.written.lock()) {
                    w.remove(uid);
                }
                tracing::info!(
                    pool = %format!("{}/{}", pool.namespace().unwrap_or_default(), pool.name_any()),
                    retained = matches!(outcome, Deleted::Retained),
                    "cleanup done, releasing the finalizer"
                );
                Ok(Action::await_change())
            }
            Err(e) => {
                self.report_failure(pool, &mut current, &e, CLEANUP_FAILED, &keys, "Cleanup")
                    .await;
                Err(e)
            }
        }
    }
}

async fn reconcile(pool: Arc<PasswordlessPool>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _slot = ctx
        .slots
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    let started = std::time::Instant::now();
    let key = ObjectRef::from_obj(pool.as_ref());
    let api = ctx.api(&pool)?;
    let result = finalizer(&api, FINALIZER, pool, |event| async {
        match event {
            Finalized::Apply(pool) => ctx.apply(&pool).await,
            Finalized::Cleanup(pool) => ctx.cleanup(&pool).await,
        }
    })
    .await
    .map_err(Error::from_finalizer);
    ctx.metrics.reconciled(
        started.elapsed(),
        result.as_ref().err().map(Error::metric_label),
    );
    if result.is_ok() {
        if let Ok(mut f) = ctx.failures.lock() {
            f.remove(&key);
        }
    }
    result
}

fn error_policy(pool: Arc<PasswordlessPool>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(
        pool = %format!("{}/{}", pool.namespace().unwrap_or_default(), pool.name_any()),
        error = %error,
        label = error.metric_label(),
        "reconcile failed"
    );
    if error.waits_for_change() {
        return Action::await_change();
    }
    let failures = ctx
        .failures
        .lock()
        .map(|mut f| {
            let n = f.entry(ObjectRef::from_obj(pool.as_ref())).or_default();
            *n += 1;
            *n
        })
        .unwrap_or(1);
    Action::requeue(backoff(failures, random_fraction()))
}

/// Runs the controllers (one per watched namespace, or one for all) until `shutdown` resolves,
/// letting reconciles in flight finish.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    let scopes: Vec<Option<String>> = if ctx.settings.namespaces.is_empty() {
        vec![None]
    } else {
        ctx.settings.namespaces.iter().cloned().map(Some).collect()
    };
    let secrets_selector = format!("{MANAGED_BY_LABEL}={}", crate::names::MANAGED_BY);
    let controllers = scopes.into_iter().map(|scope| {
        let (pools, secrets): (Api<PasswordlessPool>, Api<Secret>) = match &scope {
            Some(ns) => (
                Api::namespaced(ctx.client.clone(), ns),
                Api::namespaced(ctx.client.clone(), ns),
            ),
            None => (Api::all(ctx.client.clone()), Api::all(ctx.client.clone())),
        };
        let controller = Controller::new(pools, watcher::Config::default().any_semantic())
            .owns(
                secrets,
                watcher::Config::default()
                    .labels(&secrets_selector)
                    .any_semantic(),
            )
            .with_config(
                controller::Config::default()
                    .concurrency(u16::try_from(ctx.settings.concurrency).unwrap_or(u16::MAX)),
            )
            .graceful_shutdown_on(shutdown.clone());
        ctx.metrics.count_pools(controller.store());
        controller
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|result| async move {
                match result {
                    Ok((pool, _)) => tracing::debug!(pool = %pool, "reconciled"),
                    // Reconcile failures were logged by the error policy.
                    Err(controller::Error::ReconcilerFailed(..)) => {}
                    Err(e) => tracing::warn!(error = %e, "controller"),
                }
            })
    });
    futures::future::join_all(controllers).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_downwards_only() {
        assert_eq!(backoff(1, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(2, 1.0), Duration::from_secs(4));
        assert_eq!(backoff(4, 1.0), Duration::from_secs(16));
        assert_eq!(backoff(30, 1.0), BACKOFF_CAP);
        assert_eq!(backoff(3, 0.0), Duration::from_secs(4));
        assert!(backoff(3, 0.5) < backoff(3, 1.0));
    }

    #[test]
    fn only_an_invalid_spec_waits_for_a_change_and_labels_are_stable() {
        let invalid = Error::Reconcile(reconcile::Error::InvalidSpec(
            crate::validate::validate(&serde_yaml::from_str("strategy: magicLink").unwrap())
                .unwrap_err(),
        ));
        assert!(invalid.waits_for_change());
        assert_eq!(invalid.reason(), reasons::INVALID_SPEC);
        assert_eq!(invalid.metric_label(), "invalid_spec");
        let keys = Error::Keys("x".into());
        assert!(!keys.waits_for_change());
        assert_eq!(keys.reason(), reasons::SIGNING_KEY_ERROR);
        assert_eq!(keys.metric_label(), "signing_keys");
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let mut keys = State::default();
        crate::keys::advance(&mut keys, crate::keys::Rotation::Keep, 1, 900);
        let secret = keys.signing_keys[0].secret.clone();
        let scrubbed = redact(format!("AWS said: bad value {secret}!"), &keys);
        assert_eq!(scrubbed, "AWS said: bad value <redacted>!");
    }
}

//! The kube-runtime wiring: one Controller per watched namespace (or one for all), each
//! watching PasswordlessPools and the Secrets this operator writes, sharing one bound on the
//! pools reconciled at once, with the error policy that turns failures into backoff; and
//! leader election around them, so only the replica holding the Lease reconciles.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::utils::Backoff;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use tokio::sync::Semaphore;

use super::FINALIZER;
use super::context::Context;
use super::errors::{Disposition, Error};
use super::finalize::reconcile;
use super::leader::Leader;
use super::schedule::{backoff, random_fraction, until_pool_slot, watch_retry};
use super::secrets::managed_selector;
use crate::annotations;
use crate::crd::{PasswordlessPool, PasswordlessPoolStatus};

/// Waits for the Lease, then runs the controllers while holding it, until `shutdown` resolves.
/// A lost Lease (another replica took it, or the apiserver was away too long to renew it) stops
/// the controllers at once, so two replicas never reconcile together, and this replica stands by
/// to take it again: no exit, so an apiserver outage never becomes a crash loop. `/readyz`
/// follows whether the apiserver answers the Lease's rounds.
pub async fn lead(
    ctx: Arc<Context>,
    lease: &Leader,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    let identity = &ctx.settings.identity;
    let reachable = |answered: bool| ctx.metrics.set_ready(answered);
    loop {
        tracing::info!(%identity, lease = %lease.settings().name, "waiting for the leader lease");
        tokio::select! {
            () = lease.acquire(&reachable) => {}
            () = shutdown.clone() => return,
        }
        ctx.caches.new_term().await;
        ctx.metrics.set_leader(true);
        let namespaces = &ctx.settings.namespaces;
        tracing::info!(
            %identity,
            namespaces = %if namespaces.is_empty() { "all".to_owned() } else { namespaces.join(",") },
            "leading: reconciling PasswordlessPools"
        );
        tokio::select! {
            () = run(ctx.clone(), shutdown.clone()) => break,
            () = lease.keep(&reachable) => {
                ctx.metrics.set_leader(false);
                tracing::warn!("stepped down: reconciles stopped; standing by for the lease");
            }
        }
    }
    ctx.metrics.set_leader(false);
    match lease.release().await {
        Ok(()) => tracing::info!("stopped; leader lease released"),
        Err(e) => {
            tracing::warn!(error = %e, "releasing the leader lease failed; it expires on its own")
        }
    }
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
    // Each Controller bounds its own reconciles; this bounds them across all of them.
    let slots = Arc::new(Semaphore::new(ctx.settings.concurrency.max(1)));
    let secrets_selector = managed_selector();
    let mut stores = Vec::new();
    let controllers: Vec<_> = scopes
        .into_iter()
        .map(|scope| {
            let (pools, secrets): (Api<PasswordlessPool>, Api<Secret>) = match &scope {
                Some(ns) => (
                    Api::namespaced(ctx.client.clone(), ns),
                    Api::namespaced(ctx.client.clone(), ns),
                ),
                None => (Api::all(ctx.client.clone()), Api::all(ctx.client.clone())),
            };
            // The cache keeps what reconciles read, held for every pool for the process's
            // life: no managedFields, no labels, of the annotations only the operator's own, and
            // no messages in other languages (read whole when needed). A tenant's megabytes of
            // labels or messages cost a moment of decoding, not memory.
            let (cache, writer) = reflector::store();
            let forget = ctx.clone();
            let pools = watcher(pools, watcher::Config::default().any_semantic())
                .modify(keep_what_reconciles_read)
                .reflect(writer)
                // A pool gone without the operator's cleanup (its finalizer taken off by
                // hand) leaves nothing behind in the caches either. A pool seen takes its place
                // in the resync period at once: after a restart the places are those of the
                // whole fleet before the first comparisons pick their slots.
                .inspect_ok(move |event| match event {
                    watcher::Event::Delete(pool) => forget.caches.forget(pool),
                    watcher::Event::Apply(pool) | watcher::Event::InitApply(pool) => {
                        forget.caches.know(pool);
                    }
                    _ => {}
                })
                .applied_objects();
            let controller = Controller::for_stream(pools, cache)
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
                .trigger_backoff(WatchBackoff::default())
                .graceful_shutdown_on(shutdown.clone());
            stores.push(controller.store());
            let slots = slots.clone();
            let reconcile_in_slot = move |pool, ctx| {
                let slots = slots.clone();
                async move {
                    let _slot = slots
                        .acquire_owned()
                        .await
                        .map_err(|e| Error::Internal(e.to_string()))?;
                    reconcile(pool, ctx).await
                }
            };
            controller
                .run(reconcile_in_slot, error_policy, ctx.clone())
                .for_each(|result| async move {
                    match result {
                        Ok((pool, _)) => tracing::debug!(pool = %pool, "reconciled"),
                        // Reconcile failures were logged by the error policy.
                        Err(controller::Error::ReconcilerFailed(..)) => {}
                        // A reconcile queued for a pool deleted meanwhile: the normal end of
                        // every deletion, not a fault.
                        Err(controller::Error::ObjectNotFound(pool)) => {
                            tracing::debug!(pool = %pool, "gone before its queued reconcile")
                        }
                        Err(e) => tracing::warn!(error = %e, "controller"),
                    }
                })
        })
        .collect();
    ctx.metrics.count_pools(stores);
    futures::future::join_all(controllers).await;
}

/// The cached pool without what no reconcile reads (the operator's own annotations are the
/// metadata it reads besides names, uid, generation and deletion).
fn keep_what_reconciles_read(pool: &mut PasswordlessPool) {
    pool.managed_fields_mut().clear();
    pool.labels_mut().clear();
    pool.owner_references_mut().clear();
    // The finalizer helper patches the list it read (a JSON-patch test of the whole list, and
    // its own entry by index), so an ordinary list is kept as it is. Only a list no controller
    // would write is cut to the operator's own entry: that object's own finalizer patches then
    // fail, which harms no one else.
    let finalizers: usize = pool.finalizers().iter().map(String::len).sum();
    if finalizers > MAX_FINALIZER_BYTES {
        pool.finalizers_mut().retain(|f| f == FINALIZER);
    }
    pool.annotations_mut().retain(|k, v| {
        annotations::ALL.iter().any(|a| a.name == k) && v.len() <= annotations::MAX_VALUE
    });
    // Messages in other languages (up to a megabyte a pool) are read whole when a comparison
    // with AWS needs them, not kept: the mark says so (a tenant's own value of it was just
    // dropped with the other annotations).
    if elide_messages(pool) {
        pool.annotations_mut()
            .insert(MESSAGES_ELIDED.to_owned(), "true".to_owned());
    }
    if let Some(status) = pool.status.as_mut() {
        bound_status(status);
    }
}

/// Marks a cached pool whose messages in other languages were left out.
const MESSAGES_ELIDED: &str = "passwordless-operator.dev/cache-messages-elided";

/// Clears the pool's messages in other languages; whether it had any.
fn elide_messages(pool: &mut PasswordlessPool) -> bool {
    let email = pool
        .spec
        .email
        .as_mut()
        .map(|e| std::mem::take(&mut e.localized));
    let sms = pool
        .spec
        .sms
        .as_mut()
        .map(|s| std::mem::take(&mut s.localized));
    email.is_some_and(|m| !m.is_empty()) || sms.is_some_and(|m| !m.is_empty())
}

/// Whether the cached pool lacks its messages in other languages ([`keep_what_reconciles_read`]).
pub(super) fn messages_elided(pool: &PasswordlessPool) -> bool {
    pool.annotations().contains_key(MESSAGES_ELIDED)
}

/// The most finalizer text kept as it is (a handful of names of up to 316 characters).
const MAX_FINALIZER_BYTES: usize = 4096;
/// The longest status text kept: far above what the operator writes (ids, ARNs, URLs, its
/// messages), far below the megabytes anyone with status access could write.
const MAX_STATUS_TEXT: usize = 4096;
/// Conditions kept: the operator writes at most four (Ready, Reconciling or Stalled,
/// DeliveryRestricted, Paused).
const MAX_CONDITIONS: usize = 8;
/// Trigger function ARNs kept: the operator writes one.
const MAX_FUNCTION_ARNS: usize = 4;

/// A status as big as the operator would write it: a longer id or URL is not the operator's and
/// reads as absent, a longer condition message is cut.
fn bound_status(status: &mut PasswordlessPoolStatus) {
    let fits = |text: &str| text.len() <= MAX_STATUS_TEXT;
    status.conditions.truncate(MAX_CONDITIONS);
    status
        .conditions
        .retain(|c| fits(&c.type_) && fits(&c.reason) && fits(&c.status));
    for condition in &mut status.conditions {
        if !fits(&condition.message) {
            let mut end = MAX_STATUS_TEXT;
            while !condition.message.is_char_boundary(end) {
                end -= 1;
            }
            condition.message.truncate(end);
        }
    }
    for text in [
        &mut status.user_pool_id,
        &mut status.user_pool_arn,
        &mut status.client_id,
        &mut status.region,
        &mut status.issuer_url,
        &mut status.jwks_url,
        &mut status.web_acl_arn,
        &mut status.secret_name,
        &mut status.last_handled_reconcile_at,
    ] {
        if text.as_deref().is_some_and(|t| !fits(t)) {
            *text = None;
        }
    }
    status.trigger_function_arns.truncate(MAX_FUNCTION_ARNS);
    status.trigger_function_arns.retain(|arn| fits(arn));
    let too_big =
        |json: serde_json::Result<String>| json.map_or(true, |j| j.len() > MAX_STATUS_TEXT);
    if too_big(serde_json::to_string(&status.sender)) {
        status.sender = None;
    }
    if too_big(serde_json::to_string(&status.managed_login)) {
        status.managed_login = None;
    }
    if too_big(serde_json::to_string(&status.tier)) {
        status.tier = None;
    }
}

/// How long a failed watch waits before it lists and watches again: after an apiserver restart
/// the watches must be back within seconds, not after kube-runtime's default 30 s ceiling.
#[derive(Default)]
struct WatchBackoff {
    failures: u32,
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.failures = self.failures.saturating_add(1);
        Some(watch_retry(self.failures, random_fraction()))
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A failure that waits for a change is re-checked each resync, not hammered (a freed Secret
/// name is noticed there; a spec change comes sooner through the watch); any other is retried
/// with backoff.
fn error_policy(pool: Arc<PasswordlessPool>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(
        pool = %format!("{}/{}", pool.namespace().unwrap_or_default(), pool.name_any()),
        error = %error,
        label = error.metric_label(),
        "reconcile failed"
    );
    if error.disposition() == Disposition::WaitForChange {
        // At the pool's slot, as a quiet resync is: pools stalled together come back spread.
        return Action::requeue(until_pool_slot(
            ctx.caches.place(&pool),
            ctx.settings.resync,
        ));
    }
    let failures = ctx.caches.count_failure(&pool);
    Action::requeue(backoff(failures, random_fraction()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool's messages in other languages are not kept, and the mark says so; a tenant
    /// cannot set the mark.
    #[test]
    fn the_cache_keeps_no_messages_in_other_languages() {
        let mut pool: PasswordlessPool = serde_json::from_value(serde_json::json!({
            "apiVersion": "passwordless-operator.dev/v1alpha1", "kind": "PasswordlessPool",
            "metadata": {"name": "web", "namespace": "shop",
                "annotations": {MESSAGES_ELIDED: "true"}},
            "spec": {"strategy": "emailOtp", "email": {"subject": "Code",
                "localized": {"de": {"subject": "x".repeat(200)}}}}
        }))
        .unwrap();
        keep_what_reconciles_read(&mut pool);
        assert!(messages_elided(&pool));
        let email = pool.spec.email.as_ref().unwrap();
        assert!(email.localized.is_empty());
        assert_eq!(email.subject.as_deref(), Some("Code"), "the default stays");
        let mut plain = pool.clone();
        plain.spec.email = None;
        plain.metadata.annotations = Some(
            [(MESSAGES_ELIDED.to_owned(), "true".to_owned())]
                .into_iter()
                .collect(),
        );
        keep_what_reconciles_read(&mut plain);
        assert!(!messages_elided(&plain), "a tenant's own mark is dropped");
    }

    #[test]
    fn the_cache_keeps_no_labels_only_the_operators_annotations_and_a_bounded_status() {
        let mut pool: PasswordlessPool = serde_json::from_value(serde_json::json!({
            "apiVersion": "passwordless-operator.dev/v1alpha1", "kind": "PasswordlessPool",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "generation": 3,
                "labels": {"big": "x".repeat(60_000)},
                "annotations": {"huge": "y".repeat(200_000), annotations::ROTATE: "2026-12-06",
                    annotations::PAUSED: "true", annotations::RECONCILE_REQUESTED: "r".repeat(300),
                    "kubectl.kubernetes.io/last-applied-configuration": "{}"},
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
            "spec": {"strategy": "smsOtp"}
        }))
        .unwrap();
        let huge = "z".repeat(1_000_000);
        pool.status = Some(PasswordlessPoolStatus {
            user_pool_id: Some("eu-west-1_A".into()),
            client_id: Some(huge.clone()),
            trigger_function_arns: vec![huge.clone(); 50],
            conditions: (0..100)
                .map(
                    |i| k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                        type_: format!("T{i}"),
                        status: "True".into(),
                        reason: "Forged".into(),
                        message: huge.clone(),
                        last_transition_time: crate::status::now(),
                        observed_generation: None,
                    },
                )
                .collect(),
            ..Default::default()
        });
        // Another controller's finalizer beside ours: kept, in order (the finalizer helper
        // patches by index and tests the whole list).
        let ordinary = vec!["foregroundDeletion".to_owned(), FINALIZER.to_owned()];
        pool.metadata.finalizers = Some(ordinary.clone());
        keep_what_reconciles_read(&mut pool);
        assert_eq!(pool.finalizers(), ordinary.as_slice());
        assert!(pool.labels().is_empty() && pool.managed_fields().is_empty());
        let status = pool.status.as_ref().unwrap();
        assert_eq!(status.user_pool_id.as_deref(), Some("eu-west-1_A"));
        assert_eq!(status.client_id, None, "an id no operator wrote");
        assert!(status.trigger_function_arns.is_empty());
        assert_eq!(status.conditions.len(), MAX_CONDITIONS);
        assert!(
            status
                .conditions
                .iter()
                .all(|c| c.message.len() == MAX_STATUS_TEXT)
        );
        assert!(serde_json::to_string(status).unwrap().len() < 64 * 1024);
        assert_eq!(
            pool.annotations().keys().collect::<Vec<_>>(),
            [annotations::PAUSED, annotations::ROTATE],
            "an overlong request is dropped"
        );
        assert_eq!(
            (pool.uid().as_deref(), pool.metadata.generation),
            (Some("u-1"), Some(3))
        );
        assert!(!messages_elided(&pool));
        // A megabyte of finalizers is not an ordinary list: only ours stays.
        let mut hostile = ordinary;
        hostile.extend((0..4000).map(|i| format!("example.com/f-{i:04}-{}", "x".repeat(250))));
        pool.metadata.finalizers = Some(hostile);
        keep_what_reconciles_read(&mut pool);
        assert_eq!(pool.finalizers(), [FINALIZER]);
    }
}

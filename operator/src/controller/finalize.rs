//! One pool's reconcile, split by the finalizer: Apply converges AWS, the status and the output
//! Secret; Cleanup removes (or, under `Retain`, keeps) the AWS resources and lets the pool go.
//! Both call the same reconcile core as the CLI.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalized, finalizer};
use tokio::time::Instant;

use super::FINALIZER;
use super::context::Context;
use super::errors::Error;
use super::output;
use super::reporting::StatusStore;
use super::schedule::{next_sync, requeue_after, until_pool_slot};
use crate::annotations;
use crate::crd::{DeletionPolicy, PasswordlessPool, PasswordlessPoolStatus};
use crate::reconcile::{Deleted, Purpose};
use crate::recorded::{self, RecordingSink};
use crate::state::{State, unix_now};
use crate::status::{self, now, reasons};

/// Opens the message of a failed cleanup, so a retry that fails alike raises no new event.
const CLEANUP_FAILED: &str = "AWS cleanup failed; the finalizer stays until it succeeds: ";

/// The reconciler the Controller runs: the finalizer picks Apply or Cleanup.
pub async fn reconcile(pool: Arc<PasswordlessPool>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let deleting = pool.metadata.deletion_timestamp.is_some();
    let result = if annotations::paused(&pool.metadata) {
        ctx.pause(&pool).await
    } else if deleting && ctx.caches.released(&pool) {
        // Released already; the watch has not shown it yet.
        Ok(Action::await_change())
    } else {
        let api = ctx.api(&pool)?;
        let done = finalizer(&api, FINALIZER, pool.clone(), |event| async {
            match event {
                Finalized::Apply(pool) => ctx.apply(&pool).await,
                Finalized::Cleanup(pool) => ctx.cleanup(&pool).await,
            }
        })
        .await
        .map_err(Error::from_finalizer);
        // A deleted pool's reconcile that succeeded leaves it without our finalizer (none can
        // be added to an object being deleted).
        if deleting && done.is_ok() {
            ctx.caches.mark_released(&pool);
        }
        done
    };
    ctx.metrics.reconciled(
        started.elapsed(),
        result.as_ref().err().map(Error::metric_label),
    );
    if result.is_ok() {
        ctx.caches.clear_failures(&pool);
    }
    result
}

impl Context {
    /// Holds off a paused pool, deleted or not: only its `Paused` condition is written. The
    /// last comparison with AWS is forgotten, so the pool is compared again the moment the
    /// annotation goes.
    async fn pause(&self, pool: &PasswordlessPool) -> Result<Action, Error> {
        self.caches.forget_sync(pool);
        let mut current = self.current_status(pool);
        let newly = !status::is_paused(current.as_ref());
        let next = status::paused(
            current.as_ref(),
            pool.metadata.deletion_timestamp.is_some(),
            pool.metadata.generation,
            now(),
        );
        self.report(pool, &mut current, next, "Pause").await?;
        if newly {
            tracing::info!(pool = %pool_ref(pool), "paused by annotation");
            self.notice(
                pool,
                reasons::RECONCILE_PAUSED,
                "the operator leaves this pool alone until the annotation passwordless-operator.dev/paused is removed",
                "Pause",
            )
            .await;
        }
        Ok(Action::await_change())
    }

    /// Converges AWS, the status, and the output Secret.
    async fn apply(&self, pool: &PasswordlessPool) -> Result<Action, Error> {
        let mut current = self.current_status(pool);
        if let Err(e) = output::check_name_free(&self.client, pool).await {
            let none = State::default();
            self.report_failure(pool, &mut current, &e, "", &none, "Reconcile")
                .await;
            return Err(e);
        }
        // A spec that cannot work, or that the platform team refuses, gets no keys Secret. Keys
        // it already has still move out of a namespace being migrated from (a read moves them),
        // so a migration finishes for refused pools too.
        if let Err(e) = crate::reconcile::Request::admissible(pool, &self.settings.platform) {
            if let Err(moving) = self.key_store().get(pool).await {
                tracing::debug!(error = %moving, "reading a refused pool's keys failed");
            }
            let e = Error::from(e);
            let none = State::default();
            self.report_failure(pool, &mut current, &e, "", &none, "Reconcile")
                .await;
            return Err(e);
        }
        let keys = match self.key_store().ensure(pool, unix_now()).await {
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
        // calls while the last comparison with AWS still holds for this spec and these keys,
        // unless the team asks for one with a value not handled before.
        let requested = annotations::value(&pool.metadata, annotations::RECONCILE_REQUESTED)
            .filter(|r| {
                current
                    .as_ref()
                    .and_then(|s| s.last_handled_reconcile_at.as_deref())
                    != Some(*r)
            });
        let synced = match requested {
            Some(_) => None,
            None => self.caches.synced_until(pool, &kids),
        };
        let next_check = match synced {
            Some(until) => until.saturating_duration_since(Instant::now()),
            None => {
                let outcome = self.sync_aws(pool, &keys, &mut current).await;
                if let Err(e) = &outcome {
                    self.report_failure(pool, &mut current, e, "", &keys, "Reconcile")
                        .await;
                }
                // Handled, whatever came of it: a failure is retried as any other.
                if let Some(value) = requested {
                    let mut next = current.clone().unwrap_or_default();
                    next.last_handled_reconcile_at = Some(value.to_owned());
                    self.report(pool, &mut current, next, "Reconcile").await?;
                }
                let after = outcome?;
                self.caches.mark_synced(pool, kids, Instant::now() + after);
                after
            }
        };
        if let Some(secret) = current
            .as_ref()
            .and_then(|s| output::output_secret(pool, s))
        {
            output::apply(&self.client, &secret).await?;
        }
        // Retired keys leave the trigger as soon as their links have expired.
        let key_expiry = crate::key_rotation::next_expiry(&keys, pool.spec.retired_key_seconds());
        Ok(Action::requeue(requeue_after(
            next_check,
            key_expiry,
            unix_now(),
        )))
    }

    /// One comparison with AWS and the status it leads to; returns when to compare again.
    async fn sync_aws(
        &self,
        pool: &PasswordlessPool,
        keys: &State,
        current: &mut Option<PasswordlessPoolStatus>,
    ) -> Result<Duration, Error> {
        // The cache leaves a pool's messages in other languages out: a comparison with AWS
        // reads the pool whole (a reconcile the cache answers needs no read).
        let whole;
        let pool = if super::wiring::messages_elided(pool) {
            let (_, name) = super::secrets::namespace_and_name(pool)?;
            whole = self.api(pool)?.get(name).await?;
            &whole
        } else {
            pool
        };
        let generation = pool.metadata.generation;
        let new_spec = current.as_ref().and_then(|s| s.observed_generation) != generation;
        // The spec and the tenancy rules first: no AWS client for a spec that cannot work.
        let req = recorded::request(
            Purpose::Apply,
            pool,
            &self.settings.platform,
            &self.code,
            keys,
            &*current,
        )?;
        let clients = self.clients(pool, pool.spec.region.as_deref()).await?;
        let lives = current.as_ref().and_then(|s| s.region.as_deref());
        crate::validate::check_region_stays(&clients.region, lives)
            .map_err(crate::reconcile::Error::from)?;
        // Where the stack lives is recorded before its first resource exists: a region changed
        // after a crash mid-apply is refused, and the deletion cleans this region.
        if status::ready_of(current.as_ref()).is_none() || lives.is_none() {
            let mut next = match status::ready_of(current.as_ref()) {
                None => status::with_ready(
                    current.as_ref(),
                    (false, false),
                    reasons::PROVISIONING,
                    "creating the AWS resources".into(),
                    generation,
                    now(),
                ),
                Some(_) => current.clone().unwrap_or_default(),
            };
            next.region = Some(clients.region.clone());
            self.report(pool, current, next, "Reconcile").await?;
        }
        let mut sink = RecordingSink {
            record: current.clone(),
            store: StatusStore { ctx: self, pool },
        };
        let applied = crate::reconcile::apply(&clients, &req, &mut sink).await;
        *current = sink.record;
        let applied = applied?;
        if let Some(warning) = status::tier_raised(&applied.changes, &applied.outputs.tier) {
            self.warn(pool, reasons::TIER_RAISED, &warning, "Reconcile")
                .await;
        }
        // Once per spec change: the first sync of a new generation.
        if new_spec {
            for warning in crate::validate::warnings(&req.spec) {
                self.warn(pool, warning.reason, &warning.message, "Reconcile")
                    .await;
            }
        }
        let next = status::status_of(&applied.outputs, generation, now());
        let after = next_sync(
            status::ready_of(Some(&next)).map(|c| c.reason.as_str()),
            self.settings.resync,
            until_pool_slot(self.caches.place(pool), self.settings.resync),
        );
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
            (false, false),
            reasons::DELETING,
            format!(
                "deleting; AWS resources: {}",
                match (&pool.spec.adopt, pool.spec.deletion_policy) {
                    (Some(_), _) => "kept (an adopted user pool is never deleted)",
                    (None, DeletionPolicy::Retain) => "kept (deletionPolicy: Retain)",
                    (None, DeletionPolicy::Delete) => "being removed",
                }
            ),
            pool.metadata.generation,
            now(),
        );
        if !failed_before {
            self.report(pool, &mut current, deleting, "Cleanup").await?;
        }
        let key_store = self.key_store();
        let keys = key_store.get(pool).await?.unwrap_or_default();
        let removed = async {
            // Where the stack lives, whatever the spec names now. The status is only a hint
            // (anyone with status access writes it): a region the schema would refuse is not
            // one to build clients for.
            let region = current
                .as_ref()
                .and_then(|s| s.region.clone())
                .filter(|r| crate::validate::region_is_shaped(r))
                .or_else(|| pool.spec.region.clone());
            let clients = match self.clients(pool, region.as_deref()).await {
                // A namespace the platform team refuses, and a pool that recorded no user pool:
                // refused from the start, it never reached AWS, so it may go rather than hang
                // on its finalizer. (If a mapping was removed after a first partial apply, the
                // warning is the trail.)
                Err(Error::Reconcile(crate::reconcile::Error::NotAllowed(refused)))
                    if current.as_ref().is_none_or(|s| s.user_pool_id.is_none()) =>
                {
                    tracing::warn!(%refused, "cleanup of a pool refused before it reached AWS");
                    return Ok(Deleted::Retained);
                }
                other => other?,
            };
            let req = recorded::request(
                Purpose::Cleanup,
                pool,
                &self.settings.platform,
                &self.code,
                &keys,
                &current,
            )?;
            Ok::<_, Error>(crate::reconcile::delete(&clients, &req).await?)
        }
        .await;
        match removed {
            Ok(outcome) => {
                output::delete(&self.client, pool).await?;
                key_store.delete(pool).await?;
                self.caches.forget(pool);
                tracing::info!(
                    pool = %pool_ref(pool),
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

/// `namespace/name`, as logs show a pool.
fn pool_ref(pool: &PasswordlessPool) -> String {
    format!(
        "{}/{}",
        pool.namespace().unwrap_or_default(),
        pool.name_any()
    )
}

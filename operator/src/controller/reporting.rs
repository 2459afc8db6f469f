//! What the controller tells people: the status, written by server-side apply only when it
//! changed, the IDs AWS assigns the moment it assigns them, and an event when `Ready` changes
//! reason, never on a quiet resync.

use kube::Resource;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};

use super::FIELD_MANAGER;
use super::context::Context;
use super::errors::{Disposition, Error};
use super::secrets::namespace_and_name;
use crate::crd::{PasswordlessPool, PasswordlessPoolStatus};
use crate::reconcile::RecordError;
use crate::recorded::RecordStore;
use crate::state::State;
use crate::status::{self, now, reasons};

impl Context {
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
        self.caches.mark_written(pool, status);
        Ok(())
    }

    /// The pool's status as last written, else as the watch reported it.
    pub(super) fn current_status(&self, pool: &PasswordlessPool) -> Option<PasswordlessPoolStatus> {
        self.caches.current_status(pool)
    }

    /// Writes `next` if it differs from `current`, and an event if `Ready` changed reason.
    pub(super) async fn report(
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
                let event = Event {
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
                self.publish(&event, pool).await;
            }
        }
        if let Some(restricted) = &settled.restricted {
            let event = Event {
                type_: EventType::Warning,
                reason: restricted.reason.clone(),
                note: Some(restricted.message.chars().take(1000).collect()),
                action: action.to_owned(),
                secondary: None,
            };
            self.publish(&event, pool).await;
        }
        *current = Some(settled.status);
        Ok(())
    }

    /// A Warning event that no condition carries (a spec that works but should not).
    pub(super) async fn warn(
        &self,
        pool: &PasswordlessPool,
        reason: &str,
        note: &str,
        action: &str,
    ) {
        self.event(pool, EventType::Warning, reason, note, action)
            .await;
    }

    /// A Normal event beside the `Ready` transitions (a pause).
    pub(super) async fn notice(
        &self,
        pool: &PasswordlessPool,
        reason: &str,
        note: &str,
        action: &str,
    ) {
        self.event(pool, EventType::Normal, reason, note, action)
            .await;
    }

    async fn event(
        &self,
        pool: &PasswordlessPool,
        type_: EventType,
        reason: &str,
        note: &str,
        action: &str,
    ) {
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note.chars().take(1000).collect()),
            action: action.to_owned(),
            secondary: None,
        };
        self.publish(&event, pool).await;
    }

    /// Publishes an event about the pool. An event is a courtesy: failing to publish one must
    /// not fail the reconcile. A recorder per event: kube's `Recorder` keeps each event it
    /// published for six minutes to count repeats, pruning only when it publishes again, so a
    /// fleet's first apply (a few events per pool) would stay resident at rest. Ours mark
    /// transitions: repeats within minutes are rare, and each then is an event of its own.
    async fn publish(&self, event: &Event, pool: &PasswordlessPool) {
        let recorder = Recorder::new(self.client.clone(), self.reporter.clone());
        if let Err(e) = recorder.publish(event, &pool.object_ref(&())).await {
            tracing::warn!(error = %e, "publishing an event failed");
        }
    }

    pub(super) async fn report_failure(
        &self,
        pool: &PasswordlessPool,
        current: &mut Option<PasswordlessPoolStatus>,
        error: &Error,
        context: &str,
        keys: &State,
        action: &str,
    ) {
        let message = redact(format!("{context}{error}"), keys);
        let stalled = error.disposition() == Disposition::WaitForChange;
        let next = status::with_ready(
            current.as_ref(),
            (false, stalled),
            error.reason(),
            message,
            pool.metadata.generation,
            now(),
        );
        if let Err(e) = self.report(pool, current, next, action).await {
            tracing::warn!(error = %e, "writing the failure status failed");
        }
    }
}

/// The pool's status as the place AWS IDs are recorded the moment they are assigned: a crash
/// then resumes with them.
pub(super) struct StatusStore<'a> {
    pub ctx: &'a Context,
    pub pool: &'a PasswordlessPool,
}

impl RecordStore<Option<PasswordlessPoolStatus>> for StatusStore<'_> {
    async fn write(&mut self, status: &Option<PasswordlessPoolStatus>) -> Result<(), RecordError> {
        let Some(status) = status else {
            return Ok(());
        };
        self.ctx
            .patch_status(self.pool, status)
            .await
            .map_err(|e| RecordError(e.into()))
    }
}

/// Replaces any signing secret that could have slipped into a message by `<redacted>`.
fn redact(message: String, keys: &State) -> String {
    keys.signing_keys
        .iter()
        .fold(message, |m, k| m.replace(&k.secret, "<redacted>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let mut keys = State::default();
        crate::key_rotation::advance(&mut keys, crate::key_rotation::Rotation::Keep, 1, 900);
        let secret = keys.signing_keys[0].secret.clone();
        let scrubbed = redact(format!("AWS said: bad value {secret}!"), &keys);
        assert_eq!(scrubbed, "AWS said: bad value <redacted>!");
    }
}

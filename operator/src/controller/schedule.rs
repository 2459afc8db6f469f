//! When a pool is looked at again: a periodic resync spread out by jitter, quicker rechecks
//! while it is being created or waits for its sender, sooner when a retired signing key is due
//! to go, and a jittered exponential backoff after failures. Pure.

use std::time::Duration;

use crate::status::reasons;

/// How often a pool still being created, or waiting for its sender, is looked at again.
const PENDING_RECHECK: Duration = Duration::from_secs(10);
const SENDER_RECHECK: Duration = Duration::from_secs(60);
/// Backoff after failures: doubles from the first delay, capped, with jitter.
const BACKOFF_FIRST: Duration = Duration::from_secs(2);
const BACKOFF_CAP: Duration = Duration::from_secs(300);
const WATCH_RETRY_FIRST: Duration = Duration::from_millis(500);
const WATCH_RETRY_CAP: Duration = Duration::from_secs(4);

/// A uniform fraction in [0, 1) from the OS random source, for jitter.
pub fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

/// The delay after the `failures`-th failure in a row: doubling, capped, then scaled by a
/// factor in [0.5, 1) so failing pools do not retry in lockstep.
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    doubling(BACKOFF_FIRST, BACKOFF_CAP, failures, jitter)
}

fn doubling(first: Duration, cap: Duration, failures: u32, jitter: f64) -> Duration {
    let doubled = first.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    doubled.min(cap).mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// A failed watch's wait before it lists again: doubling from half a second to a few seconds,
/// scaled into [0.5, 1) like [`backoff`]. Short, so watches are back soon after an apiserver
/// restart; two watches per namespace retrying every few seconds are no burden on it.
pub fn watch_retry(failures: u32, jitter: f64) -> Duration {
    doubling(WATCH_RETRY_FIRST, WATCH_RETRY_CAP, failures, jitter)
}

/// When a pool whose `Ready` reason is `reason` is compared with AWS again: a ready pool after
/// the resync period ±10%, one waiting for its sender within a minute, any other soon. A pool
/// that was just changed (`changed`: created, updated or repaired) is next compared at a
/// uniform point of the period instead, so a fleet applied at once does not resync in one
/// burst every period ever after: its resyncs spread over the whole period from the start.
pub fn next_sync(reason: Option<&str>, resync: Duration, jitter: f64, changed: bool) -> Duration {
    let jitter = jitter.clamp(0.0, 1.0);
    match reason {
        Some(reasons::READY) if changed => resync.mul_f64(0.1 + 0.9 * jitter),
        Some(reasons::READY) => resync.mul_f64(0.9 + jitter / 5.0),
        // A person must act, or Cognito takes minutes: not every 10 s.
        Some(
            reasons::SENDER_NOT_VERIFIED | reasons::DOMAIN_NOT_ACTIVE | reasons::DOMAIN_FAILED,
        ) => SENDER_RECHECK.min(resync),
        _ => PENDING_RECHECK,
    }
}

/// The requeue after an apply: the next comparison, or just after the next retired key's
/// expiry (Unix seconds) if that comes first, so the key leaves the trigger on time.
pub fn requeue_after(next_sync: Duration, key_expiry: Option<u64>, now_unix: u64) -> Duration {
    key_expiry
        .map(|at| Duration::from_secs(at.saturating_sub(now_unix) + 1))
        .map_or(next_sync, |k| k.min(next_sync))
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
    fn a_failed_watch_is_back_within_seconds() {
        assert_eq!(watch_retry(1, 1.0), Duration::from_millis(500));
        assert_eq!(watch_retry(3, 1.0), Duration::from_secs(2));
        assert_eq!(watch_retry(4, 1.0), WATCH_RETRY_CAP);
        assert_eq!(watch_retry(1000, 1.0), WATCH_RETRY_CAP);
        assert_eq!(watch_retry(2, 0.0), Duration::from_millis(500));
    }

    #[test]
    fn the_next_comparison_depends_on_the_ready_reason() {
        let resync = Duration::from_secs(300);
        let cases = [
            (Some(reasons::READY), 0.0, false, Duration::from_secs(270)),
            (Some(reasons::READY), 1.0, false, Duration::from_secs(330)),
            // Just changed: anywhere from a tenth of the period to all of it.
            (Some(reasons::READY), 0.0, true, Duration::from_secs(30)),
            (Some(reasons::READY), 1.0, true, Duration::from_secs(300)),
            (
                Some(reasons::SENDER_NOT_VERIFIED),
                0.5,
                true,
                SENDER_RECHECK,
            ),
            (Some(reasons::DOMAIN_FAILED), 0.5, false, SENDER_RECHECK),
            (Some(reasons::PROVISIONING), 0.5, false, PENDING_RECHECK),
            (None, 0.5, false, PENDING_RECHECK),
        ];
        for (reason, jitter, changed, expected) in cases {
            assert_eq!(
                next_sync(reason, resync, jitter, changed),
                expected,
                "{reason:?} {changed}"
            );
        }
        let short = Duration::from_secs(5);
        assert_eq!(
            next_sync(Some(reasons::SENDER_NOT_VERIFIED), short, 0.5, false),
            short
        );
    }

    #[test]
    fn a_retired_key_due_sooner_brings_the_requeue_forward() {
        let sync = Duration::from_secs(300);
        assert_eq!(requeue_after(sync, None, 1000), sync);
        assert_eq!(
            requeue_after(sync, Some(1100), 1000),
            Duration::from_secs(101)
        );
        assert_eq!(requeue_after(sync, Some(5000), 1000), sync);
        assert_eq!(requeue_after(sync, Some(900), 1000), Duration::from_secs(1));
    }
}

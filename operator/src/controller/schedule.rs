//! When a pool is looked at again: a periodic resync at the pool's own slot of the period,
//! quicker rechecks while it is being created or waits for its sender, sooner when a retired
//! signing key is due to go, and a jittered exponential backoff after failures. Pure, but for
//! [`random_fraction`] and [`until_pool_slot`], which read the OS.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

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

/// A pool's key for its place in the resync period: from its UID, so the same after a restart
/// and on every replica.
pub fn uid_key(uid: &str) -> u64 {
    let digest = Sha256::digest(uid.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Where in the resync period the pool ranked `rank` of `of` (by [`uid_key`]) is compared, in
/// [0, 1): `of` pools take `of` evenly spaced places, whatever order they arrived in.
pub fn place(rank: usize, of: usize) -> f64 {
    if of == 0 {
        return 0.0;
    }
    rank.min(of - 1) as f64 / of as f64
}

/// From `now` (since the Unix epoch), the wait until the next of the moments `phase` of the way
/// through each period (periods counted from the epoch), at least a tenth of a period away: a
/// pool compared at its slot is next compared one period later, and one compared off its slot
/// (just created, changed, or after a restart) goes to its slot, never sooner than a tenth.
pub fn until_slot(now: Duration, period: Duration, phase: f64) -> Duration {
    let p = period.as_nanos();
    if p == 0 {
        return Duration::ZERO;
    }
    let offset = (phase.clamp(0.0, 1.0) * p as f64) as u128 % p;
    let since_slot = (now.as_nanos() % p + p - offset) % p;
    let mut wait = p - since_slot;
    if wait < p / 10 {
        wait += p;
    }
    Duration::from_nanos(u64::try_from(wait).unwrap_or(u64::MAX))
}

/// The wait until the next slot of the resync period at `place` (see [`place`]), by the wall
/// clock (shared by every replica and restart); without a place, a random slot.
pub fn until_pool_slot(place: Option<f64>, resync: Duration) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    until_slot(now, resync, place.unwrap_or_else(random_fraction))
}

/// When a pool whose `Ready` reason is `reason` is compared with AWS again: a ready pool at its
/// slot of the resync period (`to_slot` away), one waiting for its sender within a minute, any
/// other soon.
pub fn next_sync(reason: Option<&str>, resync: Duration, to_slot: Duration) -> Duration {
    match reason {
        Some(reasons::READY) => to_slot,
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
        let slot = Duration::from_secs(123);
        let cases = [
            (Some(reasons::READY), slot),
            (Some(reasons::SENDER_NOT_VERIFIED), SENDER_RECHECK),
            (Some(reasons::DOMAIN_FAILED), SENDER_RECHECK),
            (Some(reasons::PROVISIONING), PENDING_RECHECK),
            (None, PENDING_RECHECK),
        ];
        for (reason, expected) in cases {
            assert_eq!(next_sync(reason, resync, slot), expected, "{reason:?}");
        }
        let short = Duration::from_secs(5);
        assert_eq!(
            next_sync(Some(reasons::SENDER_NOT_VERIFIED), short, slot),
            short
        );
    }

    #[test]
    fn a_pool_waits_for_its_slot_and_never_less_than_a_tenth_of_the_period() {
        let s = Duration::from_secs;
        let period = s(100);
        // (now, phase, wait)
        let cases = [
            (s(1_000), 0.5, s(50)),
            (s(1_050), 0.5, s(100)), // at its slot: one period on
            (s(1_049), 0.5, s(101)), // a second before it: too soon, the next one
            (s(1_040), 0.5, s(10)),  // a tenth away: taken
            (s(1_051), 0.5, s(99)),
            (s(1_000), 0.0, s(100)),
            (s(1_099), 0.0, s(101)),
            (s(1_000), 0.999_999, s(100)),
        ];
        for (now, phase, wait) in cases {
            let got = until_slot(now, period, phase);
            assert!(
                got.abs_diff(wait) < Duration::from_millis(1),
                "{now:?} {phase}: {got:?}"
            );
        }
        assert_eq!(until_slot(s(5), Duration::ZERO, 0.5), Duration::ZERO);
    }

    /// A fleet's comparisons fall evenly over the period, whatever order its pools arrived in
    /// and however often the operator restarted: every tenth holds its share, to one pool.
    #[test]
    fn a_fleets_slots_spread_evenly_whatever_the_arrival_order_and_restarts() {
        let period = Duration::from_secs(150);
        for pools in [10usize, 101, 1_001, 10_000] {
            let mut keys: Vec<u64> = (0..pools)
                .map(|i| uid_key(&format!("6f1c2b9e-0000-4000-8000-{i:012}")))
                .collect();
            keys.sort_unstable();
            let mut tenths = [0usize; 10];
            for (i, key) in keys.iter().enumerate() {
                let rank = keys.partition_point(|k| k < key);
                let at_place = place(rank, pools);
                // Arrivals in a burst, then restarts at arbitrary moments: the slot is the same.
                let arrived = Duration::from_millis(1_700_000_000_000 + (i as u64 % 7) * 13);
                let restarted = arrived + Duration::from_secs(3_600 + i as u64 % 97);
                let at = |now: Duration| (now + until_slot(now, period, at_place)).as_nanos();
                let (first, again) = (at(arrived), at(restarted));
                assert_eq!((again - first) % period.as_nanos(), 0, "{i}");
                tenths[(first % period.as_nanos() * 10 / period.as_nanos()) as usize] += 1;
            }
            let share = pools / 10;
            assert!(
                tenths.iter().all(|&n| n.abs_diff(share) <= 1),
                "{pools}: {tenths:?}"
            );
        }
    }

    #[test]
    fn places_are_fractions_of_the_period() {
        assert_eq!(place(0, 0), 0.0);
        assert_eq!(place(0, 4), 0.0);
        assert_eq!(place(3, 4), 0.75);
        assert_eq!(place(9, 4), 0.75);
        assert_eq!(uid_key("a"), uid_key("a"));
        assert_ne!(uid_key("a"), uid_key("b"));
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

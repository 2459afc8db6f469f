//! The per-user limits every strategy shares, kept in the state table under a keyed hash of the
//! user ([`crate::token::user_hash`]):
//! - a send cooldown: one link or code per `min_interval_seconds`;
//! - a failure count across sessions: after `max_failures` wrong answers the user is locked
//!   for `lockout_seconds`, doubled by each further wrong answer, at most
//!   [`MAX_LOCKOUT_SECONDS`]. A correct sign-in clears it.
//!
//! Unknown users are counted and locked exactly like known ones, so neither limit tells an
//! attacker who exists.

use passwordless_contract::MAX_LOCKOUT_SECONDS;

use crate::config::Config;
use crate::delivery::{Clock, Failures, StateStore};
use crate::flows::FlowError;

/// Wrong answers are forgotten once the latest is this old. Every lockout has ended by then.
pub const FORGET_FAILURES_AFTER_SECONDS: u64 = MAX_LOCKOUT_SECONDS;

/// Seconds until a user with these failures may try again; `None` when not locked.
pub fn locked_for(config: &Config, failures: Failures, now: u64) -> Option<u64> {
    if failures.count < config.max_failures
        || now
            >= failures
                .last_at
                .saturating_add(FORGET_FAILURES_AFTER_SECONDS)
    {
        return None;
    }
    let doublings = failures.count - config.max_failures;
    let lock = if doublings >= 32 {
        MAX_LOCKOUT_SECONDS
    } else {
        config
            .lockout_seconds
            .saturating_mul(1u64 << doublings)
            .min(MAX_LOCKOUT_SECONDS)
    };
    let until = failures.last_at.saturating_add(lock);
    (now < until).then(|| until - now)
}

/// Reads the user's failures: seconds left of a lockout, if any.
pub async fn lockout(
    config: &Config,
    store: &impl StateStore,
    clock: &impl Clock,
    user_hash: &str,
) -> Result<Option<u64>, FlowError> {
    let failures = store.failures(user_hash).await?;
    Ok(locked_for(config, failures, clock.now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{config_from, env};
    use crate::config::vars;

    #[test]
    fn the_lockout_starts_at_the_limit_doubles_and_is_capped() {
        let mut e = env("emailOtp");
        e.insert(vars::MAX_FAILURES, "3".to_owned());
        e.insert(vars::LOCKOUT_SECONDS, "60".to_owned());
        let c = config_from(&e).unwrap();
        let at = |count, last_at| Failures { count, last_at };
        // (failures, now, seconds still locked)
        let cases = [
            (at(0, 0), 1000, None),
            (at(2, 1000), 1000, None),
            (at(3, 1000), 1000, Some(60)),
            (at(3, 1000), 1059, Some(1)),
            (at(3, 1000), 1060, None),
            (at(4, 1000), 1000, Some(120)),
            (at(5, 1000), 1100, Some(140)),
            (at(13, 1000), 1000, Some(61_440)),
            (at(14, 1000), 1000, Some(MAX_LOCKOUT_SECONDS)),
            (at(99, 1000), 1000, Some(MAX_LOCKOUT_SECONDS)),
            (at(u32::MAX, 1000), 1000, Some(MAX_LOCKOUT_SECONDS)),
            (at(u32::MAX, u64::MAX), u64::MAX - 1, Some(1)),
            // A day after the last failure, they are forgotten.
            (at(99, 1000), 1000 + FORGET_FAILURES_AFTER_SECONDS, None),
        ];
        for (failures, now, want) in cases {
            assert_eq!(locked_for(&c, failures, now), want, "{failures:?} at {now}");
        }
    }
}

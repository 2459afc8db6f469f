//! The per-user limits every strategy shares, kept in the state table under a keyed hash of the
//! user ([`crate::token::user_hash`]):
//! - a send cooldown: one link or code per `min_interval_seconds`;
//! - a budget of guesses: after `max_failures` wrong answers to codes the user is locked for
//!   `lockout_seconds`, doubled by each further wrong answer, at most [`MAX_LOCKOUT_SECONDS`].
//!   A correct sign-in clears it; a day without wrong answers forgets it.
//!
//! A lock bounds guessing without keeping the user out: while it lasts, codes of the usual
//! length are refused unchecked, and every code sent is [`HARDENED_OTP_LENGTH`] digits, which no
//! budget needs to protect. So wrong answers from anyone who knows the address cost the user
//! longer codes, never their sign-in (a magic link was never locked out).
//!
//! Each answer is settled in one step however many race ([`settle`]): the record is read, the
//! decision taken on it, and its effect written only over that exact record, else read again.
//! So parallel wrong answers spend the budget one by one and none is checked past it.
//!
//! Unknown users are counted and locked exactly like known ones, so neither limit tells an
//! attacker who exists.
//!
//! [`HARDENED_OTP_LENGTH`]: passwordless_contract::HARDENED_OTP_LENGTH

use passwordless_contract::MAX_LOCKOUT_SECONDS;

use crate::config::Config;
use crate::delivery::{Clock, Failures, StateStore};
use crate::flows::FlowError;

/// Wrong answers are forgotten once the latest is this old. Every lockout has ended by then.
pub const FORGET_FAILURES_AFTER_SECONDS: u64 = MAX_LOCKOUT_SECONDS;
/// How often one answer reads the record again after other answers changed it between its read
/// and its write. Each lost try means another answer was settled, so the budget still holds
/// when they run out; the answer is then refused unchecked (a proof is still accepted).
pub const SETTLE_TRIES: usize = 5;

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

/// The record after one more wrong answer at `now`: counting starts again once the latest
/// failure is [`FORGET_FAILURES_AFTER_SECONDS`] old.
pub fn after_failure(failures: Failures, now: u64) -> Failures {
    let forgotten = failures.count == 0
        || now
            >= failures
                .last_at
                .saturating_add(FORGET_FAILURES_AFTER_SECONDS);
    Failures {
        count: if forgotten {
            1
        } else {
            failures.count.saturating_add(1)
        },
        last_at: now,
    }
}

/// An answer, already checked against what was sent, to be settled against the user's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// To a code of the usual length: a guess, which the budget bounds.
    Guess { right: bool },
    /// A magic link, or a code sent during a lock: beyond guessing, so neither counted when
    /// wrong nor refused during a lock.
    Proof { right: bool },
}

/// What an answer does, decided on the record as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Nothing to write: the answer stands as given (`false` for a guess during a lock,
    /// which is not even checked).
    Stands(bool),
    /// Replace the record read with `next` (`None`: clear it), then the answer is `correct`.
    Write {
        next: Option<Failures>,
        correct: bool,
    },
}

/// The pure decision for one answer on the record `seen` at `now`.
pub fn settlement(config: &Config, seen: Failures, now: u64, answer: Answer) -> Settlement {
    match answer {
        Answer::Guess { .. } if locked_for(config, seen, now).is_some() => {
            Settlement::Stands(false)
        }
        Answer::Guess { right: false } => Settlement::Write {
            next: Some(after_failure(seen, now)),
            correct: false,
        },
        Answer::Proof { right: false } => Settlement::Stands(false),
        Answer::Guess { right: true } | Answer::Proof { right: true } if seen.count == 0 => {
            Settlement::Stands(true)
        }
        Answer::Guess { right: true } | Answer::Proof { right: true } => Settlement::Write {
            next: None,
            correct: true,
        },
    }
}

/// Settles one answer: whether it signs in. The decision and its write are one step (see the
/// module), retried on the record as it is now when another answer came between.
pub async fn settle(
    config: &Config,
    store: &impl StateStore,
    clock: &impl Clock,
    user_hash: &str,
    answer: Answer,
) -> Result<bool, FlowError> {
    // A wrong proof (a junk link) touches nothing, known user or not.
    if answer == (Answer::Proof { right: false }) {
        return Ok(false);
    }
    for _ in 0..SETTLE_TRIES {
        let seen = store.failures(user_hash).await?;
        match settlement(config, seen, clock.now(), answer) {
            Settlement::Stands(correct) => return Ok(correct),
            Settlement::Write { next, correct } => {
                if store
                    .replace_failures(user_hash, seen, next, FORGET_FAILURES_AFTER_SECONDS)
                    .await?
                {
                    return Ok(correct);
                }
            }
        }
    }
    // Lost every race: a guess that could not be counted is not believed; a proof (its link
    // already spent) still signs in, leaving the count for the next success to clear.
    Ok(answer == Answer::Proof { right: true })
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

    #[test]
    fn each_answer_is_settled_on_the_record_it_was_decided_on() {
        let mut e = env("emailOtp");
        e.insert(vars::MAX_FAILURES, "3".to_owned());
        e.insert(vars::LOCKOUT_SECONDS, "60".to_owned());
        let c = config_from(&e).unwrap();
        let at = |count, last_at| Failures { count, last_at };
        let guess = |right| Answer::Guess { right };
        let proof = |right| Answer::Proof { right };
        let write = |next, correct| Settlement::Write { next, correct };
        let day = FORGET_FAILURES_AFTER_SECONDS;
        // (record read, now, answer, what it does)
        let cases = [
            (
                at(0, 0),
                1000,
                guess(false),
                write(Some(at(1, 1000)), false),
            ),
            (
                at(2, 900),
                1000,
                guess(false),
                write(Some(at(3, 1000)), false),
            ),
            (at(0, 0), 1000, guess(true), Settlement::Stands(true)),
            (at(2, 900), 1000, guess(true), write(None, true)),
            // Locked: refused unchecked, right or wrong, and not counted.
            (at(3, 990), 1000, guess(false), Settlement::Stands(false)),
            (at(3, 990), 1000, guess(true), Settlement::Stands(false)),
            // The lock over: one more guess, which doubles it when wrong.
            (
                at(3, 900),
                1000,
                guess(false),
                write(Some(at(4, 1000)), false),
            ),
            // A day after the latest failure, counting starts again.
            (
                at(9, 900),
                900 + day,
                guess(false),
                write(Some(at(1, 900 + day)), false),
            ),
            // Proofs (links, hardened codes) are never locked out nor counted.
            (at(3, 990), 1000, proof(true), write(None, true)),
            (at(0, 0), 1000, proof(true), Settlement::Stands(true)),
            (at(3, 990), 1000, proof(false), Settlement::Stands(false)),
            (at(1, 990), 1000, proof(false), Settlement::Stands(false)),
        ];
        for (seen, now, answer, want) in cases {
            assert_eq!(
                settlement(&c, seen, now, answer),
                want,
                "{seen:?} at {now}: {answer:?}"
            );
        }
    }

    /// The arithmetic behind the defaults (README, "Limits"): an attacker who guesses wrong
    /// whenever the budget allows, forever, gets at most 11 guesses at a user's codes in any
    /// day, 5.2 a day over a month; at 6 digits that is at most 11 in a million a day. Guesses at
    /// hardened codes are not in this budget: they are worth 10^-10 of one.
    #[test]
    fn at_the_defaults_an_attacker_gets_at_most_eleven_guesses_a_day() {
        let c = config_from(&env("emailOtp")).unwrap();
        assert_eq!((c.max_failures, c.lockout_seconds), (5, 900));
        let days = 30;
        let (mut record, mut now, mut guesses) = (Failures::default(), 0, Vec::new());
        while now < days * 86_400 {
            match settlement(&c, record, now, Answer::Guess { right: false }) {
                Settlement::Write {
                    next: Some(next), ..
                } => {
                    guesses.push(now);
                    record = next;
                }
                _ => now += locked_for(&c, record, now).unwrap(),
            }
        }
        let most_in_a_day = (0..guesses.len())
            .map(|i| guesses[i..].partition_point(|t| *t < guesses[i] + 86_400))
            .max()
            .unwrap();
        assert_eq!(most_in_a_day, 11);
        assert_eq!(guesses.len(), 156, "5.2 a day");
        assert_eq!(
            &guesses[..12],
            &[
                0, 0, 0, 0, 0, 900, 2700, 6300, 13_500, 27_900, 56_700, 114_300
            ]
        );
    }

    /// A store where every conditional write loses a race: after [`SETTLE_TRIES`] a guess is
    /// refused (it could not be counted) and a proof still signs in.
    #[tokio::test]
    async fn an_answer_that_never_wins_its_write_is_refused_unless_it_is_a_proof() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        use crate::delivery::{DeliveryError, SendPermit};

        struct Contended(AtomicUsize);
        impl StateStore for Contended {
            async fn permit_send(
                &self,
                _: &str,
                _: u64,
                _: u64,
                _: &crate::delivery::SendRecord<'_>,
            ) -> Result<SendPermit, DeliveryError> {
                unreachable!()
            }
            async fn mark_answered(&self, _: &str, _: &str) -> Result<(), DeliveryError> {
                unreachable!()
            }
            async fn consume_nonce(&self, _: &str, _: u64) -> Result<bool, DeliveryError> {
                unreachable!()
            }
            async fn failures(&self, _: &str) -> Result<Failures, DeliveryError> {
                Ok(Failures {
                    count: 1,
                    last_at: 1000,
                })
            }
            async fn replace_failures(
                &self,
                _: &str,
                _: Failures,
                _: Option<Failures>,
                _: u64,
            ) -> Result<bool, DeliveryError> {
                self.0.fetch_add(1, Ordering::Relaxed);
                Ok(false)
            }
        }
        let c = config_from(&env("emailOtp")).unwrap();
        let outbox = crate::flows::testing::Outbox::default();
        let clock = crate::flows::testing::Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        for (answer, want) in [
            (Answer::Guess { right: true }, false),
            (Answer::Guess { right: false }, false),
            (Answer::Proof { right: true }, true),
        ] {
            let store = Contended(AtomicUsize::new(0));
            let got = settle(&c, &store, &&clock, "u", answer).await.unwrap();
            assert_eq!(got, want, "{answer:?}");
            assert_eq!(store.0.load(Ordering::Relaxed), SETTLE_TRIES, "{answer:?}");
        }
    }
}

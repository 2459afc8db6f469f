//! How long a real send (SES or SNS) takes in this process, so the answer to an unknown user,
//! who gets no send, waits about as long: response times then do not tell who exists.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Before any send was observed: a typical SES/SNS call from Lambda in the same region.
pub const DEFAULT_SEND_MS: f64 = 120.0;
/// The weight of the newest observation in the running average.
const WEIGHT: f64 = 0.2;
/// Observations are clamped to this, so one stalled call cannot make every unknown user's
/// answer slow (and a stall is not what a typical send looks like).
const MAX_OBSERVED_MS: f64 = 3000.0;
/// The delay is uniform within this fraction either side of the estimate.
const JITTER: f64 = 0.25;

/// A running estimate (exponentially weighted moving average) of send durations, and the
/// number of sends that failed.
#[derive(Debug, Default)]
pub struct SendLatency {
    estimate_ms: Mutex<Option<f64>>,
    failures: AtomicU64,
}

impl SendLatency {
    /// Records one send's duration.
    pub fn observe(&self, ms: u64) {
        let sample = (ms as f64).min(MAX_OBSERVED_MS);
        if let Ok(mut estimate) = self.estimate_ms.lock() {
            *estimate = Some(match *estimate {
                None => sample,
                Some(old) => old + WEIGHT * (sample - old),
            });
        }
    }

    /// The current estimate in milliseconds.
    pub fn estimate_ms(&self) -> f64 {
        self.estimate_ms
            .lock()
            .ok()
            .and_then(|e| *e)
            .unwrap_or(DEFAULT_SEND_MS)
    }

    /// How long an unknown user's answer waits: the estimate, moved by up to ±25 % according
    /// to `random` (any 16 random bits).
    pub fn stand_in_delay_ms(&self, random: u16) -> u64 {
        let unit = f64::from(random) / f64::from(u16::MAX); // 0..=1
        let factor = 1.0 - JITTER + 2.0 * JITTER * unit;
        (self.estimate_ms() * factor).round().max(0.0) as u64
    }

    /// Counts a failed send; returns the process's total so far.
    pub fn count_failure(&self) -> u64 {
        self.failures.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stand_in_delay_follows_observed_sends_with_jitter() {
        // (observed send durations, random bits, expected delay)
        let cases: &[(&[u64], u16, u64)] = &[
            (&[], 0, 90),
            (&[], u16::MAX, 150),
            (&[], u16::MAX / 2, 120),
            (&[400], u16::MAX / 2, 400),
            (&[400], 0, 300),
            (&[400], u16::MAX, 500),
            // The average moves a fifth of the way to each new sample.
            (&[100, 200], u16::MAX / 2, 120),
            (&[100; 50], u16::MAX / 2, 100),
            // A stall counts as 3 s at most.
            (&[60_000], u16::MAX / 2, 3000),
        ];
        for (observed, random, want) in cases {
            let latency = SendLatency::default();
            for ms in *observed {
                latency.observe(*ms);
            }
            assert_eq!(
                latency.stand_in_delay_ms(*random),
                *want,
                "{observed:?} {random}"
            );
        }
    }
}

//! Figures over `/metrics` read once a second: the peak rate of paced calls per account and
//! quota category against the published quotas, and how evenly resyncs spread over a period.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::scrape::Scrape;

/// One reading of `/metrics`, and when.
pub struct Sample {
    pub at: Instant,
    pub scrape: Scrape,
}

/// Samples a rate is taken over: ten seconds, so one call more or less at a window's edges
/// moves it by a tenth of a call per second.
pub const RATE_WINDOW: usize = 10;

/// Calls of each paced quota category per account so far, with its quota.
fn paced(s: &Scrape) -> BTreeMap<(String, &'static str), (f64, u32)> {
    s.paced_quotas()
        .into_iter()
        .map(|(key, (n, _, quota))| (key, (n, quota)))
        .collect()
}

/// The highest rate, in calls per second over any window of [`RATE_WINDOW`] samples, of each
/// account's quota categories, with the quota, and whether every window stayed within it
/// (allowing the one call a window's edges can add to calls spaced at exactly the quota).
pub fn peaks(samples: &[Sample]) -> BTreeMap<(String, &'static str), (f64, u32, bool)> {
    let mut peaks = BTreeMap::new();
    for window in samples.windows(RATE_WINDOW + 1) {
        let (first, last) = (&window[0], &window[RATE_WINDOW]);
        let seconds = (last.at - first.at).as_secs_f64();
        let before = paced(&first.scrape);
        for (key, (n, quota)) in paced(&last.scrape) {
            let n = n - before.get(&key).map_or(0.0, |b| b.0);
            let peak = peaks.entry(key).or_insert((0.0, quota, true));
            peak.0 = f64::max(peak.0, n / seconds);
            peak.2 &= n <= f64::from(quota) * seconds + 1.0;
        }
    }
    peaks
}

/// A spread is even enough when no tenth of the period holds more than this times its share.
pub const SPREAD_BOUND: f64 = 1.5;

/// Comparisons with AWS in each tenth of `period` from `start`, counted by their one
/// `DescribeUserPool` each (a reconcile the operator's cache answers makes none, and is not a
/// resync).
pub fn spread(samples: &[Sample], start: Instant, period: Duration) -> Vec<f64> {
    let tenth = period / 10;
    let key = (
        "Cognito Identity Provider".to_owned(),
        "DescribeUserPool".to_owned(),
    );
    let at = |t: Instant| {
        samples
            .iter()
            .take_while(|s| s.at <= t)
            .last()
            .and_then(|s| s.scrape.calls.get(&key).copied())
            .unwrap_or(0.0)
    };
    (0..10)
        .map(|i| at(start + tenth * (i + 1)) - at(start + tenth * i))
        .collect()
}

/// The spread's line: the counts per tenth, the largest against its share, and the verdict.
pub fn print_spread(tenths: &[f64]) {
    let even = tenths.iter().sum::<f64>() / tenths.len().max(1) as f64;
    let most = tenths.iter().copied().fold(0.0, f64::max);
    println!(
        "  comparisons with AWS per tenth of the period: {} (even would be {even:.1} each; the most {most:.0} is {:.2}x)   target <= {SPREAD_BOUND}x: {}",
        tenths
            .iter()
            .map(|n| format!("{n:.0}"))
            .collect::<Vec<_>>()
            .join(" "),
        most / even.max(f64::MIN_POSITIVE),
        crate::verdict(most <= even * SPREAD_BOUND && even > 0.0)
    );
}

/// Reads `/metrics` once a second into `samples` until aborted.
pub fn sample(
    port: u16,
    samples: std::sync::Arc<std::sync::Mutex<Vec<Sample>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            // The counters were read between asking and the answer: the midpoint is when, to
            // half the round trip (milliseconds; more when the machine is saturated).
            let asked = Instant::now();
            let text = crate::common::cluster::http_get(port, "/metrics").await;
            let at = asked + asked.elapsed() / 2;
            if let (Some(text), Ok(mut s)) = (text, samples.lock()) {
                s.push(Sample {
                    at,
                    scrape: crate::scrape::parse(&text),
                });
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

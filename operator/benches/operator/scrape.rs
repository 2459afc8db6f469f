//! The operator's `/metrics`, read into the figures the bench uses: AWS calls and the time spent
//! in them per operation, what the pacer let through and made wait per account and
//! category, reconciles and the time spent in them, and pools Ready.

use std::collections::BTreeMap;

/// `(service, operation) -> calls, or seconds`.
pub type PerOperation = BTreeMap<(String, String), f64>;
/// `(account, category) -> (calls, seconds waited)`.
pub type PerQuota = BTreeMap<(String, String), (f64, f64)>;

/// One reading of `/metrics` (or the difference of two).
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    pub calls: PerOperation,
    pub call_seconds: PerOperation,
    pub paced: PerQuota,
    pub reconciles: f64,
    pub reconcile_seconds: f64,
    /// Pools whose Ready reason is Ready, by the leader's cache.
    pub ready: f64,
}

const PREFIX: &str = "passwordless_operator_";

fn label<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(&format!("{name}=\"")).nth(1)?.split('"').next()
}

fn value(line: &str) -> Option<f64> {
    line.rsplit(' ').next()?.parse().ok()
}

pub fn parse(text: &str) -> Scrape {
    let mut s = Scrape::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(sample) = line.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(v) = value(sample) else { continue };
        let name = sample.split(['{', ' ']).next().unwrap_or_default();
        let op = || {
            Some((
                label(sample, "service")?.to_owned(),
                label(sample, "operation")?.to_owned(),
            ))
        };
        let quota = || {
            Some((
                label(sample, "account")?.to_owned(),
                label(sample, "category")?.to_owned(),
            ))
        };
        match name {
            "aws_calls_total" => {
                if let Some(k) = op() {
                    s.calls.insert(k, v);
                }
            }
            "aws_call_seconds_total" => {
                if let Some(k) = op() {
                    s.call_seconds.insert(k, v);
                }
            }
            "aws_paced_calls_total" => {
                if let Some(k) = quota() {
                    s.paced.entry(k).or_default().0 = v;
                }
            }
            "aws_pace_wait_seconds_total" => {
                if let Some(k) = quota() {
                    s.paced.entry(k).or_default().1 = v;
                }
            }
            "reconciles_total" => s.reconciles = v,
            "reconcile_duration_seconds_sum" => s.reconcile_seconds = v,
            "pools" if label(sample, "reason") == Some("Ready") => s.ready = v,
            _ => {}
        }
    }
    s
}

impl Scrape {
    /// What happened between `before` and this reading (the pool count is this reading's).
    pub fn since(&self, before: &Scrape) -> Scrape {
        fn minus<K: Ord + Clone>(a: &BTreeMap<K, f64>, b: &BTreeMap<K, f64>) -> BTreeMap<K, f64> {
            a.iter()
                .map(|(k, v)| (k.clone(), v - b.get(k).copied().unwrap_or(0.0)))
                .filter(|(_, v)| *v > 0.0)
                .collect()
        }
        Scrape {
            calls: minus(&self.calls, &before.calls),
            call_seconds: minus(&self.call_seconds, &before.call_seconds),
            paced: self
                .paced
                .iter()
                .map(|(k, (n, w))| {
                    let (n0, w0) = before.paced.get(k).copied().unwrap_or_default();
                    (k.clone(), (n - n0, w - w0))
                })
                .filter(|(_, (n, _))| *n > 0.0)
                .collect(),
            reconciles: self.reconciles - before.reconciles,
            reconcile_seconds: self.reconcile_seconds - before.reconcile_seconds,
            ready: self.ready,
        }
    }

    /// The pacer's counts per account and category with the category's published quota (the
    /// pacer's categories are the quotas'; the rate comes from `pace::category`, through the
    /// operations seen), as `(calls, seconds waited, quota)`.
    pub fn paced_quotas(&self) -> BTreeMap<(String, &'static str), (f64, f64, u32)> {
        let quotas: BTreeMap<&'static str, u32> = self
            .calls
            .keys()
            .filter_map(|(service, operation)| crate::accounting::quota_of(service, operation))
            .collect();
        self.paced
            .iter()
            .filter_map(|((account, category), (n, waited))| {
                let (&name, &quota) = quotas.get_key_value(category.as_str())?;
                Some(((account.clone(), name), (*n, *waited, quota)))
            })
            .collect()
    }

    pub fn reads(&self) -> f64 {
        self.calls
            .iter()
            .filter(|((_, o), _)| !passwordless_operator::aws::is_mutating(o))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn writes(&self) -> f64 {
        self.calls
            .iter()
            .filter(|((_, o), _)| passwordless_operator::aws::is_mutating(o))
            .map(|(_, n)| n)
            .sum()
    }
}

/// `/metrics` of an operator at `port`, read; an empty reading while it does not answer.
pub async fn scrape(port: u16) -> Scrape {
    crate::common::cluster::http_get(port, "/metrics")
        .await
        .map(|t| parse(&t))
        .unwrap_or_default()
}

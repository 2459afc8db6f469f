//! Prometheus metrics, rendered in the text exposition format: reconciles, errors by stable
//! label, reconcile duration, AWS calls by service and operation, pools by `Ready` reason, how
//! long each pool that is not Ready has been so, and whether this replica leads.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::runtime::reflector::Store;

use crate::aws::CallCounter;
use crate::aws::pace::{PaceTotals, Pacers};
use crate::crd::PasswordlessPool;
use crate::status::ready_of;

pub const PREFIX: &str = "passwordless_operator";
/// The reason reported for a pool without a `Ready` condition yet.
const UNKNOWN: &str = "Unknown";

/// One metric family: what `/metrics` says of it, and the reference page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// Without [`PREFIX`].
    pub name: &'static str,
    pub kind: &'static str,
    pub help: &'static str,
    pub labels: &'static [&'static str],
}

impl Family {
    const fn new(
        name: &'static str,
        kind: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            kind,
            help,
            labels,
        }
    }
}

const RECONCILES: Family = Family::new("reconciles_total", "counter", "Reconciles run.", &[]);
const RECONCILE_ERRORS: Family = Family::new(
    "reconcile_errors_total",
    "counter",
    "Reconciles that failed, by stable error label.",
    &["error"],
);
const RECONCILE_DURATION: Family = Family::new(
    "reconcile_duration_seconds",
    "histogram",
    "How long a reconcile took.",
    &["le"],
);
const AWS_CALLS: Family = Family::new(
    "aws_calls_total",
    "counter",
    "AWS API calls, by service and operation (retries not counted).",
    &["service", "operation"],
);
const AWS_RETRIES: Family = Family::new(
    "aws_retries_total",
    "counter",
    "AWS attempts beyond the first of each call (the SDK's own retries), by service and operation.",
    &["service", "operation"],
);
const AWS_ATTEMPT_FAILURES: Family = Family::new(
    "aws_attempt_failures_total",
    "counter",
    "AWS attempts that failed, by service, operation and kind (throttled, client, server, transport).",
    &["service", "operation", "kind"],
);
const AWS_CALL_SECONDS: Family = Family::new(
    "aws_call_seconds_total",
    "counter",
    "Time spent in AWS calls, from the first attempt to the answer (retries and their backoff included, the pacer's wait not), by service and operation.",
    &["service", "operation"],
);
const AWS_PACED: Family = Family::new(
    "aws_paced_calls_total",
    "counter",
    "Cognito and Lambda control-plane calls let through the operator's pacer, by account and quota category.",
    &["account", "category"],
);
const AWS_PACE_WAIT: Family = Family::new(
    "aws_pace_wait_seconds_total",
    "counter",
    "Time calls waited in the operator's pacer for a slot within their quota category's rate, by account and category.",
    &["account", "category"],
);
const POOLS: Family = Family::new(
    "pools",
    "gauge",
    "PasswordlessPools by the reason of their Ready condition.",
    &["condition", "reason"],
);
/// Per pool, but only the pools not Ready: a fleet of thousands that is well shows none. An age
/// rather than a flag, so an alert on it needs no `for:` that a restart of the operator or of
/// Prometheus would start over.
const POOL_NOT_READY: Family = Family::new(
    "pool_not_ready_seconds",
    "gauge",
    "Seconds since the pool's Ready condition last left True (since the pool's creation while it has none), for each pool whose Ready is not True and that is not paused, with the reason.",
    &["namespace", "name", "reason"],
);
const LEADER: Family = Family::new(
    "leader",
    "gauge",
    "1 while this replica holds the leader lease.",
    &[],
);

/// Every family `/metrics` shows, in its order.
pub const FAMILIES: [Family; 12] = [
    RECONCILES,
    RECONCILE_ERRORS,
    RECONCILE_DURATION,
    AWS_CALLS,
    AWS_RETRIES,
    AWS_ATTEMPT_FAILURES,
    AWS_CALL_SECONDS,
    AWS_PACED,
    AWS_PACE_WAIT,
    POOLS,
    POOL_NOT_READY,
    LEADER,
];
/// Seconds. A reconcile of an in-sync pool takes tens of milliseconds; a first apply a few seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Counters {
    reconciles: u64,
    errors: BTreeMap<&'static str, u64>,
    /// Cumulative counts per bucket of `BUCKETS`, then the sum of all durations.
    buckets: [u64; BUCKETS.len()],
    duration_sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
    aws: Mutex<Vec<CallCounter>>,
    pacing: Mutex<Vec<Arc<Pacers>>>,
    pools: Mutex<Vec<Store<PasswordlessPool>>>,
    leader: AtomicBool,
    ready: AtomicBool,
}

impl Metrics {
    pub fn reconciled(&self, took: Duration, error: Option<&'static str>) {
        let Ok(mut c) = self.counters.lock() else {
            return;
        };
        c.reconciles += 1;
        if let Some(label) = error {
            *c.errors.entry(label).or_default() += 1;
        }
        let seconds = took.as_secs_f64();
        c.duration_sum += seconds;
        for (bucket, le) in c.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= le {
                *bucket += 1;
            }
        }
    }

    /// AWS calls made through these clients appear in `aws_calls_total`.
    pub fn count_aws_calls(&self, calls: CallCounter) {
        if let Ok(mut all) = self.aws.lock() {
            all.push(calls);
        }
    }

    /// Calls paced by these pacers appear in `aws_paced_calls_total` and
    /// `aws_pace_wait_seconds_total`.
    pub fn count_pacing(&self, pacers: Arc<Pacers>) {
        if let Ok(mut all) = self.pacing.lock() {
            all.push(pacers);
        }
    }

    /// Summed over every registered set of pacers.
    fn paced(&self) -> PaceTotals {
        let mut total = PaceTotals::new();
        for pacers in self.pacing.lock().map(|p| p.clone()).unwrap_or_default() {
            for (key, (calls, waited)) in pacers.totals() {
                let sum = total.entry(key).or_default();
                sum.0 += calls;
                sum.1 += waited;
            }
        }
        total
    }

    /// How many call counters are summed (the controller registers one).
    #[cfg(test)]
    pub(crate) fn aws_counters(&self) -> usize {
        self.aws.lock().map(|all| all.len()).unwrap_or_default()
    }

    /// Pools in these caches (the controllers' of this term as leader) appear in `pools`.
    pub fn count_pools(&self, stores: Vec<Store<PasswordlessPool>>) {
        if let Ok(mut all) = self.pools.lock() {
            *all = stores;
        }
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    /// Ready while the apiserver answers the Lease's rounds: a standby replica is ready too.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Summed over every account's clients.
    fn aws_sum<K: Ord, V: Default + std::ops::AddAssign>(
        &self,
        read: impl Fn(&CallCounter) -> BTreeMap<K, V>,
    ) -> BTreeMap<K, V> {
        let mut total = BTreeMap::new();
        for counter in self.aws.lock().map(|a| a.clone()).unwrap_or_default() {
            for (key, n) in read(&counter) {
                *total.entry(key).or_default() += n;
            }
        }
        total
    }

    /// The pools of the leader's caches. None on a standby: the caches of a term it stepped
    /// down from stopped following the apiserver, and the leader reports the same pools.
    fn cached_pools(&self) -> Vec<Arc<PasswordlessPool>> {
        if !self.leader.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let stores = self.pools.lock().map(|p| p.clone()).unwrap_or_default();
        stores.iter().flat_map(Store::state).collect()
    }

    fn pools_by_reason(pools: &[Arc<PasswordlessPool>]) -> BTreeMap<String, u64> {
        let mut by_reason = BTreeMap::new();
        for pool in pools {
            let reason = ready_of(pool.status.as_ref())
                .map(|c| c.reason.clone())
                .unwrap_or_else(|| UNKNOWN.to_owned());
            *by_reason.entry(reason).or_default() += 1;
        }
        by_reason
    }

    /// `(namespace, name, reason) -> seconds` for the pools whose `Ready` is not `True`. The
    /// condition's transition time changes only when its status flips, so the age runs on
    /// through a change of reason (AwsError, then Provisioning...).
    fn not_ready_seconds(
        pools: &[Arc<PasswordlessPool>],
        now: Timestamp,
    ) -> BTreeMap<(String, String, String), i64> {
        let mut ages = BTreeMap::new();
        for pool in pools {
            // Paused on purpose: its team knows, and nothing would change it anyway.
            if crate::status::is_paused(pool.status.as_ref()) {
                continue;
            }
            let ready = ready_of(pool.status.as_ref());
            let (reason, since) = match ready {
                Some(c) if c.status == "True" => continue,
                Some(c) => (c.reason.clone(), Some(c.last_transition_time.0)),
                None => (
                    UNKNOWN.to_owned(),
                    pool.metadata.creation_timestamp.as_ref().map(|t| t.0),
                ),
            };
            let (Some(since), Some(namespace), Some(name)) = (
                since,
                pool.metadata.namespace.clone(),
                pool.metadata.name.clone(),
            ) else {
                continue;
            };
            // A clock behind the apiserver's would give a negative age.
            let seconds = now.as_second().saturating_sub(since.as_second()).max(0);
            ages.insert((namespace, name, reason), seconds);
        }
        ages
    }

    pub fn render(&self) -> String {
        self.render_at(Timestamp::now())
    }

    fn render_at(&self, now: Timestamp) -> String {
        let mut out = String::new();
        let mut family = |f: Family, samples: Vec<String>| {
            let (name, help, kind) = (f.name, f.help, f.kind);
            let _ = writeln!(out, "# HELP {PREFIX}_{name} {help}");
            let _ = writeln!(out, "# TYPE {PREFIX}_{name} {kind}");
            for sample in samples {
                let _ = writeln!(out, "{PREFIX}_{sample}");
            }
        };
        let (reconciles, errors, histogram) = match self.counters.lock() {
            Ok(c) => {
                let mut histogram: Vec<String> = c
                    .buckets
                    .iter()
                    .zip(BUCKETS)
                    .map(|(n, le)| format!("reconcile_duration_seconds_bucket{{le=\"{le}\"}} {n}"))
                    .collect();
                histogram.push(format!(
                    "reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {}",
                    c.reconciles
                ));
                histogram.push(format!("reconcile_duration_seconds_sum {}", c.duration_sum));
                histogram.push(format!("reconcile_duration_seconds_count {}", c.reconciles));
                let errors = c
                    .errors
                    .iter()
                    .map(|(label, n)| format!("reconcile_errors_total{{error=\"{label}\"}} {n}"))
                    .collect();
                (c.reconciles, errors, histogram)
            }
            Err(_) => (0, Vec::new(), Vec::new()),
        };
        family(RECONCILES, vec![format!("reconciles_total {reconciles}")]);
        family(RECONCILE_ERRORS, errors);
        family(RECONCILE_DURATION, histogram);
        family(
            AWS_CALLS,
            self.aws_sum(CallCounter::snapshot)
                .into_iter()
                .map(|((service, operation), n)| {
                    format!(
                        "aws_calls_total{{service=\"{}\",operation=\"{}\"}} {n}",
                        escape(&service),
                        escape(&operation)
                    )
                })
                .collect(),
        );
        let calls = self.aws_sum(CallCounter::snapshot);
        family(
            AWS_RETRIES,
            self.aws_sum(CallCounter::attempts)
                .into_iter()
                .filter_map(|(key, attempts)| {
                    let retries = attempts.saturating_sub(calls.get(&key).copied().unwrap_or(0));
                    (retries > 0).then(|| {
                        format!(
                            "aws_retries_total{{service=\"{}\",operation=\"{}\"}} {retries}",
                            escape(&key.0),
                            escape(&key.1)
                        )
                    })
                })
                .collect(),
        );
        family(
            AWS_ATTEMPT_FAILURES,
            self.aws_sum(CallCounter::failures)
                .into_iter()
                .map(|((service, operation, kind), n)| {
                    format!(
                        "aws_attempt_failures_total{{service=\"{}\",operation=\"{}\",kind=\"{kind}\"}} {n}",
                        escape(&service),
                        escape(&operation)
                    )
                })
                .collect(),
        );
        family(
            AWS_CALL_SECONDS,
            self.aws_sum(CallCounter::took)
                .into_iter()
                .map(|((service, operation), d)| {
                    format!(
                        "aws_call_seconds_total{{service=\"{}\",operation=\"{}\"}} {:.3}",
                        escape(&service),
                        escape(&operation),
                        d.as_secs_f64()
                    )
                })
                .collect(),
        );
        let paced = self.paced();
        let by_account = |f: Family, value: &dyn Fn(&(u64, Duration)) -> String| {
            paced
                .iter()
                .map(|((account, category), v)| {
                    format!(
                        "{}{{account=\"{}\",category=\"{category}\"}} {}",
                        f.name,
                        escape(account),
                        value(v)
                    )
                })
                .collect::<Vec<_>>()
        };
        family(AWS_PACED, by_account(AWS_PACED, &|v| v.0.to_string()));
        family(
            AWS_PACE_WAIT,
            by_account(AWS_PACE_WAIT, &|v| format!("{:.3}", v.1.as_secs_f64())),
        );
        let pools = self.cached_pools();
        family(
            POOLS,
            Self::pools_by_reason(&pools)
                .into_iter()
                .map(|(reason, n)| {
                    format!(
                        "pools{{condition=\"Ready\",reason=\"{}\"}} {n}",
                        escape(&reason)
                    )
                })
                .collect(),
        );
        family(
            POOL_NOT_READY,
            Self::not_ready_seconds(&pools, now)
                .into_iter()
                .map(|((namespace, name, reason), seconds)| {
                    format!(
                        "pool_not_ready_seconds{{namespace=\"{}\",name=\"{}\",reason=\"{}\"}} {seconds}",
                        escape(&namespace),
                        escape(&name),
                        escape(&reason)
                    )
                })
                .collect(),
        );
        family(
            LEADER,
            vec![format!(
                "leader {}",
                u8::from(self.leader.load(Ordering::Relaxed))
            )],
        );
        out
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix} in\n{text}"))
    }

    #[test]
    fn reconciles_errors_and_durations_are_rendered_as_prometheus_text() {
        let m = Metrics::default();
        m.reconciled(Duration::from_millis(250), None);
        m.reconciled(Duration::from_secs(3), Some("aws_transient"));
        m.set_leader(true);
        let text = m.render();
        assert!(line(&text, "passwordless_operator_reconciles_total ").ends_with(" 2"));
        assert!(
            line(
                &text,
                "passwordless_operator_reconcile_errors_total{error=\"aws_transient\"}"
            )
            .ends_with(" 1")
        );
        // Cumulative buckets: 250 ms falls in le=0.25 and above, 3 s only from le=5.
        assert!(
            line(
                &text,
                "passwordless_operator_reconcile_duration_seconds_bucket{le=\"0.25\"}"
            )
            .ends_with(" 1")
        );
        assert!(
            line(
                &text,
                "passwordless_operator_reconcile_duration_seconds_bucket{le=\"5\"}"
            )
            .ends_with(" 2")
        );
        assert!(
            line(
                &text,
                "passwordless_operator_reconcile_duration_seconds_bucket{le=\"+Inf\"}"
            )
            .ends_with(" 2")
        );
        assert!(
            line(
                &text,
                "passwordless_operator_reconcile_duration_seconds_sum"
            )
            .ends_with(" 3.25")
        );
        assert!(line(&text, "passwordless_operator_leader").ends_with(" 1"));
        // Every family is declared once.
        assert_eq!(
            text.matches("# TYPE passwordless_operator_pools gauge")
                .count(),
            1
        );
    }

    /// The reference page lists each family's labels from [`FAMILIES`]: every sample must
    /// carry exactly those.
    /// A pool as the apiserver would list it: `ready` is `(status, reason, since)`.
    fn pool(name: &str, created: i64, ready: Option<(&str, &str, i64)>) -> PasswordlessPool {
        let at = |second: i64| Timestamp::from_second(second).unwrap().to_string();
        let conditions: Vec<serde_json::Value> = ready
            .into_iter()
            .map(|(status, reason, since)| {
                serde_json::json!({"type": "Ready", "status": status, "reason": reason,
                    "message": "", "lastTransitionTime": at(since)})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "apiVersion": "passwordless-operator.dev/v1alpha1", "kind": "PasswordlessPool",
            "metadata": {"name": name, "namespace": "shop", "creationTimestamp": at(created)},
            "spec": {"strategy": "smsOtp"},
            "status": {"conditions": conditions},
        }))
        .expect("a pool")
    }

    /// The pool as its pause annotation leaves it: `Paused=True` beside `Ready`.
    fn paused(mut pool: PasswordlessPool) -> PasswordlessPool {
        let status = crate::status::paused(pool.status.as_ref(), false, None, crate::status::now());
        pool.status = Some(status);
        pool
    }

    fn store_of(pools: Vec<PasswordlessPool>) -> Store<PasswordlessPool> {
        let (store, mut writer) = kube::runtime::reflector::store();
        for pool in pools {
            writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(pool));
        }
        store
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn pools_not_ready_report_how_long_since_ready_left_true_and_only_they() {
        let m = Metrics::default();
        m.count_pools(vec![store_of(vec![
            pool("well", NOW - 9000, Some(("True", "Ready", NOW - 8000))),
            pool(
                "failing",
                NOW - 9000,
                Some(("False", "AwsError", NOW - 1000)),
            ),
            pool("new", NOW - 30, None),
            // The apiserver's clock ahead of ours: no negative age.
            pool("skewed", NOW, Some(("False", "Provisioning", NOW + 5))),
            paused(pool(
                "paused",
                NOW - 9000,
                Some(("False", "AwsError", NOW - 5000)),
            )),
        ])]);
        m.set_leader(true);
        let text = m.render_at(Timestamp::from_second(NOW).unwrap());
        let ages: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("passwordless_operator_pool_not_ready_seconds"))
            .collect();
        assert_eq!(
            ages,
            [
                r#"passwordless_operator_pool_not_ready_seconds{namespace="shop",name="failing",reason="AwsError"} 1000"#,
                r#"passwordless_operator_pool_not_ready_seconds{namespace="shop",name="new",reason="Unknown"} 30"#,
                r#"passwordless_operator_pool_not_ready_seconds{namespace="shop",name="skewed",reason="Provisioning"} 0"#,
            ]
        );
        assert!(
            line(
                &text,
                "passwordless_operator_pools{condition=\"Ready\",reason=\"Ready\"}"
            )
            .ends_with(" 1")
        );

        // A standby (or a replica that stepped down, whose caches went stale) reports no pools:
        // the leader does.
        m.set_leader(false);
        let text = m.render_at(Timestamp::from_second(NOW).unwrap());
        assert!(!text.contains("pool_not_ready_seconds{"), "{text}");
        assert!(!text.contains("pools{"), "{text}");
    }

    #[test]
    fn samples_carry_the_labels_their_family_declares() {
        let m = Metrics::default();
        m.reconciled(Duration::from_millis(5), Some("conflict"));
        m.count_pools(vec![store_of(vec![pool(
            "web",
            NOW,
            Some(("False", "AwsError", NOW)),
        )])]);
        m.set_leader(true);
        let pacers = Arc::new(Pacers::default());
        m.count_pacing(pacers.clone());
        let paced = pacers.get("111111111111", "us-east-1");
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(paced.wait("CreateUserPool"));
        let text = m.render();
        assert!(text.contains("pool_not_ready_seconds{"), "{text}");
        assert!(
            text.contains(
                "aws_paced_calls_total{account=\"111111111111\",category=\"UserPoolCreate\"} 1"
            ),
            "{text}"
        );
        let mut seen = 0;
        for sample in text.lines().filter(|l| !l.starts_with('#')) {
            let series = sample.split_whitespace().next().unwrap_or_default();
            let (metric, labels) = series.split_once('{').unwrap_or((series, ""));
            let name = metric.trim_start_matches(&format!("{PREFIX}_"));
            let family = FAMILIES
                .iter()
                .find(|f| {
                    name == f.name
                        || name
                            .strip_prefix(f.name)
                            .is_some_and(|s| s.starts_with('_'))
                })
                .unwrap_or_else(|| panic!("{sample}: no family"));
            let keys: Vec<&str> = labels
                .trim_end_matches('}')
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| l.split('=').next().unwrap_or_default())
                .collect();
            let histogram_total = family.kind == "histogram" && keys.is_empty();
            assert!(
                histogram_total || keys == family.labels,
                "{sample}: {:?}",
                family.labels
            );
            seen += 1;
        }
        assert!(seen > 0, "{text}");
    }
}

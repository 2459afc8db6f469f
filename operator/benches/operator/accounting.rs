//! Where an apply's time went, and what bound it: the AWS calls and the time spent in them per
//! operation, the time calls waited in the operator's pacer per quota category, the share of
//! each quota the apply used, reconciles in flight against the concurrency allowed, and the CPU
//! of the operator and of the test bed beside it, and how much slower the calls answered than
//! at rest. The binding limit is decided by a pure function of those figures (tested by
//! `tests/bench_figures.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use passwordless_operator::aws::pace::category;

use crate::procs::CpuUse;
use crate::scrape::Scrape;

/// A quota is the limit when the apply used at least this share of it.
pub const QUOTA_BOUND: f64 = 0.8;
/// A single-threaded emulator process is the limit past this share of one core (ministack and
/// the model check in front of it are Python processes: one core each at most).
const EMULATOR_BOUND: f64 = 0.85;
/// The machine is the limit past this share of all its cores.
const MACHINE_BOUND: f64 = 0.9;
/// Reconciles that filled `--concurrency` mostly in AWS calls, calls that answered this many
/// times slower than at rest: the calls queued in the endpoint. AWS's answer time does not grow
/// with one account's load within its quotas; an emulator's does, once it is saturated (where
/// neither of its processes needs a full core: ministack and the model check in turn).
const ENDPOINT_BOUND: f64 = 2.0;
/// ... and at least this share of the reconciles' time was in AWS calls.
const IN_CALLS_BOUND: f64 = 0.5;

pub fn verdict(ok: bool) -> &'static str {
    if ok { "meets target" } else { "MISSES target" }
}

/// The quota category of an AWS call as `/metrics` labels it, for the services the pacer
/// paces: `None` for any other (and for Lambda's invocations).
pub fn quota_of(service: &str, operation: &str) -> Option<(&'static str, u32)> {
    match service {
        "Cognito Identity Provider" => Some(category(operation)),
        "Lambda" if operation != "Invoke" => Some(category(&format!("lambda:{operation}"))),
        _ => None,
    }
}

/// One apply of `pools` pools, measured.
pub struct Apply {
    pub pools: usize,
    pub wall: Duration,
    /// `/metrics` over the apply.
    pub delta: Scrape,
    /// CPU over the apply: the operator first, then the test bed's processes.
    pub cpu: Vec<CpuUse>,
    pub concurrency: usize,
    /// Accounts whose quotas the pools share.
    pub accounts: usize,
}

/// Per quota category: calls, seconds waited in the pacer, the rate allowed (per account, times
/// the accounts that used it), and the share of that used over the apply.
#[derive(Debug, Clone)]
pub struct QuotaUse {
    pub category: &'static str,
    pub calls: f64,
    pub waited: f64,
    pub rate: f64,
    pub share: f64,
}

/// What bound an apply.
#[derive(Debug, PartialEq)]
pub enum Binding {
    Quota {
        category: &'static str,
        share: f64,
    },
    Emulator {
        process: &'static str,
        cores: f64,
    },
    Machine {
        cores: f64,
    },
    /// The reconciles filled `--concurrency`, mostly in AWS calls that answered `slowdown`
    /// times slower than at rest: more concurrency would queue longer in the endpoint.
    Endpoint {
        in_flight: f64,
        allowed: usize,
        in_calls: f64,
        slowdown: f64,
    },
    /// The reconciles filled `--concurrency`; where their time went: in AWS calls, queued in
    /// the pacer, elsewhere (the apiserver, waits for AWS state, the upload slots).
    Concurrency {
        in_flight: f64,
        allowed: usize,
        in_calls: f64,
        in_pacer: f64,
    },
    OurWork {
        cores: f64,
    },
}

impl std::fmt::Display for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Binding::Quota { category, share } => write!(
                f,
                "the {category} quota, used at {:.0} % over the apply",
                share * 100.0
            ),
            Binding::Emulator { process, cores } => write!(
                f,
                "the emulator: {process} at {:.0} % of a core (single-threaded)",
                cores * 100.0
            ),
            Binding::Machine { cores } => {
                write!(f, "the machine: {:.0} % of its cores busy", cores * 100.0)
            }
            Binding::Endpoint {
                in_flight,
                allowed,
                in_calls,
                slowdown,
            } => write!(
                f,
                "the AWS endpoint's throughput (here, the emulator's): {in_flight:.1} reconciles in flight of {allowed} allowed, {:.0} % of their time in AWS calls, which answered {slowdown:.1}x slower than the same calls at rest (they queue in the endpoint: more concurrency would queue longer)",
                in_calls * 100.0
            ),
            Binding::Concurrency {
                in_flight,
                allowed,
                in_calls,
                in_pacer,
            } => write!(
                f,
                "the operator's concurrency: {in_flight:.1} reconciles in flight on average, of {allowed} allowed; of their time {:.0} % in AWS calls, {:.0} % queued in the pacer, {:.0} % elsewhere",
                in_calls * 100.0,
                in_pacer * 100.0,
                (1.0 - in_calls - in_pacer).max(0.0) * 100.0
            ),
            Binding::OurWork { cores } => {
                write!(
                    f,
                    "the operator's own work: {:.0} % of a core",
                    cores * 100.0
                )
            }
        }
    }
}

impl Apply {
    pub fn quotas(&self) -> Vec<QuotaUse> {
        let mut by: BTreeMap<&'static str, (f64, f64, u32, std::collections::BTreeSet<String>)> =
            BTreeMap::new();
        for ((account, category), (calls, waited, quota)) in self.delta.paced_quotas() {
            let e = by.entry(category).or_default();
            e.0 += calls;
            e.1 += waited;
            e.2 = quota;
            e.3.insert(account);
        }
        let wall = self.wall.as_secs_f64();
        by.into_iter()
            .map(|(category, (calls, waited, quota, accounts))| {
                let rate = f64::from(quota) * accounts.len().max(1) as f64;
                QuotaUse {
                    category,
                    calls,
                    waited,
                    rate,
                    share: calls / rate / wall,
                }
            })
            .collect()
    }

    /// Reconciles in flight on average: the time spent in them over the wall time.
    pub fn in_flight(&self) -> f64 {
        self.delta.reconcile_seconds / self.wall.as_secs_f64()
    }

    /// `slowdown`: the calls' answer time against at rest ([`slowdown`]).
    pub fn binding(&self, slowdown: Option<f64>) -> Binding {
        let busy = self.delta.reconcile_seconds.max(f64::MIN_POSITIVE);
        let in_calls: f64 = self.delta.call_seconds.values().sum::<f64>() / busy;
        let in_pacer: f64 = self.delta.paced.values().map(|(_, w)| w).sum::<f64>() / busy;
        binding(
            &self.quotas(),
            &self.cpu,
            crate::procs::cores(),
            (self.in_flight(), self.concurrency),
            (in_calls.min(1.0), in_pacer.min(1.0)),
            slowdown,
        )
    }

    /// The shortest apply the quotas allow: the busiest category's calls at its rate.
    pub fn quota_floor(&self) -> (Duration, &'static str) {
        self.quotas()
            .iter()
            .map(|q| (Duration::from_secs_f64(q.calls / q.rate), q.category))
            .max()
            .unwrap_or((Duration::ZERO, "none"))
    }

    /// `at_rest`: `/metrics` over a window at rest after the apply, for the calls' answer time
    /// when nothing queues.
    pub fn print(&self, title: &str, at_rest: &Scrape) {
        let wall = self.wall.as_secs_f64();
        println!("{title}: where the apply's {wall:.1} s went");
        println!(
            "  AWS calls, by service and operation: calls, time in them (summed over calls in flight), mean"
        );
        for ((service, operation), n) in &self.delta.calls {
            let key = (service.clone(), operation.clone());
            let seconds = self.delta.call_seconds.get(&key).copied().unwrap_or(0.0);
            println!(
                "    {:<48} {n:>7.0} {seconds:>9.1} s {:>8.1} ms",
                format!("{service}:{operation}"),
                seconds / n * 1000.0
            );
        }
        let total: f64 = self.delta.calls.values().sum();
        let in_calls: f64 = self.delta.call_seconds.values().sum();
        println!(
            "    {:<48} {total:>7.0} {in_calls:>9.1} s   ({:.1} calls per pool)",
            "all",
            total / self.pools as f64
        );
        println!(
            "  the pacer, by quota category: calls, time waited for a slot, share of the quota over the apply ({} account{})",
            self.accounts,
            if self.accounts == 1 { "" } else { "s" }
        );
        for q in self.quotas() {
            println!(
                "    {:<22} {:>7.0} calls {:>9.1} s waited   {:>5.1} % of {:.0} /s   (alone it needs {:.0} s)",
                q.category,
                q.calls,
                q.waited,
                q.share * 100.0,
                q.rate,
                q.calls / q.rate
            );
        }
        println!(
            "  reconciles: {:.0}, {:.1} in flight on average of {} allowed",
            self.delta.reconciles,
            self.in_flight(),
            self.concurrency
        );
        println!(
            "  CPU over the apply (a share of one core; the machine has {:.0}): {}",
            crate::procs::cores(),
            self.cpu
                .iter()
                .map(|c| format!("{} {:.0} s ({:.0} %)", c.name, c.seconds, c.cores * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let emulator: f64 = self
            .cpu
            .iter()
            .filter(|c| c.name == "ministack" || c.name == "model check")
            .map(|c| c.seconds)
            .sum();
        println!(
            "  the emulator's cost: ministack and the model check spent {:.2} CPU-s per pool, {:.1} ms per AWS call",
            emulator / self.pools as f64,
            emulator / total * 1000.0
        );
        let (floor, by) = self.quota_floor();
        println!(
            "  the quotas' floor: {:.0} s ({by}); the apply took {:.2}x it",
            floor.as_secs_f64(),
            wall / floor.as_secs_f64().max(f64::MIN_POSITIVE)
        );
        let slower = slowdown(&self.delta, at_rest);
        if let Some(slower) = slower {
            println!(
                "  the calls' answer time: {slower:.1}x that of the same calls at rest (over the operations called in both)"
            );
        }
        let binding = self.binding(slower);
        let ok = matches!(binding, Binding::Quota { share, .. } if share >= QUOTA_BOUND);
        let judged = !matches!(
            binding,
            Binding::Emulator { .. } | Binding::Machine { .. } | Binding::Endpoint { .. }
        );
        println!(
            "  binding limit: {binding}   target: the binding quota at >= {:.0} %: {}",
            QUOTA_BOUND * 100.0,
            if judged {
                verdict(ok)
            } else {
                "not judged here (the test bed binds, not the operator or AWS)"
            }
        );
    }
}

/// How many times longer the apply's calls took than the same calls at rest: the apply's time
/// in the operations called in both windows over what as many calls of each take at rest.
/// `None` when no operation was called in both.
pub fn slowdown(apply: &Scrape, at_rest: &Scrape) -> Option<f64> {
    let (mut took, mut would_take) = (0.0, 0.0);
    for (op, &calls) in &apply.calls {
        let rest_calls = at_rest.calls.get(op).copied().unwrap_or(0.0);
        let rest_seconds = at_rest.call_seconds.get(op).copied().unwrap_or(0.0);
        if calls <= 0.0 || rest_calls <= 0.0 {
            continue;
        }
        took += apply.call_seconds.get(op).copied().unwrap_or(0.0);
        would_take += calls * rest_seconds / rest_calls;
    }
    (would_take > 0.0).then(|| took / would_take)
}

/// What bound an apply: a quota used at [`QUOTA_BOUND`] or more; else the emulator, if one of
/// its processes was at [`EMULATOR_BOUND`] of a core; else the machine, if its cores were
/// busy; else, if the operator's reconciles filled its concurrency: the AWS endpoint, if they
/// spent most of their time in calls answered [`ENDPOINT_BOUND`] times slower than at rest,
/// or the concurrency itself (with the shares of their time in AWS calls and in the pacer);
/// else the operator's own work. `cpu`'s first entry is the operator's.
pub fn binding(
    quotas: &[QuotaUse],
    cpu: &[CpuUse],
    cores: f64,
    (in_flight, allowed): (f64, usize),
    (in_calls, in_pacer): (f64, f64),
    slowdown: Option<f64>,
) -> Binding {
    if let Some(q) = quotas
        .iter()
        .filter(|q| q.share >= QUOTA_BOUND)
        .max_by(|a, b| a.share.total_cmp(&b.share))
    {
        return Binding::Quota {
            category: q.category,
            share: q.share,
        };
    }
    if let Some(e) = cpu
        .iter()
        .filter(|c| c.name == "ministack" || c.name == "model check")
        .filter(|c| c.cores >= EMULATOR_BOUND)
        .max_by(|a, b| a.cores.total_cmp(&b.cores))
    {
        return Binding::Emulator {
            process: e.name,
            cores: e.cores,
        };
    }
    let busy: f64 = cpu.iter().map(|c| c.cores).sum::<f64>() / cores;
    if busy >= MACHINE_BOUND {
        return Binding::Machine { cores: busy };
    }
    if in_flight >= allowed as f64 * 0.9 {
        if let Some(slowdown) =
            slowdown.filter(|s| *s >= ENDPOINT_BOUND && in_calls >= IN_CALLS_BOUND)
        {
            return Binding::Endpoint {
                in_flight,
                allowed,
                in_calls,
                slowdown,
            };
        }
        return Binding::Concurrency {
            in_flight,
            allowed,
            in_calls,
            in_pacer,
        };
    }
    Binding::OurWork {
        cores: cpu.first().map_or(0.0, |c| c.cores),
    }
}

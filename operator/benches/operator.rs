//! `make bench-operator`: the controller on the test bed's apiserver and ministack.
//! Prints apply-to-Ready for 1 and N pools (baseline: the CLI applying the same manifest, no
//! cluster, in the same run), steady-state AWS calls per pool and resync, how the resyncs
//! spread over their period, the peak rate of Cognito calls per quota category against the
//! published quotas, and the operator's RSS and CPU at rest while holding N pools. A benchmark,
//! not a test: it prints and compares against the targets; it fails only if something never
//! becomes Ready.

#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One read per resource of a magic-link pool: sender, role, role policy, table TTL, table
/// tags (the owner check), keys secret, function, permission, user pool, app client, and the
/// pool's web ACL (found through the pool, so it is there to delete when `rateLimit` goes).
const MAX_READS_PER_RESYNC: u32 = 11;

use common::cluster::{
    Operator, OperatorArgs, apply_pool, eventually, magic_link_pool, ready_pool, unique,
};
use kube::api::{Api, DeleteParams};
use passwordless_operator::crd::PasswordlessPool;

/// Pools in the fleet measurement: a platform team's fleet.
const DEFAULT_POOLS: usize = 1000;

/// The resync period: short, so the steady state is seen soon, but long enough for the fleet's
/// resyncs within Cognito's read quotas (two paced reads per pool, 15 a second each).
fn resync_seconds(pools: usize) -> u64 {
    (pools as u64 * 3 / 20).max(20)
}

/// `(service, operation) -> calls so far`.
type Calls = BTreeMap<(String, String), f64>;

fn label<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(&format!("{name}=\"")).nth(1)?.split('"').next()
}

fn aws_calls(metrics: &str) -> Calls {
    metrics
        .lines()
        .filter(|l| l.starts_with("passwordless_operator_aws_calls_total{"))
        .filter_map(|l| {
            let key = (
                label(l, "service")?.to_owned(),
                label(l, "operation")?.to_owned(),
            );
            Some((key, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect()
}

/// `/metrics` read once a second for the whole run: the AWS calls and reconciles so far.
struct Sample {
    at: Instant,
    calls: Calls,
    reconciles: f64,
}

fn reconciles(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("passwordless_operator_reconciles_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Samples a rate is taken over: ten seconds, so one call more or less at a window's edges
/// moves it by a tenth of a call per second.
const RATE_WINDOW: usize = 10;

/// The highest rate, in calls per second over any window of [`RATE_WINDOW`] samples, of each
/// Cognito quota category (as `aws::pace` names them, with their published default quota),
/// and whether every window stayed within it (allowing the one call a window's edges can add
/// to calls spaced at exactly the quota).
fn peak_cognito_rates(samples: &[Sample]) -> BTreeMap<&'static str, (f64, u32, bool)> {
    let mut peaks = BTreeMap::new();
    for window in samples.windows(RATE_WINDOW + 1) {
        let (first, last) = (&window[0], &window[RATE_WINDOW]);
        let seconds = (last.at - first.at).as_secs_f64();
        let mut per_category: BTreeMap<&'static str, (f64, u32)> = BTreeMap::new();
        for ((service, operation), n) in &last.calls {
            // The SDK's service name, as the call counter labels it.
            if service != "Cognito Identity Provider" {
                continue;
            }
            let before = first.calls.get(&(service.clone(), operation.clone()));
            let (category, quota) = passwordless_operator::aws::pace::category(operation);
            per_category.entry(category).or_insert((0.0, quota)).0 +=
                n - before.copied().unwrap_or(0.0);
        }
        for (category, (n, quota)) in per_category {
            let peak = peaks.entry(category).or_insert((0.0, quota, true));
            peak.0 = f64::max(peak.0, n / seconds);
            peak.2 &= n <= f64::from(quota) * seconds + 1.0;
        }
    }
    peaks
}

/// Reconciles in each tenth of `window` from `start`: how evenly resyncs spread.
fn spread(samples: &[Sample], start: Instant, window: Duration) -> Vec<f64> {
    let tenth = window / 10;
    let at = |t: Instant| {
        samples
            .iter()
            .take_while(|s| s.at <= t)
            .last()
            .map_or(0.0, |s| s.reconciles)
    };
    (0..10)
        .map(|i| at(start + tenth * (i + 1)) - at(start + tenth * i))
        .collect()
}

fn is_write(operation: &str) -> bool {
    passwordless_operator::aws::is_mutating(operation)
}

/// utime + stime of a process, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// A `/proc/<pid>/status` memory line (VmRSS, RssAnon, RssFile), in MiB.
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets target" } else { "MISSES target" }
}

/// The CLI applying the same manifest to fresh names: the same reconcile core without a cluster.
/// Returns the first apply's wall time and the (reads, writes) of a second, in-sync apply.
fn cli_baseline(namespace: &str) -> (Duration, (u64, u64)) {
    let dir = std::env::temp_dir().join(unique("pwp-bench-cli"));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("pool.yaml");
    let pool = magic_link_pool(namespace, "baseline", serde_json::json!({}));
    std::fs::write(&manifest, serde_yaml::to_string(&pool).unwrap()).unwrap();
    let run = |verb: &str| {
        let started = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_passwordless-operator"))
            .args([verb, "-f"])
            .arg(&manifest)
            .arg("--state")
            .arg(dir.join("state.json"))
            .env("PWP_TRIGGER_ZIP", common::trigger_zip())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (started.elapsed(), stderr)
    };
    let (took, _) = run("apply");
    // "AWS calls: 11 reads, 0 writes; 0.19s"
    let (_, stderr) = run("apply");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("AWS calls: "))
        .unwrap();
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    run("delete");
    (took, (numbers[0], numbers[1]))
}

#[tokio::main]
async fn main() {
    let pools: usize = std::env::var("PWP_BENCH_POOLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_POOLS);
    let resync = std::env::var("PWP_BENCH_RESYNC_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| resync_seconds(pools));
    let (admin, ns, mut op) = common::cluster::with_operator("bench", resync).await;
    let (baseline, (cli_reads, cli_writes)) = cli_baseline(&ns);
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Sample>::new()));
    let sampler = {
        let (samples, port) = (samples.clone(), op.http_port);
        tokio::spawn(async move {
            loop {
                if let Some(text) = common::cluster::http_get(port, "/metrics").await {
                    samples.lock().unwrap().push(Sample {
                        at: Instant::now(),
                        calls: aws_calls(&text),
                        reconciles: reconciles(&text),
                    });
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    // One pool.
    let started = Instant::now();
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "single", serde_json::json!({})),
    )
    .await;
    ready_pool(&admin, &ns, "single", Duration::from_secs(120)).await;
    let single = started.elapsed();

    // N pools, applied together as a GitOps sync would.
    let names: Vec<String> = (0..pools).map(|i| format!("fleet-{i:03}")).collect();
    let started = Instant::now();
    for name in &names {
        apply_pool(&admin, &magic_link_pool(&ns, name, serde_json::json!({}))).await;
    }
    for name in &names {
        ready_pool(&admin, &ns, name, Duration::from_secs(600)).await;
    }
    let fleet = started.elapsed();
    let fleet_target = Duration::from_secs_f64(pools as f64 / 100.0 * 60.0);

    // Steady state: every pool in sync; count the calls over resyncs, and the CPU they cost.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let metric = |name: &'static str| {
        let op = &op;
        async move { op.metric(name).await }
    };
    let pid = op.pid();
    let period = Duration::from_secs(resync);
    let steady_from = Instant::now();
    let ticks = cpu_ticks(pid);
    let calls_before = aws_calls(&op.get("/metrics").await.unwrap());
    let reconciles_before = metric("passwordless_operator_reconciles_total").await;
    // Resyncs are spread over ±10% of the period; this window holds one per pool.
    let window = period.mul_f64(1.12);
    tokio::time::sleep(window).await;
    let calls_after = aws_calls(&op.get("/metrics").await.unwrap());
    let resyncs = metric("passwordless_operator_reconciles_total").await - reconciles_before;
    let cpu_percent = (cpu_ticks(pid) - ticks) as f64 / 100.0 / window.as_secs_f64() * 100.0;
    let rss = memory_mib(pid, "VmRSS:");
    let (anon, file) = (memory_mib(pid, "RssAnon:"), memory_mib(pid, "RssFile:"));
    sampler.abort();
    let samples = std::mem::take(&mut *samples.lock().unwrap());
    let mut per_operation = BTreeMap::new();
    for (operation, n) in &calls_after {
        let delta = n - calls_before.get(operation).copied().unwrap_or(0.0);
        if delta > 0.0 {
            per_operation.insert(operation.clone(), delta);
        }
    }
    let reads: f64 = per_operation
        .iter()
        .filter(|((_, o), _)| !is_write(o))
        .map(|(_, n)| n)
        .sum();
    let writes: f64 = per_operation
        .iter()
        .filter(|((_, o), _)| is_write(o))
        .map(|(_, n)| n)
        .sum();
    let per = |n: f64| if resyncs > 0.0 { n / resyncs } else { f64::NAN };
    let tenths = spread(&samples, steady_from, period);
    let (fewest, most) = tenths
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), &n| (lo.min(n), hi.max(n)));
    let even = tenths.iter().sum::<f64>() / 10.0;
    let peaks = peak_cognito_rates(&samples);

    println!(
        "passwordless-operator bench (release build; ministack + kube-apiserver 1.20 on loopback)"
    );
    println!();
    println!("apply to Ready");
    println!(
        "  1 pool, controller:           {:>7.2} s   (baseline, CLI apply of the same manifest: {:.2} s)",
        single.as_secs_f64(),
        baseline.as_secs_f64()
    );
    println!(
        "  {pools} pools, controller:        {:>7.2} s   target <= {:.0} s: {}  ({:.2} s per pool)",
        fleet.as_secs_f64(),
        fleet_target.as_secs_f64(),
        verdict(fleet <= fleet_target),
        fleet.as_secs_f64() / pools as f64
    );
    println!();
    println!(
        "steady state, {} resyncs of {} in-sync pools (period {resync} s)",
        resyncs,
        pools + 1
    );
    println!(
        "  per pool per resync:           {:.2} reads, {:.2} writes   target <= {MAX_READS_PER_RESYNC} reads, 0 writes: {}",
        per(reads),
        per(writes) + 0.0, // no "-0.00"
        // To a tenth: reconciles in flight at the window's edges count their reads or not.
        verdict(
            (per(reads) * 10.0).round() / 10.0 <= f64::from(MAX_READS_PER_RESYNC) && writes == 0.0
        )
    );
    println!(
        "  (baseline, the CLI's in-sync apply of the same manifest: {cli_reads} reads, {cli_writes} writes)"
    );
    for ((service, operation), n) in &per_operation {
        println!(
            "    {:<40} {:.2}",
            format!("{service}:{operation}"),
            per(*n)
        );
    }
    println!(
        "  resyncs per tenth of the period: {} (fewest {fewest:.0}, most {most:.0}; even would be {even:.1} each)",
        tenths
            .iter()
            .map(|n| format!("{n:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!();
    println!(
        "peak Cognito calls per second by quota category, over the whole run ({RATE_WINDOW} s windows)"
    );
    for (category, (peak, quota, within)) in &peaks {
        println!(
            "  {category:<22} {peak:>6.1} /s   quota {quota} /s: {}",
            verdict(*within)
        );
    }
    println!();
    println!(
        "at rest (no spec change, resyncs running), holding {} pools",
        pools + 1
    );
    println!(
        "  RSS {rss:.1} MiB (heap and stacks {anon:.1}, binary and other files {file:.1})   target <= 64 MiB: {}",
        verdict(rss <= 64.0)
    );
    println!(
        "  CPU {cpu_percent:.2} % of one core over the steady window ({:.0} s)",
        window.as_secs_f64()
    );

    // A restart holding the fleet (a new pod): its first comparison of every pool writes
    // nothing, and its memory holds the fleet without the first apply's peaks behind it.
    op.terminate().await;
    let op = Operator::start(
        &unique("op-bench-restarted"),
        &OperatorArgs {
            namespaces: &[&ns],
            lease: &unique("lease"),
            resync_seconds: resync,
            env: &[],
        },
    );
    let restarted = Instant::now();
    eventually(
        "the restarted operator compared every pool",
        Duration::from_secs(900),
        || async {
            (op.metric("passwordless_operator_reconciles_total").await >= (pools + 1) as f64)
                .then_some(())
        },
    )
    .await;
    let compared_in = restarted.elapsed();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after_restart = aws_calls(&op.get("/metrics").await.unwrap());
    let restart_writes: f64 = after_restart
        .iter()
        .filter(|((_, o), _)| is_write(o))
        .map(|(_, n)| n)
        .sum();
    let restart_rss = memory_mib(op.pid(), "VmRSS:");
    let restart_anon = memory_mib(op.pid(), "RssAnon:");
    println!();
    println!("after a restart, holding {} pools", pools + 1);
    println!(
        "  every pool compared in {:.1} s, {:.0} writes",
        compared_in.as_secs_f64(),
        restart_writes + 0.0 // no "-0"
    );
    println!(
        "  RSS {restart_rss:.1} MiB (heap and stacks {restart_anon:.1})   target <= 64 MiB: {}",
        verdict(restart_rss <= 64.0)
    );

    // Clean up AWS through the operator.
    let api: Api<PasswordlessPool> = Api::namespaced(admin.clone(), &ns);
    let started = Instant::now();
    for name in names.iter().map(String::as_str).chain(["single"]) {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    eventually("every pool deleted", Duration::from_secs(600), || async {
        api.list(&Default::default())
            .await
            .ok()
            .filter(|l| l.items.is_empty())
    })
    .await;
    println!();
    println!(
        "deleting {} pools (AWS cleanup included): {:.2} s",
        pools + 1,
        started.elapsed().as_secs_f64()
    );
}

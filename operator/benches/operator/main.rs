//! `make bench-operator`: the controller on the test bed's apiserver and ministack.
//! Prints apply-to-Ready for 1 and N pools (baseline: the CLI applying the same manifest, no
//! cluster, in the same run) with where the apply's time went and what bound it (`accounting`),
//! steady-state AWS calls per pool and resync, how the resyncs spread over their period, the
//! peak rate of paced calls per quota category against the published quotas, and the operator's
//! RSS and CPU at rest while holding N pools. Then, after a restart, the hostile-tenant figure
//! (`hostile`), and last a fleet across mapped accounts (`accounts`). A benchmark, not a test: it
//! prints and compares against the targets; it fails only if something never becomes Ready (or
//! refused).

#![allow(clippy::unwrap_used)]

#[path = "../../tests/common/mod.rs"]
mod common;

mod accounting;
mod accounts;
mod hostile;
mod procs;
mod rates;
mod scrape;

use std::time::{Duration, Instant};

use common::cluster::{
    Operator, OperatorArgs, apply_pool, eventually, magic_link_pool, prepare, ready_pool, unique,
};
use kube::api::{Api, DeleteParams};
use passwordless_operator::crd::PasswordlessPool;

use crate::procs::{CpuMeter, cpu_ticks, memory_mib};
use crate::rates::{RATE_WINDOW, Sample};

/// One read per resource of a magic-link pool: sender, role, role policy, table TTL, table
/// tags (the owner check), keys secret, function, permission, user pool, app client, and the
/// pool's web ACL (found through the pool, so it is there to delete when `rateLimit` goes).
const MAX_READS_PER_RESYNC: u32 = 11;

/// Pools in the fleet measurement: a platform team's fleet.
const DEFAULT_POOLS: usize = 1000;

/// Large hostile pools in the hostile-tenant stage (`PWP_BENCH_HOSTILE_POOLS`; 0 skips it):
/// each schema-valid, with 5,000 labels of ~120 bytes and a 200 KB annotation (~0.8 MB), and a
/// sender the tenancy refuses.
const DEFAULT_HOSTILE_POOLS: usize = 50;

/// The resync period: short, so the steady state is seen soon, but long enough for the fleet's
/// resyncs within Cognito's read quotas (two paced reads per pool, 15 a second each).
fn resync_seconds(pools: usize) -> u64 {
    (pools as u64 * 3 / 20).max(20)
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub use accounting::verdict;

/// An operator of the bench's (release) build watching `watched` with its own lease, once it
/// leads.
pub async fn leading_operator(
    name: &str,
    watched: &[&str],
    resync_seconds: u64,
    env: &[(&str, &str)],
) -> Operator {
    let op = Operator::start(
        &unique(name),
        &OperatorArgs {
            namespaces: watched,
            lease: &unique("lease"),
            resync_seconds,
            env,
        },
    );
    eventually("the operator leads", Duration::from_secs(30), || async {
        op.is_leader().await.then_some(())
    })
    .await;
    op
}

/// The restarted operator's log level: its one debug line per successful reconcile names the
/// pool (`controller::wiring`).
const RECONCILED_LOG: &str = "info,passwordless_operator::controller::wiring=debug";

/// The pools an operator started with [`RECONCILED_LOG`] has reconciled, by its log.
fn reconciled_pools(log: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains(" reconciled "))
        .filter_map(|l| l.split("pool=").nth(1)?.split_whitespace().next())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// The peak rate of every account's paced calls per quota category over `samples`.
pub fn print_peaks(samples: &[Sample]) {
    println!(
        "peak paced calls per second by account and quota category, over the whole run ({RATE_WINDOW} s windows)"
    );
    for ((account, category), (peak, quota, within)) in rates::peaks(samples) {
        println!(
            "  {account:<14} {category:<22} {peak:>6.1} /s   quota {quota} /s: {}",
            verdict(within)
        );
    }
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
    let pools: usize = env_number("PWP_BENCH_POOLS", DEFAULT_POOLS);
    let resync = env_number("PWP_BENCH_RESYNC_SECONDS", resync_seconds(pools));
    let hostile: usize = env_number("PWP_BENCH_HOSTILE_POOLS", DEFAULT_HOSTILE_POOLS);
    let concurrency = env_number(
        "PWP_CONCURRENCY",
        passwordless_operator::controller::DEFAULT_CONCURRENCY,
    );
    // The fleet's namespace, a hostile tenant's and an innocent tenant's: one operator watches
    // all three, as a shared installation watches every team's.
    let admin = common::cluster::admin().await;
    let (ns, hostile_ns, tenant_ns) = (
        unique("bench"),
        unique("bench-hostile"),
        unique("bench-tenant"),
    );
    let watched = [ns.as_str(), hostile_ns.as_str(), tenant_ns.as_str()];
    prepare(&admin, &watched).await;
    let mut op = leading_operator("op-bench", &watched, resync, &[]).await;
    let (baseline, (cli_reads, cli_writes)) = cli_baseline(&ns);
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Sample>::new()));
    let sampler = rates::sample(op.http_port, samples.clone());

    // One pool.
    let started = Instant::now();
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "single", serde_json::json!({})),
    )
    .await;
    ready_pool(&admin, &ns, "single", Duration::from_secs(120)).await;
    let single = started.elapsed();

    // N pools, applied together as a GitOps sync would, with the time accounted for.
    let pid = op.pid();
    let names: Vec<String> = (0..pools).map(|i| format!("fleet-{i:03}")).collect();
    let before = scrape::scrape(op.http_port).await;
    let meter = CpuMeter::start(&[&[("operator", pid)][..], &procs::testbed()].concat());
    let started = Instant::now();
    for name in &names {
        apply_pool(&admin, &magic_link_pool(&ns, name, serde_json::json!({}))).await;
    }
    for name in &names {
        ready_pool(&admin, &ns, name, Duration::from_secs(900)).await;
    }
    let fleet = started.elapsed();
    let apply = accounting::Apply {
        pools,
        wall: fleet,
        delta: scrape::scrape(op.http_port).await.since(&before),
        cpu: meter.read(),
        concurrency,
        accounts: 1,
    };

    // Steady state: every pool in sync; count the calls over one period, and the CPU they cost.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let period = Duration::from_secs(resync);
    let steady_from = Instant::now();
    let ticks = cpu_ticks(pid);
    let steady_before = scrape::scrape(op.http_port).await;
    // Each pool resyncs at its own slot of the period: one period holds one resync per pool.
    tokio::time::sleep(period).await;
    let steady = scrape::scrape(op.http_port).await.since(&steady_before);
    let resyncs = steady.reconciles;
    let cpu_percent = (cpu_ticks(pid) - ticks) as f64 / 100.0 / period.as_secs_f64() * 100.0;
    let rss = memory_mib(pid, "VmRSS:");
    let (anon, file) = (memory_mib(pid, "RssAnon:"), memory_mib(pid, "RssFile:"));
    sampler.abort();
    let samples = std::mem::take(&mut *samples.lock().unwrap());
    let per = |n: f64| if resyncs > 0.0 { n / resyncs } else { f64::NAN };
    let (reads, writes) = (steady.reads(), steady.writes());

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
    let (floor, by) = apply.quota_floor();
    let fleet_target = floor.div_f64(accounting::QUOTA_BOUND);
    println!(
        "  {pools} pools, controller:        {:>7.2} s   target <= {:.0} s (the quotas' floor of {:.0} s, {by}, at {:.0} %): {}  ({:.2} s per pool)",
        fleet.as_secs_f64(),
        fleet_target.as_secs_f64(),
        floor.as_secs_f64(),
        accounting::QUOTA_BOUND * 100.0,
        verdict(fleet <= fleet_target),
        fleet.as_secs_f64() / pools as f64
    );
    println!();
    apply.print(&format!("{pools} pools"), &steady);
    println!();
    println!(
        "steady state, {resyncs} resyncs of {} in-sync pools over one period ({resync} s)",
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
    for ((service, operation), n) in &steady.calls {
        println!(
            "    {:<40} {:.2}",
            format!("{service}:{operation}"),
            per(*n)
        );
    }
    rates::print_spread(&rates::spread(&samples, steady_from, period));
    println!();
    print_peaks(&samples);
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
        period.as_secs_f64()
    );

    // A restart holding the fleet (a new pod): its first comparison of every pool writes
    // nothing, and its memory holds the fleet without the first apply's peaks behind it.
    op.terminate().await;
    let restarted = Instant::now();
    let mut op = leading_operator(
        "op-bench-restarted",
        &watched,
        resync,
        &[("RUST_LOG", RECONCILED_LOG)],
    )
    .await;
    // The restart's first reconcile of a pool compares it with AWS (its caches are empty). The
    // count of comparisons cannot tell when each pool has had one: a pool whose slot comes
    // while the others wait for theirs is compared again at it.
    eventually(
        "the restarted operator compared every pool",
        Duration::from_secs(900),
        || async { (reconciled_pools(&op.log) > pools).then_some(()) },
    )
    .await;
    let compared_in = restarted.elapsed();
    // Each comparison with AWS reads the user pool once; a reconcile the cache answers, none.
    let described = "passwordless_operator_aws_calls_total{service=\"Cognito Identity Provider\",operation=\"DescribeUserPool\"}";
    let burst = op.metric(described).await;
    // The resyncs after a restart: at each pool's same slot, so spread as before it.
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Sample>::new()));
    let sampler = rates::sample(op.http_port, samples.clone());
    let spread_from = Instant::now() + Duration::from_secs(2);
    tokio::time::sleep(period + Duration::from_secs(3)).await;
    sampler.abort();
    let after_restart = scrape::scrape(op.http_port).await;
    let restart_rss = memory_mib(op.pid(), "VmRSS:");
    let restart_anon = memory_mib(op.pid(), "RssAnon:");
    println!();
    println!("after a restart, holding {} pools", pools + 1);
    println!(
        "  every pool compared in {:.1} s ({burst:.0} comparisons: a pool whose slot came meanwhile was compared again at it); {:.0} writes since the restart",
        compared_in.as_secs_f64(),
        after_restart.writes() + 0.0 // no "-0"
    );
    rates::print_spread(&rates::spread(
        &samples.lock().unwrap(),
        spread_from,
        period,
    ));
    println!(
        "  RSS {restart_rss:.1} MiB (heap and stacks {restart_anon:.1})   target <= 64 MiB: {}",
        verdict(restart_rss <= 64.0)
    );

    if hostile > 0 {
        let fleet_operations = steady.calls.keys().cloned().collect();
        let tenants = hostile::Tenants {
            admin: &admin,
            hostile_ns: &hostile_ns,
            tenant_ns: &tenant_ns,
        };
        hostile::hostile_tenant(
            &tenants,
            &mut op,
            hostile,
            single,
            &fleet_operations,
            pools + 1,
        )
        .await;
    } else {
        println!();
        println!("hostile tenant: skipped (PWP_BENCH_HOSTILE_POOLS=0)");
    }

    // Clean up AWS through the operator.
    let api: Api<PasswordlessPool> = Api::namespaced(admin.clone(), &ns);
    let started = Instant::now();
    for name in names.iter().map(String::as_str).chain(["single"]) {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    eventually("every pool deleted", Duration::from_secs(900), || async {
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
    op.terminate().await;

    accounts::bench(&admin, concurrency).await;
}

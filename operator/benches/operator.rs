//! `make bench-operator`: the controller on the test bed's apiserver and ministack.
//! Prints apply-to-Ready for 1 and N pools (baseline: the CLI applying the same manifest, no
//! cluster, in the same run), steady-state AWS calls per pool and resync, and the operator's
//! RSS and CPU at rest while holding N pools. A benchmark, not a test: it prints and compares
//! against the targets; it fails only if something never becomes Ready.

#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One read per resource of a magic-link pool: sender, role, role policy, table TTL, table
/// tags (the owner check), keys secret, function, permission, user pool, app client, and the
/// pool's web ACL (found through the pool, so it is there to delete when `rateLimit` goes).
const MAX_READS_PER_RESYNC: u32 = 11;

use common::cluster::{apply_pool, eventually, magic_link_pool, ready_pool, unique};
use kube::api::{Api, DeleteParams};
use passwordless_operator::crd::PasswordlessPool;

/// Pools in the fleet measurement (at least 50, per the targets).
const DEFAULT_POOLS: usize = 60;
const RESYNC_SECONDS: u64 = 20;

fn aws_calls(metrics: &str) -> BTreeMap<String, f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with("passwordless_operator_aws_calls_total{"))
        .filter_map(|l| {
            let operation = l.split("operation=\"").nth(1)?.split('"').next()?;
            Some((operation.to_owned(), l.rsplit(' ').next()?.parse().ok()?))
        })
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
    let (admin, ns, op) = common::cluster::with_operator("bench", RESYNC_SECONDS).await;
    let (baseline, (cli_reads, cli_writes)) = cli_baseline(&ns);

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

    // Steady state: every pool in sync; count the calls over resyncs.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let metric = |name: &'static str| {
        let op = &op;
        async move { op.metric(name).await }
    };
    let calls_before = aws_calls(&op.get("/metrics").await.unwrap());
    let reconciles_before = metric("passwordless_operator_reconciles_total").await;
    // Resyncs are spread over ±10% of the period; this window holds one per pool.
    tokio::time::sleep(Duration::from_secs_f64(RESYNC_SECONDS as f64 * 1.12)).await;
    let calls_after = aws_calls(&op.get("/metrics").await.unwrap());
    let resyncs = metric("passwordless_operator_reconciles_total").await - reconciles_before;
    let mut per_operation = BTreeMap::new();
    for (operation, n) in &calls_after {
        let delta = n - calls_before.get(operation).copied().unwrap_or(0.0);
        if delta > 0.0 {
            per_operation.insert(operation.clone(), delta);
        }
    }
    let reads: f64 = per_operation
        .iter()
        .filter(|(o, _)| !is_write(o))
        .map(|(_, n)| n)
        .sum();
    let writes: f64 = per_operation
        .iter()
        .filter(|(o, _)| is_write(o))
        .map(|(_, n)| n)
        .sum();
    let per = |n: f64| if resyncs > 0.0 { n / resyncs } else { f64::NAN };

    // At rest: between resyncs.
    let pid = op.pid();
    let ticks = cpu_ticks(pid);
    let rest = Duration::from_secs(10);
    tokio::time::sleep(rest).await;
    let cpu_percent = (cpu_ticks(pid) - ticks) as f64 / 100.0 / rest.as_secs_f64() * 100.0;
    let rss = memory_mib(pid, "VmRSS:");
    let (anon, file) = (memory_mib(pid, "RssAnon:"), memory_mib(pid, "RssFile:"));

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
        "steady state, {} resyncs of {} in-sync pools (period {RESYNC_SECONDS} s)",
        resyncs,
        pools + 1
    );
    println!(
        "  per pool per resync:           {:.2} reads, {:.2} writes   target <= {MAX_READS_PER_RESYNC} reads, 0 writes: {}",
        per(reads),
        per(writes) + 0.0, // no "-0.00"
        verdict(per(reads) <= f64::from(MAX_READS_PER_RESYNC) && writes == 0.0)
    );
    println!(
        "  (baseline, the CLI's in-sync apply of the same manifest: {cli_reads} reads, {cli_writes} writes)"
    );
    for (operation, n) in &per_operation {
        println!("    {operation:<28} {:.2}", per(*n));
    }
    println!();
    println!("at rest, holding {} pools", pools + 1);
    println!(
        "  RSS {rss:.1} MiB (heap and stacks {anon:.1}, binary and other files {file:.1})   target <= 64 MiB: {}",
        verdict(rss <= 64.0)
    );
    println!("  CPU {cpu_percent:.2} % of one core over {rest:?}");

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

//! A fleet across accounts: pools in several namespaces, each namespace mapped by the tenancy
//! file to a role in its own account, as a platform team maps its teams' accounts. The operator
//! paces each account on its own (Cognito's and Lambda's quotas are per account), so the fleet
//! applies as fast as the accounts together allow, each within its own quotas, while its memory
//! grows with pools, not accounts.
//!
//! ministack keys accounts by access key, and AssumeRole hands out keys in the role's account
//! (it checks neither the role nor the external id). Its pools are native (Cognito's own
//! passwordless: a user pool, an app client and a sender; no trigger function): ministack keeps
//! each function's 6 MiB package in memory, so 10,000 magic-link pools would need ~60 GB.

use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use passwordless_operator::crd::PasswordlessPool;

use crate::common::cluster::{eventually, prepare, unique};
use crate::procs::{CpuMeter, memory_mib};
use crate::rates::Sample;
use crate::{accounting, procs, rates, scrape, verdict};

/// Accounts (`PWP_BENCH_ACCOUNTS`; 0 skips the stage) and pools across them all
/// (`PWP_BENCH_ACCOUNT_POOLS`).
const DEFAULT_ACCOUNTS: usize = 10;
const DEFAULT_POOLS: usize = 10_000;
/// The operator's memory target at rest holding the fleet.
const RSS_TARGET_MIB: f64 = 128.0;
/// Pools applied at once through the apiserver, as a GitOps sync's workers would.
const APPLIES_IN_FLIGHT: usize = 16;

/// A period in which `pools` native pools' resyncs (8 reads each) make at most 100 calls a
/// second: the emulator (ministack behind the model check, a core each at most) serves about
/// 450 on 2 cores, and the apply needs the rest. At 10,000 pools and the single account's 150 s,
/// the resyncs of the pools already Ready (~1 s each against the saturated emulator) took every
/// reconcile slot once about 4,400 were Ready, and the apply all but stopped.
fn emulator_resync_seconds(pools: usize) -> u64 {
    (pools as u64 * 8 / 100).max(20)
}

/// The `i`th bench account: twelve digits, none of them the emulator's default account.
fn account(i: usize) -> String {
    format!("{}", 210_000_000_000_u64 + i as u64)
}

/// The tenancy file: every namespace to a role in its own account.
fn tenancy(namespaces: &[String]) -> String {
    let mut rules = "defaults:\n  senders:\n    domains: [example.com]\nnamespaces:\n".to_owned();
    for (i, ns) in namespaces.iter().enumerate() {
        rules.push_str(&format!(
            "  {ns}: {{aws: {{roleArn: 'arn:aws:iam::{}:role/passwordless-bench', externalId: bench-{i}}}}}\n",
            account(i)
        ));
    }
    rules
}

/// A native pool: Cognito's own email one-time codes, its own sender address.
fn native_pool(namespace: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "passwordless-operator.dev/v1alpha1",
        "kind": "PasswordlessPool",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "strategy": "native",
            "sender": {"address": format!("{namespace}-{name}@example.com")},
            "native": {"allowedFirstAuthFactors": ["EMAIL_OTP"]},
        },
    })
}

pub async fn bench(admin: &Client, concurrency: usize) {
    let accounts: usize = crate::env_number("PWP_BENCH_ACCOUNTS", DEFAULT_ACCOUNTS);
    if accounts == 0 {
        println!();
        println!("a fleet across accounts: skipped (PWP_BENCH_ACCOUNTS=0)");
        return;
    }
    let pools: usize = crate::env_number("PWP_BENCH_ACCOUNT_POOLS", DEFAULT_POOLS);
    let per_account = pools.div_ceil(accounts);
    // Each account's resyncs within its read quotas, as the single-account fleet's, and the
    // whole fleet's within what the emulator serves beside the apply.
    let resync = crate::env_number(
        "PWP_BENCH_ACCOUNT_RESYNC_SECONDS",
        crate::resync_seconds(per_account).max(emulator_resync_seconds(pools)),
    );
    let namespaces: Vec<String> = (0..accounts)
        .map(|i| unique(&format!("bench-acct{i}")))
        .collect();
    let watched: Vec<&str> = namespaces.iter().map(String::as_str).collect();
    prepare(admin, &watched).await;
    let rules = std::env::temp_dir().join(unique("pwp-bench-accounts.yaml"));
    std::fs::write(&rules, tenancy(&namespaces)).unwrap();
    let rules = rules.to_string_lossy().into_owned();
    let mut op = crate::leading_operator(
        "op-bench-accounts",
        &watched,
        resync,
        &[("PWP_TENANCY_CONFIG", rules.as_str())],
    )
    .await;
    let pid = op.pid();
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Sample>::new()));
    let sampler = rates::sample(op.http_port, samples.clone());
    let ministack = procs::testbed()
        .into_iter()
        .find(|(name, _)| *name == "ministack")
        .map(|(_, pid)| pid);

    // Every pool applied, APPLIES_IN_FLIGHT at once, accounts interleaved.
    let named: Vec<(usize, String)> = (0..per_account)
        .flat_map(|i| (0..accounts).map(move |a| (a, format!("p{i:05}"))))
        .take(pools)
        .collect();
    let before = scrape::scrape(op.http_port).await;
    let meter = CpuMeter::start(&[&[("operator", pid)][..], &procs::testbed()].concat());
    let started = Instant::now();
    futures::stream::iter(&named)
        .map(|(a, name)| {
            let api: Api<PasswordlessPool> = Api::namespaced(admin.clone(), &namespaces[*a]);
            let body = native_pool(&namespaces[*a], name);
            async move {
                api.patch(name, &PatchParams::apply("kubectl"), &Patch::Apply(body))
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(APPLIES_IN_FLIGHT)
        .for_each(|()| async {})
        .await;
    let applied_in = started.elapsed();
    let ready = "passwordless_operator_pools{condition=\"Ready\",reason=\"Ready\"}";
    eventually(
        &format!("{pools} pools across {accounts} accounts Ready"),
        Duration::from_secs(7200),
        || async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let refused = "passwordless_operator_reconcile_errors_total{error=\"not_allowed\"}";
            assert_eq!(
                op.metric(refused).await,
                0.0,
                "pools refused: see {:?}",
                op.log
            );
            (op.metric(ready).await >= pools as f64).then_some(())
        },
    )
    .await;
    let wall = started.elapsed();
    let apply = accounting::Apply {
        pools,
        wall,
        delta: scrape::scrape(op.http_port).await.since(&before),
        cpu: meter.read(),
        concurrency,
        accounts,
    };

    // At rest: one period of resyncs.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let period = Duration::from_secs(resync);
    let steady_before = scrape::scrape(op.http_port).await;
    let steady_from = Instant::now();
    tokio::time::sleep(period).await;
    let steady = scrape::scrape(op.http_port).await.since(&steady_before);
    let rss = memory_mib(pid, "VmRSS:");
    let anon = memory_mib(pid, "RssAnon:");
    sampler.abort();
    let samples = std::mem::take(&mut *samples.lock().unwrap());
    let emulator = ministack.map(|p| memory_mib(p, "VmRSS:"));

    println!();
    println!(
        "a fleet across accounts: {pools} native pools in {accounts} namespaces, each mapped to a role in its own account ({per_account} per account; resync {resync} s)"
    );
    println!(
        "  apply to Ready: {:.1} s (the apiserver took the {pools} applies in {:.1} s)",
        wall.as_secs_f64(),
        applied_in.as_secs_f64()
    );
    apply.print("  across accounts", &steady);
    let resyncs = steady.reconciles;
    let per = |n: f64| if resyncs > 0.0 { n / resyncs } else { f64::NAN };
    println!(
        "  steady state, {resyncs:.0} resyncs over one period: {:.2} reads, {:.2} writes per pool per resync   target 0 writes: {}",
        per(steady.reads()),
        per(steady.writes()) + 0.0,
        verdict(steady.writes() == 0.0)
    );
    rates::print_spread(&rates::spread(&samples, steady_from, period));
    let peaks = rates::peaks(&samples);
    let within = peaks.values().all(|(_, _, ok)| *ok);
    let busiest = peaks
        .iter()
        .max_by(|a, b| a.1.0.total_cmp(&b.1.0))
        .map(|((account, category), (peak, quota, _))| {
            format!("{account} {category} {peak:.1} /s of {quota}")
        })
        .unwrap_or_default();
    let categories = peaks
        .keys()
        .map(|(_, c)| *c)
        .collect::<std::collections::BTreeSet<_>>();
    let accounts_seen = peaks
        .keys()
        .map(|(a, _)| a)
        .collect::<std::collections::BTreeSet<_>>();
    println!(
        "  peaks: {} accounts x {} quota categories paced, the busiest {busiest}   target: every account within its quotas: {}",
        accounts_seen.len(),
        categories.len(),
        verdict(within)
    );
    for ((account, category), (peak, quota, ok)) in &peaks {
        if !ok || *peak >= f64::from(*quota) * 0.8 {
            println!(
                "    {account} {category:<22} {peak:>6.1} /s   quota {quota} /s: {}",
                verdict(*ok)
            );
        }
    }
    println!(
        "  operator RSS at rest {rss:.1} MiB (heap and stacks {anon:.1}; {:.1} KiB per pool, the binary included)   target <= {RSS_TARGET_MIB:.0} MiB: {}",
        rss * 1024.0 / pools as f64,
        verdict(rss <= RSS_TARGET_MIB)
    );
    if let Some(rss) = emulator {
        println!(
            "  the emulator holding them: ministack's RSS {rss:.0} MiB (a magic-link pool's function would hold its 6 MiB package there besides)"
        );
    }

    // Every pool deleted, through the operator's finalizer.
    let started = Instant::now();
    for ns in &namespaces {
        let api: Api<PasswordlessPool> = Api::namespaced(admin.clone(), ns);
        api.delete_collection(&DeleteParams::default(), &ListParams::default())
            .await
            .unwrap();
    }
    eventually(
        "every pool across the accounts deleted",
        Duration::from_secs(7200),
        || async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            for ns in &namespaces {
                let api: Api<PasswordlessPool> = Api::namespaced(admin.clone(), ns);
                let left = api
                    .list_metadata(&ListParams::default().limit(1))
                    .await
                    .ok()?;
                if !left.items.is_empty() {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    println!(
        "  deleting the {pools} pools (AWS cleanup included): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    op.terminate().await;
}

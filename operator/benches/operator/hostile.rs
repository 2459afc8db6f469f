//! The hostile-tenant figure: beside the fleet at rest, a tenant in its own namespace applies
//! what an attacker would, and an innocent tenant's new pool is timed beside it.

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use passwordless_operator::controller::key_store::secret_name;
use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::status::reasons;

use crate::common::cluster::{
    KEYS_NAMESPACE, Operator, apply_pool, eventually, magic_link_pool, ready_pool,
};
use crate::procs::{memory_mib, try_memory_mib};
use crate::scrape::PerOperation as Calls;
use crate::{common, verdict};

/// Small refused pools per large one (2,000 at the default).
const SMALL_PER_HOSTILE: usize = 40;
/// Distinct regions one refused pool is patched through, per large one (300 at the default:
/// more than the 256 client sets `controller::caches` keeps).
const REGIONS_PER_HOSTILE: usize = 6;
/// A sender outside the test tenancy's domains: every hostile pool is refused (`NotAllowed`)
/// before any AWS client or signing key exists for it.
const REFUSED_SENDER: &str = "ceo@bank.example.net";

/// The chart's memory limit (`resources.limits.memory` in its values.yaml), in MiB: what the
/// kubelet OOM-kills the operator at, for every tenant.
fn chart_memory_limit_mib() -> f64 {
    let values: serde_yaml::Value = serde_yaml::from_str(&common::read(&common::repo_file(
        "charts/passwordless-operator/values.yaml",
    )))
    .unwrap();
    let limit = values["resources"]["limits"]["memory"].as_str().unwrap();
    if let Some(mi) = limit.strip_suffix("Mi") {
        mi.parse().unwrap()
    } else if let Some(gi) = limit.strip_suffix("Gi") {
        gi.parse::<f64>().unwrap() * 1024.0
    } else {
        panic!("the chart's memory limit {limit:?}: neither Mi nor Gi")
    }
}

/// `n` distinct region names of the schema's form (`^[a-z]{2}(-[a-z]+)+-[0-9]$`), real ones
/// among them, none of them the bench's own (`home`), ending with `home`.
fn churn_regions(n: usize, home: &str) -> Vec<String> {
    const AREAS: [&str; 9] = ["us", "eu", "ap", "ca", "sa", "me", "af", "il", "mx"];
    const WAYS: [&str; 8] = [
        "north",
        "south",
        "east",
        "west",
        "central",
        "northeast",
        "southeast",
        "northwest",
    ];
    let letters = |mut i: usize| {
        let mut word = String::new();
        while i > 0 {
            word.insert(0, char::from(b'a' + (i % 26) as u8));
            i /= 26;
        }
        word
    };
    let mut regions: Vec<String> = (0..)
        .map(|i: usize| {
            let lap = i / 720;
            let extra = if lap == 0 {
                String::new()
            } else {
                format!("-x{}", letters(lap))
            };
            format!(
                "{}-{}{extra}-{}",
                AREAS[i % 9],
                WAYS[i / 9 % 8],
                i / 72 % 10
            )
        })
        .filter(|r| r != home)
        .take(n.saturating_sub(1))
        .collect();
    regions.push(home.to_owned());
    regions
}

/// A hostile pool: the demo's spec with a sender the tenancy refuses, and `metadata` merged in.
fn hostile_pool(namespace: &str, name: &str, metadata: &serde_json::Value) -> serde_json::Value {
    let mut pool = serde_json::to_value(magic_link_pool(
        namespace,
        name,
        serde_json::json!({"sender": {"address": REFUSED_SENDER}}),
    ))
    .unwrap();
    if let serde_json::Value::Object(fields) = metadata {
        for (k, v) in fields {
            pool["metadata"][k] = v.clone();
        }
    }
    pool.as_object_mut().unwrap().remove("status");
    pool
}

/// `/metrics` at one moment: AWS calls per operation, reconciles, refusals.
struct Snapshot {
    calls: Calls,
    reconciles: f64,
    refusals: f64,
}

async fn snapshot(op: &Operator) -> Snapshot {
    let text = op.get("/metrics").await.unwrap_or_default();
    let scrape = crate::scrape::parse(&text);
    let refusals = text
        .lines()
        .filter(|l| {
            l.starts_with("passwordless_operator_reconcile_errors_total{error=\"not_allowed\"}")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    Snapshot {
        calls: scrape.calls,
        reconciles: scrape.reconciles,
        refusals,
    }
}

/// AWS calls from `before` to `after`: (reads, writes, calls of operations not in `usual`).
fn calls_between(
    before: &Snapshot,
    after: &Snapshot,
    usual: &std::collections::BTreeSet<(String, String)>,
) -> (f64, f64, Calls) {
    let (mut reads, mut writes, mut unusual) = (0.0, 0.0, Calls::new());
    for (operation, n) in &after.calls {
        let delta = n - before.calls.get(operation).copied().unwrap_or(0.0);
        if delta <= 0.0 {
            continue;
        }
        if passwordless_operator::aws::is_mutating(&operation.1) {
            writes += delta;
        } else {
            reads += delta;
        }
        if !usual.contains(operation) {
            unusual.insert(operation.clone(), delta);
        }
    }
    (reads, writes, unusual)
}

fn listed(calls: &Calls) -> String {
    if calls.is_empty() {
        return "none".to_owned();
    }
    calls
        .iter()
        .map(|((service, operation), n)| format!("{service}:{operation} {n:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who the hostile-tenant stage acts as, and where.
pub struct Tenants<'a> {
    pub admin: &'a Client,
    pub hostile_ns: &'a str,
    pub tenant_ns: &'a str,
}

/// The hostile-tenant figure: beside the fleet at rest, a tenant in its own namespace applies
/// what an attacker would (schema-valid pools with ~0.8 MB of labels and annotations, a sender
/// the tenancy refuses, one pool's region walked through `REGIONS_PER_HOSTILE * large`
/// distinct names, and `SMALL_PER_HOSTILE * large` small refused pools). Measured: the
/// operator's RSS before, at its peak during, and after, against the metadata those pools
/// hold (the baseline: what a cache keeping labels and annotations would hold); AWS calls
/// during the stage; keys Secrets made for refused pools; and an innocent tenant's new pool's
/// apply-to-Ready, against a control pool applied just before the stage and the run's first
/// pool.
pub async fn hostile_tenant(
    at: &Tenants<'_>,
    op: &mut Operator,
    large: usize,
    single: Duration,
    fleet_operations: &std::collections::BTreeSet<(String, String)>,
    held: usize,
) {
    let small = large * SMALL_PER_HOSTILE;
    let churn = large * REGIONS_PER_HOSTILE;
    let home = std::env::var("AWS_REGION").unwrap();
    let limit_mib = chart_memory_limit_mib();
    let pid = op.pid();
    let hostile: Api<PasswordlessPool> = Api::namespaced(at.admin.clone(), at.hostile_ns);

    // The control: an innocent tenant's pool beside the fleet at rest, before the attack.
    let started = Instant::now();
    apply_pool(
        at.admin,
        &magic_link_pool(at.tenant_ns, "control", serde_json::json!({})),
    )
    .await;
    ready_pool(at.admin, at.tenant_ns, "control", Duration::from_secs(120)).await;
    let control = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;

    let rss_before = memory_mib(pid, "VmRSS:");
    let anon_before = memory_mib(pid, "RssAnon:");
    let before = snapshot(op).await;
    let stage_started = Instant::now();
    let log_before = op.logs();
    // The highest RSS seen, and when (seconds into the stage).
    let peak = std::sync::Arc::new(std::sync::Mutex::new((rss_before, 0.0_f64)));
    let peak_sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while let Some(rss) = try_memory_mib(pid, "VmRSS:") {
                {
                    let mut p = peak.lock().unwrap();
                    if rss > p.0 {
                        *p = (rss, stage_started.elapsed().as_secs_f64());
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    // Large pools: 5,000 labels of ~120 bytes and a 200 KB annotation each (the apiserver
    // takes ~0.8 MB per object; the CRD's schema has no say on metadata).
    let labels: serde_json::Map<String, serde_json::Value> = (0..5000)
        .map(|i| {
            (
                format!("team.example.com/label-{i:05}-{}", "k".repeat(30)),
                "v".repeat(63).into(),
            )
        })
        .collect();
    let annotations: serde_json::Map<String, serde_json::Value> =
        [("note".to_owned(), "a".repeat(200_000).into())]
            .into_iter()
            .collect();
    let metadata_bytes: usize = labels
        .iter()
        .chain(&annotations)
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    let metadata = serde_json::json!({"labels": labels, "annotations": annotations});
    let large_names: Vec<String> = (0..large).map(|i| format!("hostile-{i:03}")).collect();
    let started = Instant::now();
    for name in &large_names {
        hostile
            .patch(
                name,
                &PatchParams::apply("tenant"),
                &Patch::Apply(hostile_pool(at.hostile_ns, name, &metadata)),
            )
            .await
            .unwrap();
    }
    let large_took = started.elapsed();
    let large_done = stage_started.elapsed();

    // Region churn: a refused pool's spec.region through distinct names, as fast as the
    // apiserver takes them; every patch is a new generation the operator reconciles. (A small
    // pool: a large one's patches take the apiserver ~0.5 s each.)
    let regions = churn_regions(churn, &home);
    let churned = "region-churn";
    hostile
        .patch(
            churned,
            &PatchParams::apply("tenant"),
            &Patch::Apply(hostile_pool(at.hostile_ns, churned, &serde_json::json!({}))),
        )
        .await
        .unwrap();
    let started = Instant::now();
    for region in &regions {
        hostile
            .patch(
                churned,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"spec": {"region": region}})),
            )
            .await
            .unwrap();
    }
    let churn_took = started.elapsed();
    let churn_done = stage_started.elapsed();

    // Small refused pools, four applies in flight.
    let small_names: Vec<String> = (0..small).map(|i| format!("refused-{i:05}")).collect();
    let started = Instant::now();
    futures::stream::iter(&small_names)
        .map(|name| {
            let hostile = hostile.clone();
            let body = hostile_pool(at.hostile_ns, name, &serde_json::json!({}));
            async move {
                hostile
                    .patch(name, &PatchParams::apply("tenant"), &Patch::Apply(body))
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(4)
        .for_each(|()| async {})
        .await;
    let small_took = started.elapsed();
    let small_done = stage_started.elapsed();

    // Every hostile pool refused, as the operator's own cache says (the `pools` gauge: no other
    // pool is NotAllowed), and the churned pool's last generation among them.
    let gauge = format!(
        "passwordless_operator_pools{{condition=\"Ready\",reason=\"{}\"}}",
        reasons::NOT_ALLOWED
    );
    let (_, refused_in) = eventually(
        "every hostile pool refused",
        Duration::from_secs(900),
        || async {
            tokio::time::sleep(Duration::from_millis(750)).await;
            (op.metric(&gauge).await > (large + small) as f64).then_some(())
        },
    )
    .await;
    eventually(
        "the churned pool's last region refused",
        Duration::from_secs(120),
        || async {
            let pool = hostile.get(churned).await.ok()?;
            let ready = passwordless_operator::status::ready_of(pool.status.as_ref())?;
            (ready.reason == reasons::NOT_ALLOWED
                && ready.observed_generation == pool.metadata.generation)
                .then_some(())
        },
    )
    .await;
    let refused_after = stage_started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_attack = snapshot(op).await;
    let attack_window = stage_started.elapsed();
    let rss_attacked = memory_mib(pid, "VmRSS:");
    let bystander_from = stage_started.elapsed();

    // An innocent tenant's new pool beside them.
    let started = Instant::now();
    apply_pool(
        at.admin,
        &magic_link_pool(at.tenant_ns, "bystander", serde_json::json!({})),
    )
    .await;
    ready_pool(
        at.admin,
        at.tenant_ns,
        "bystander",
        Duration::from_secs(120),
    )
    .await;
    let bystander = started.elapsed();

    // At rest again, holding everything.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let alive = op.exited().is_none();
    let rss_after = memory_mib(pid, "VmRSS:");
    let anon_after = memory_mib(pid, "RssAnon:");
    peak_sampler.abort();
    let (peak, peak_at) = *peak.lock().unwrap();
    let peak_phase = [
        (large_done, "applying the large pools"),
        (churn_done, "the region churn"),
        (small_done, "applying the small pools"),
        (bystander_from, "refusing them"),
    ]
    .iter()
    .find(|(until, _)| peak_at <= until.as_secs_f64())
    .map_or(
        "the innocent pool's apply or the rest after it",
        |(_, phase)| *phase,
    );
    // What the stage cost the operator's standing: leader terms lost (the lease not renewed in
    // time) and watches restarted from a fresh list (their resource version expired).
    let log_during = op.logs();
    let log_during = log_during.get(log_before.len()..).unwrap_or_default();
    let stepped_down = log_during.matches("stepped down").count();
    let relists = log_during.matches("too old resource version").count();

    // Signing keys made for refused pools (none expected), and output Secrets in the hostile
    // namespace (none expected either).
    let keys: std::collections::BTreeSet<String> =
        Api::<Secret>::namespaced(at.admin.clone(), KEYS_NAMESPACE)
            .list_metadata(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|s| s.metadata.name)
            .collect();
    let hostile_keys = large_names
        .iter()
        .chain(&small_names)
        .map(String::as_str)
        .chain([churned])
        .filter(|name| keys.contains(&secret_name(at.hostile_ns, name)))
        .count();
    let innocent_keys = ["control", "bystander"]
        .iter()
        .filter(|name| keys.contains(&secret_name(at.tenant_ns, name)))
        .count();
    let hostile_outputs = Api::<Secret>::namespaced(at.admin.clone(), at.hostile_ns)
        .list_metadata(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();

    let (reads, writes, unusual) = calls_between(&before, &after_attack, fleet_operations);
    let refusals = after_attack.refusals - before.refusals;
    let reconciled = after_attack.reconciles - before.reconciles;
    let baseline_mib = (large * metadata_bytes) as f64 / 1024.0 / 1024.0;
    let growth = rss_after - rss_before;

    println!();
    println!(
        "hostile tenant, its own namespace, beside the {held} pools at rest (restarted operator), every pool refused (sender {REFUSED_SENDER} not allowed)"
    );
    println!(
        "  {large} pools of 5,000 labels and a 200 KB annotation ({:.2} MB of metadata each) applied in {:.1} s",
        metadata_bytes as f64 / 1e6,
        large_took.as_secs_f64()
    );
    println!(
        "  region churn: one small refused pool patched through {} distinct regions in {:.1} s ({:.0} per s); its last generation refused",
        regions.len(),
        churn_took.as_secs_f64(),
        regions.len() as f64 / churn_took.as_secs_f64()
    );
    println!(
        "  {small} small refused pools applied in {:.1} s; all {} refused {:.1} s after the stage began ({:.1} s after the last apply)",
        small_took.as_secs_f64(),
        large + small + 1,
        refused_after.as_secs_f64(),
        refused_in.as_secs_f64()
    );
    println!(
        "  reconciles during the stage: {reconciled:.0}, of them refusals: {refusals:.0} (the fleet's resyncs go on meanwhile)"
    );
    println!(
        "  RSS before {rss_before:.1} MiB (heap and stacks {anon_before:.1}), peak during {peak:.1} ({peak_at:.0} s in, {peak_phase}), all refused {rss_attacked:.1}, after (at rest, holding them all) {rss_after:.1} (heap and stacks {anon_after:.1})"
    );
    println!(
        "  the operator meanwhile: {stepped_down} leader terms lost (lease not renewed within its 6 s), {relists} watches restarted from a fresh list (resource version expired)"
    );
    println!(
        "  growth {growth:+.1} MiB   baseline, a cache keeping the hostile pools' labels and annotations: >= {baseline_mib:.1} MiB ({large} x {:.2} MB): growth is {:.0} % of it",
        metadata_bytes as f64 / 1e6,
        growth.max(0.0) / baseline_mib * 100.0
    );
    println!(
        "  peak RSS {peak:.1} MiB   target <= {limit_mib:.0} MiB (the chart's memory limit): {}{}",
        verdict(peak <= limit_mib && alive),
        if alive { "" } else { " (the operator exited)" }
    );
    println!(
        "  RSS after {rss_after:.1} MiB   target <= 64 MiB (the 1,000-pool target, still): {}",
        verdict(rss_after <= 64.0)
    );
    println!(
        "  AWS calls during the stage ({:.0} s, the fleet's resyncs among them): {reads:.0} reads, {writes:.0} writes; of operations the fleet's resyncs never make: {}   target 0 writes, none such: {}",
        attack_window.as_secs_f64(),
        listed(&unusual),
        verdict(writes == 0.0 && unusual.is_empty())
    );
    println!(
        "  AWS client sets built: no metric exposes it (controller/caches.rs keeps at most 256; one call counter for all)"
    );
    println!(
        "  signing-key Secrets for refused pools: {hostile_keys} (the innocent tenant's pools: {innocent_keys} of 2); output Secrets in the hostile namespace: {hostile_outputs}   target 0: {}",
        verdict(hostile_keys == 0 && hostile_outputs == 0)
    );
    println!(
        "  innocent tenant's new pool, apply to Ready: {:.2} s   (baseline, the same tenant's control before the stage: {:.2} s; 1 pool at the run's start: {:.2} s)   target <= 2 x the control: {}",
        bystander.as_secs_f64(),
        control.as_secs_f64(),
        single.as_secs_f64(),
        verdict(bystander <= control * 2)
    );

    // The hostile pools go; their cleanup runs through the operator's finalizer like any pool's.
    let before_delete = snapshot(op).await;
    let started = Instant::now();
    // One name at a time, four in flight: a single collection delete of ~40 MB of objects
    // runs past etcd's deadline on this machine (a 500).
    futures::stream::iter(
        large_names
            .iter()
            .chain(&small_names)
            .map(String::as_str)
            .chain([churned]),
    )
    .map(|name| {
        let hostile = hostile.clone();
        async move {
            for attempt in 1.. {
                match hostile.delete(name, &DeleteParams::default()).await {
                    Ok(_) => break,
                    Err(kube::Error::Api(e)) if e.code == 404 => break,
                    Err(e) if attempt < 5 => {
                        eprintln!("deleting {name} (attempt {attempt}): {e}");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                    Err(e) => panic!("deleting {name}: {e}"),
                }
            }
        }
    })
    .buffer_unordered(4)
    .for_each(|()| async {})
    .await;
    eventually(
        "every hostile pool deleted",
        Duration::from_secs(900),
        || async {
            tokio::time::sleep(Duration::from_millis(750)).await;
            hostile
                .list_metadata(&ListParams::default().limit(1))
                .await
                .ok()
                .filter(|l| l.items.is_empty())
        },
    )
    .await;
    let deleted_in = started.elapsed();
    let after_delete = snapshot(op).await;
    let (reads, writes, unusual) = calls_between(&before_delete, &after_delete, fleet_operations);
    println!(
        "  deleting the {} hostile pools: {:.1} s; AWS calls meanwhile (the fleet's resyncs among them) {reads:.0} reads, {writes:.0} writes; of operations the fleet's resyncs never make: {}",
        large + small + 1,
        deleted_in.as_secs_f64(),
        listed(&unusual)
    );
    let tenant: Api<PasswordlessPool> = Api::namespaced(at.admin.clone(), at.tenant_ns);
    for name in ["control", "bystander"] {
        tenant.delete(name, &DeleteParams::default()).await.unwrap();
    }
    eventually(
        "the innocent tenant's pools deleted",
        Duration::from_secs(300),
        || async {
            tenant
                .list_metadata(&ListParams::default())
                .await
                .ok()
                .filter(|l| l.items.is_empty())
        },
    )
    .await;
}

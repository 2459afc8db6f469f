//! The services as they really behave, not as the emulator answers: each behaviour switched on
//! for one pool's resources in the model check in front of ministack
//! (scripts/testbed.d/behaviours.py), and the controller meeting it. Run by `make test`;
//! `cargo test` alone skips these.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::behaviours;
use common::cluster::{self, apply_pool, magic_link_pool, ready_pool};
use passwordless_operator::names::StackNames;

const READY_WITHIN: Duration = Duration::from_secs(90);

/// The AWS names of a pool in the test operator's cluster.
fn names(namespace: &str, name: &str) -> StackNames {
    StackNames::new("default", namespace, name)
}

/// A function idle for weeks reads `Inactive` until something invokes or updates it. The next
/// change of spec wakes it (the probe's invocation, which AWS refuses while it restores the
/// function) and goes on. Before, `wait_ready` waited for `Active`, which never came: every
/// reconcile timed out after a minute, forever.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn an_inactive_function_is_woken_and_the_update_goes_on() {
    let (admin, ns, _op) = cluster::with_operator("inactive", 300).await;
    let spec = |interval: u32| {
        magic_link_pool(
            &ns,
            "idle",
            serde_json::json!({"limits": {"minIntervalSeconds": interval}}),
        )
    };
    apply_pool(&admin, &spec(60)).await;
    ready_pool(&admin, &ns, "idle", READY_WITHIN).await;
    let function = names(&ns, "idle").function;
    behaviours::switch_on("lambda-inactive", &function, serde_json::json!({}));

    apply_pool(&admin, &spec(30)).await;
    let (_, took) = ready_pool(&admin, &ns, "idle", READY_WITHIN).await;
    let done = behaviours::done(&function);
    behaviours::switch_off(&function);
    println!("woken and updated in {took:?}: {done}");
    assert!(done["read_inactive"].as_u64() >= Some(1), "{done}");
    assert!(
        done["invoke_refused"] == 1 || done["woken_by_update"].as_u64() >= Some(1),
        "{done}"
    );
}

/// A web ACL created a moment ago is not yet associable (`WAFUnavailableEntityException`, twice
/// here): the pass retries it and the pool becomes Ready without a failed reconcile. Before,
/// the first refusal failed the reconcile (`AwsError`, Degraded in Argo CD) until a later pass.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_web_acl_not_yet_available_is_retried_within_the_pass() {
    let (admin, ns, op) = cluster::with_operator("waf-unavailable", 300).await;
    let acl = names(&ns, "limited").web_acl;
    behaviours::switch_on("waf-unavailable", &acl, serde_json::json!({"times": 2}));
    let spec = serde_json::json!({"rateLimit": {"requestsPerFiveMinutes": 300}});
    apply_pool(&admin, &magic_link_pool(&ns, "limited", spec)).await;
    ready_pool(&admin, &ns, "limited", READY_WITHIN).await;
    let done = behaviours::done(&acl);
    behaviours::switch_off(&acl);
    assert_eq!(done["refused"], 2, "{done}");
    let metrics = op.get("/metrics").await.unwrap();
    let failed: Vec<_> = metrics
        .lines()
        .filter(|l| l.starts_with("passwordless_operator_reconcile_errors_total{"))
        .collect();
    assert!(
        metrics.contains("passwordless_operator_reconciles_total") && failed.is_empty(),
        "no reconcile failed on the way: {failed:?}"
    );
}

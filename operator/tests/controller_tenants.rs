//! What one tenant can do to the operator all tenants share, through the controller on the test
//! bed's kube-apiserver (v1.20, which ignores CEL: the controller's own checks are what hold
//! there) and ministack. Run by `make test`; `cargo test` alone skips these.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::cluster::{
    self, Operator, OperatorArgs, apply_pool, delete_pool, eventually, get_pool, gone,
    magic_link_pool, prepare, ready_pool, unique, user_pool_exists,
};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use passwordless_operator::aws::Clients;
use passwordless_operator::controller::key_store::secret_name;
use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::status::{ready_of, reasons};
use passwordless_operator::validate::REGION_STAYS;

const READY_WITHIN: Duration = Duration::from_secs(90);

async fn delete_and_wait(admin: &Client, namespace: &str, name: &str) {
    delete_pool(admin, namespace, name).await;
    gone(admin, namespace, name, READY_WITHIN).await;
}

/// Writes `status` over a pool's, as a tenant with status write access would (the status
/// subresource, untyped: what the operator's own types could not even express).
async fn forge_status(admin: &Client, namespace: &str, name: &str, status: serde_json::Value) {
    let raw: Api<kube::api::DynamicObject> = Api::namespaced_with(
        admin.clone(),
        namespace,
        &kube::core::ApiResource::erase::<PasswordlessPool>(&()),
    );
    let patch = serde_json::json!({ "status": status });
    raw.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// Writes the test tenancy for `namespace`, letting it adopt `adoptable` (if any); returns the
/// file's path. Written again, it changes the rules the next operator started reads.
fn write_tenancy(namespace: &str, adoptable: Option<&str>) -> String {
    let path = std::env::temp_dir().join(format!("{namespace}-tenancy.yaml"));
    let own = adoptable.map_or_else(String::new, |id| {
        format!("namespaces:\n  {namespace}: {{adoptablePoolIds: [{id}]}}\n")
    });
    std::fs::write(&path, format!("{}{own}", cluster::TEST_TENANCY)).unwrap();
    path.to_string_lossy().into_owned()
}

/// An operator for `namespace` under the tenancy file at `tenancy`.
fn operator_with(namespace: &str, lease: &str, tenancy: &str) -> Operator {
    Operator::start(
        &unique("op-tenancy"),
        &OperatorArgs {
            namespaces: &[namespace],
            lease,
            resync_seconds: 300,
            env: &[("PWP_TENANCY_CONFIG", tenancy)],
        },
    )
}

fn operator(namespace: &str, lease: &str) -> Operator {
    Operator::start(
        &unique("op-tenants"),
        &OperatorArgs {
            namespaces: &[namespace],
            lease,
            resync_seconds: 300,
            env: &[],
        },
    )
}

/// The Ready message of a pool once it says `text` (`what` names the wait).
async fn refused_with(admin: &Client, ns: &str, name: &str, text: &str, what: &str) -> String {
    let (message, _) = eventually(what, READY_WITHIN, || async {
        let ready = ready_of(get_pool(admin, ns, name).await?.status.as_ref())?.clone();
        ready.message.contains(text).then_some(ready.message)
    })
    .await;
    message
}

/// A fresh watched namespace and an operator leading in it, with its lease's name (a restart
/// takes the same lease).
async fn tenant(prefix: &str) -> (Client, String, String, Operator) {
    let admin = cluster::admin().await;
    let ns = unique(prefix);
    prepare(&admin, &[&ns]).await;
    let lease = unique("lease");
    let op = operator(&ns, &lease);
    leading(&op).await;
    (admin, ns, lease, op)
}

async fn leading(op: &Operator) {
    eventually("the operator leads", Duration::from_secs(30), || async {
        op.is_leader().await.then_some(())
    })
    .await;
}

/// A pool cannot move region: the changed spec is refused (`InvalidSpec`, naming the region it
/// lives in) with the stack left where it is, and the deletion removes it from there. Before,
/// the operator built a second stack in the new region and the deletion cleaned only that one,
/// leaving the first user pool (with its users) untracked.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_region_change_is_refused_and_the_deletion_cleans_where_the_stack_lives() {
    let (admin, ns, _op) = cluster::with_operator("region", 300).await;
    let home = std::env::var("AWS_REGION").unwrap();
    let spec = |region: &str| magic_link_pool(&ns, "moving", serde_json::json!({"region": region}));
    apply_pool(&admin, &spec(&home)).await;
    let (pool, _) = ready_pool(&admin, &ns, "moving", READY_WITHIN).await;
    let status = pool.status.unwrap();
    assert_eq!(status.region.as_deref(), Some(home.as_str()));
    let pool_id = status.user_pool_id.unwrap();

    apply_pool(&admin, &spec("eu-central-1")).await;
    let (message, _) = eventually("the move refused", READY_WITHIN, || async {
        let ready = ready_of(get_pool(&admin, &ns, "moving").await?.status.as_ref())?.clone();
        (ready.reason == reasons::INVALID_SPEC).then_some(ready.message)
    })
    .await;
    assert!(
        message.contains(REGION_STAYS) && message.contains(&format!("it lives in {home}")),
        "{message}"
    );
    let c = Clients::from_env(None).await.unwrap();
    assert!(user_pool_exists(&c, &pool_id).await, "the stack stays");

    delete_and_wait(&admin, &ns, "moving").await;
    assert!(
        !user_pool_exists(&c, &pool_id).await,
        "the deletion removed the user pool from the region it lives in"
    );
}

/// A status the operator cannot read (a `lastTransitionTime` the apiserver's format check lets
/// through, written by anyone with status access) does not stop the operator: after a restart
/// (a fresh initial list), another tenant's pool still becomes Ready, and both are deleted.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn an_unreadable_status_does_not_stop_the_operator_for_everyone() {
    let (admin, ns, lease, mut op) = tenant("poison").await;
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "poisoned", serde_json::json!({})),
    )
    .await;
    ready_pool(&admin, &ns, "poisoned", READY_WITHIN).await;

    let poison = serde_json::json!({"conditions": [{
        "type": "Ready", "status": "True", "reason": "Ready", "message": "forged",
        "lastTransitionTime": "2024-01-01T00:00:00_1Z"}]});
    // The 1.20 apiserver's format check lets the forged time through.
    forge_status(&admin, &ns, "poisoned", poison).await;

    op.kill();
    let op = operator(&ns, &lease);
    leading(&op).await;
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "innocent", serde_json::json!({})),
    )
    .await;
    ready_pool(&admin, &ns, "innocent", READY_WITHIN).await;
    delete_and_wait(&admin, &ns, "innocent").await;
    delete_and_wait(&admin, &ns, "poisoned").await;
    let logs = op.logs();
    assert!(
        logs.contains("a status field this operator cannot read is treated as absent"),
        "the unreadable field is logged"
    );
    assert!(
        !logs.contains("forged"),
        "the status itself is not dumped into the log"
    );
}

/// The name and auth flows of an app client, as AWS reports them.
async fn client_facts(c: &Clients, pool: &str, id: &str) -> (String, Vec<String>) {
    let out = c
        .cognito
        .describe_user_pool_client()
        .user_pool_id(pool)
        .client_id(id)
        .send()
        .await
        .unwrap();
    let client = out.user_pool_client().unwrap();
    let flows = client
        .explicit_auth_flows()
        .iter()
        .map(|f| f.as_str().to_owned())
        .collect();
    (client.client_name().unwrap_or_default().to_owned(), flows)
}

/// A forged `status.clientId` naming another app's client on an adopted pool is not used: after
/// a restart (when the operator reads the status back) that client keeps its name and flows,
/// and the status and the Secret name this pool's own client again.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_forged_client_id_does_not_rewrite_another_apps_client() {
    use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
    let admin = cluster::admin().await;
    let ns = unique("forged");
    prepare(&admin, &[&ns]).await;
    let victim = {
        let name = unique("shared");
        tokio::task::spawn_blocking(move || common::create_pool_by_hand(&name, true))
            .await
            .unwrap()
    };
    let c = Clients::from_env(None).await.unwrap();
    let other = c
        .cognito
        .create_user_pool_client()
        .user_pool_id(&victim)
        .client_name("billing-web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_owned();
    let before = client_facts(&c, &victim, &other).await;
    let tenancy = write_tenancy(&ns, Some(&victim));
    let start = |lease: &str| operator_with(&ns, lease, &tenancy);
    let lease = unique("lease");
    let mut op = start(&lease);
    leading(&op).await;
    let adopt = serde_json::json!({"adopt": {"userPoolId": victim}});
    apply_pool(&admin, &magic_link_pool(&ns, "adopter", adopt)).await;
    let (pool, _) = ready_pool(&admin, &ns, "adopter", READY_WITHIN).await;
    let ours = pool.status.unwrap().client_id.unwrap();
    assert_ne!(ours, other);

    forge_status(
        &admin,
        &ns,
        "adopter",
        serde_json::json!({"clientId": other}),
    )
    .await;
    op.kill();
    let op = start(&lease);
    leading(&op).await;
    eventually(
        "the status names this pool's client again",
        READY_WITHIN,
        || async {
            let status = get_pool(&admin, &ns, "adopter").await?.status?;
            (status.client_id.as_deref() == Some(ours.as_str())).then_some(())
        },
    )
    .await;
    assert_eq!(
        client_facts(&c, &victim, &other).await,
        before,
        "the other app's client is untouched"
    );
    let secret = common::cluster::get_secret(&admin, &ns, "adopter-cognito")
        .await
        .unwrap();
    let published = String::from_utf8(secret.data.unwrap()["clientId"].0.clone()).unwrap();
    assert_eq!(published, ours, "the Secret publishes this pool's client");
    assert!(
        op.logs()
            .contains("the recorded app client is not this pool's")
    );
    delete_and_wait(&admin, &ns, "adopter").await;
}

/// The operator's resident memory, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    kib / 1024.0
}

/// A tenant's schema-valid but hostile pools (each about 0.8 MB of labels and annotations, a
/// sender the platform team refuses, so no AWS call) neither stay resident in the operator nor
/// get a signing-key Secret, and another tenant's pool still becomes Ready beside them.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn hostile_pools_do_not_grow_the_operator_and_an_innocent_pool_converges() {
    const HOSTILE: usize = 50;
    let (admin, ns, op) = cluster::with_operator("hostile", 300).await;
    // An innocent pool first: its AWS clients are built before the measurement starts.
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "innocent", serde_json::json!({})),
    )
    .await;
    ready_pool(&admin, &ns, "innocent", READY_WITHIN).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_mib(op.pid());
    let labels: serde_json::Map<String, serde_json::Value> = (0..5000)
        .map(|i| {
            (
                format!("team.example.com/label-{i:05}-{}", "k".repeat(30)),
                "v".repeat(63).into(),
            )
        })
        .collect();
    let annotations = serde_json::json!({"note": "a".repeat(200_000)});
    let api: Api<PasswordlessPool> = Api::namespaced(admin.clone(), &ns);
    for i in 0..HOSTILE {
        let mut pool = serde_json::to_value(magic_link_pool(
            &ns,
            &format!("hostile-{i}"),
            serde_json::json!({"sender": {"address": "ceo@bank.example.net"}}),
        ))
        .unwrap();
        pool["metadata"]["labels"] = labels.clone().into();
        pool["metadata"]["annotations"] = annotations.clone();
        pool.as_object_mut().unwrap().remove("status");
        api.patch(
            &format!("hostile-{i}"),
            &PatchParams::apply("tenant"),
            &Patch::Apply(pool),
        )
        .await
        .unwrap();
    }
    eventually("every hostile pool refused", READY_WITHIN, || async {
        let pools = api.list(&Default::default()).await.ok()?;
        let refused = pools
            .items
            .iter()
            .filter(|p| {
                ready_of(p.status.as_ref()).is_some_and(|c| c.reason == reasons::NOT_ALLOWED)
            })
            .count();
        (refused == HOSTILE).then_some(())
    })
    .await;
    // A second innocent pool converges beside them.
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "bystander", serde_json::json!({})),
    )
    .await;
    ready_pool(&admin, &ns, "bystander", READY_WITHIN).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_mib(op.pid());
    let held = (HOSTILE as f64) * 0.8;
    // Figures go into the assertions' messages and are printed last: CI shows the start of a
    // failed test's output, which must be the failure.
    let rss = format!(
        "RSS {before:.1} MiB before, {after:.1} MiB after {HOSTILE} hostile pools (~{held:.0} MiB of labels and annotations) and a second innocent pool"
    );
    assert!(
        after - before < held / 2.0,
        "the operator grew by {:.1} MiB: the hostile metadata stays resident ({rss})",
        after - before
    );
    let keys = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(
        admin.clone(),
        cluster::KEYS_NAMESPACE,
    )
    .list(&Default::default())
    .await
    .unwrap();
    let hostile_keys = (0..HOSTILE)
        .map(|i| secret_name(&ns, &format!("hostile-{i}")))
        .filter(|name| {
            keys.items
                .iter()
                .any(|s| s.metadata.name.as_ref() == Some(name))
        })
        .count();
    assert_eq!(hostile_keys, 0, "refused pools get no signing-key Secret");
    let deleting = std::time::Instant::now();
    for i in 0..HOSTILE {
        delete_pool(&admin, &ns, &format!("hostile-{i}")).await;
    }
    delete_and_wait(&admin, &ns, "innocent").await;
    delete_and_wait(&admin, &ns, "bystander").await;
    for i in 0..HOSTILE {
        gone(&admin, &ns, &format!("hostile-{i}"), READY_WITHIN).await;
    }
    let cleanups = op
        .logs()
        .matches("cleanup done, releasing the finalizer")
        .count();
    assert_eq!(
        cleanups,
        HOSTILE + 2,
        "each pool is cleaned up once: a reconcile queued behind its cleanup does not repeat it"
    );
    println!("{rss}; every pool deleted in {:.1?}", deleting.elapsed());
}

/// The tags on a user pool.
async fn pool_tags(c: &Clients, id: &str) -> std::collections::HashMap<String, String> {
    let out = c
        .cognito
        .describe_user_pool()
        .user_pool_id(id)
        .send()
        .await
        .unwrap();
    out.user_pool().unwrap().user_pool_tags().unwrap().clone()
}

/// The number of app clients on a user pool.
async fn client_count(c: &Clients, id: &str) -> usize {
    let out = c
        .cognito
        .list_user_pool_clients()
        .user_pool_id(id)
        .max_results(60)
        .send()
        .await
        .unwrap();
    out.user_pool_clients().len()
}

/// A new object under a recycled namespace/name does not take over the stack an earlier one
/// kept (`deletionPolicy: Retain`, users included): it is refused with a message naming the
/// earlier object, nothing of the old stack is written, its deletion leaves that stack alone
/// without hanging, and only an explicit adoption the tenancy allows takes it over. Before,
/// ownership was `namespace/name`: the newcomer became Ready on the old user pool (and with
/// `Delete` would have removed it).
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_recycled_name_does_not_inherit_a_retained_stack() {
    use passwordless_operator::names::{INHERITED_TAG, StackNames, UID_TAG};
    let admin = cluster::admin().await;
    let ns = unique("recycled");
    prepare(&admin, &[&ns]).await;
    let tenancy = write_tenancy(&ns, None);
    let start = || operator_with(&ns, &unique("lease"), &tenancy);
    let mut op = start();
    leading(&op).await;
    let kept = serde_json::json!({"deletionPolicy": "Retain"});
    apply_pool(&admin, &magic_link_pool(&ns, "app", kept)).await;
    let (first, _) = ready_pool(&admin, &ns, "app", READY_WITHIN).await;
    let old_uid = first.metadata.uid.clone().unwrap();
    let pool_id = first.status.unwrap().user_pool_id.unwrap();
    delete_and_wait(&admin, &ns, "app").await;
    let c = Clients::from_env(None).await.unwrap();
    assert_eq!(pool_tags(&c, &pool_id).await[UID_TAG], old_uid);
    let clients = client_count(&c, &pool_id).await;

    apply_pool(&admin, &magic_link_pool(&ns, "app", serde_json::json!({}))).await;
    let message = refused_with(
        &admin,
        &ns,
        "app",
        "earlier PasswordlessPool",
        "the newcomer refused",
    )
    .await;
    assert!(
        message.contains(&format!("uid {old_uid}")) && message.contains("spec.adopt.userPoolId"),
        "{message}"
    );
    let newcomer = get_pool(&admin, &ns, "app").await.unwrap();
    assert_eq!(newcomer.status.and_then(|s| s.user_pool_id), None);
    assert!(
        cluster::get_secret(&admin, &ns, "app-cognito")
            .await
            .is_none()
    );
    assert_eq!(pool_tags(&c, &pool_id).await[UID_TAG], old_uid);
    assert_eq!(client_count(&c, &pool_id).await, clients, "no client added");

    // Its deletion (policy Delete) leaves the earlier stack alone, and does not hang.
    delete_and_wait(&admin, &ns, "app").await;
    assert!(user_pool_exists(&c, &pool_id).await, "the kept pool stays");
    let function = StackNames::new("default", &ns, "app").function;
    let trigger = c
        .lambda
        .get_function()
        .function_name(&function)
        .send()
        .await;
    assert!(trigger.is_ok(), "the kept trigger stays: {trigger:?}");

    // Adopting the kept pool, as the platform team allows, takes the whole stack over.
    write_tenancy(&ns, Some(&pool_id));
    op.kill();
    let op = start();
    leading(&op).await;
    let adopt = serde_json::json!({"adopt": {"userPoolId": pool_id}});
    apply_pool(&admin, &magic_link_pool(&ns, "app", adopt)).await;
    let (heir, _) = ready_pool(&admin, &ns, "app", READY_WITHIN).await;
    assert_eq!(
        heir.status.unwrap().user_pool_id.as_deref(),
        Some(pool_id.as_str())
    );
    let tags = pool_tags(&c, &pool_id).await;
    assert_eq!(tags[UID_TAG], heir.metadata.uid.unwrap());
    assert_eq!(tags[INHERITED_TAG], old_uid);
    delete_and_wait(&admin, &ns, "app").await;
    assert!(
        user_pool_exists(&c, &pool_id).await,
        "an adopted pool is kept"
    );
}

/// A recorded pool id the operator cannot read (forged in the status, or gone) does not hand an
/// earlier object's stack to a newcomer: a companion tagged before uids existed (the role here,
/// as an upgrade leaves it) counts as this object's only once its own user pool was read.
/// Before, with the forged id, the newcomer became Ready on the earlier stack's role, function
/// and keys, and its deletion removed them under the kept pool.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_forged_pool_id_does_not_hand_over_an_earlier_stack() {
    use passwordless_operator::names::{StackNames, UID_TAG};
    let (admin, ns, lease, mut op) = tenant("forged-id").await;
    let kept = serde_json::json!({"deletionPolicy": "Retain"});
    apply_pool(&admin, &magic_link_pool(&ns, "app", kept)).await;
    ready_pool(&admin, &ns, "app", READY_WITHIN).await;
    let c = Clients::from_env(None).await.unwrap();
    let names = StackNames::new("default", &ns, "app");
    // The role as a build before uids left it.
    c.iam
        .untag_role()
        .role_name(&names.role)
        .tag_keys(UID_TAG)
        .send()
        .await
        .unwrap();
    delete_and_wait(&admin, &ns, "app").await;
    let role_before = c
        .iam
        .get_role()
        .role_name(&names.role)
        .send()
        .await
        .unwrap();

    apply_pool(&admin, &magic_link_pool(&ns, "app", serde_json::json!({}))).await;
    refused_with(
        &admin,
        &ns,
        "app",
        "earlier PasswordlessPool",
        "the newcomer refused",
    )
    .await;
    forge_status(
        &admin,
        &ns,
        "app",
        serde_json::json!({"userPoolId": "us-east-1_NotThere0"}),
    )
    .await;
    op.kill();
    let op = operator(&ns, &lease);
    let message = refused_with(
        &admin,
        &ns,
        "app",
        "made before uids",
        "refused after the restart",
    )
    .await;
    assert!(message.contains(&names.role), "{message}");
    let role_after = c
        .iam
        .get_role()
        .role_name(&names.role)
        .send()
        .await
        .unwrap();
    assert_eq!(
        role_before.role().unwrap().assume_role_policy_document(),
        role_after.role().unwrap().assume_role_policy_document(),
        "the earlier stack's role is untouched"
    );
    delete_and_wait(&admin, &ns, "app").await;
    assert!(
        c.iam.get_role().role_name(&names.role).send().await.is_ok(),
        "the newcomer's deletion left the earlier role"
    );
    drop(op);
}

/// Another controller's finalizer on a pool (as `kubectl delete --cascade=foreground` or a
/// GitOps tool adds one) does not stop the operator: the cache keeps an ordinary list as it is,
/// because the finalizer helper patches the list it read. The pool becomes Ready, and once the
/// other finalizer is gone its deletion completes.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_pool_with_another_finalizer_is_reconciled_and_deleted() {
    let (admin, ns, _op) = cluster::with_operator("finalizers", 300).await;
    let mut pool =
        serde_json::to_value(magic_link_pool(&ns, "shared", serde_json::json!({}))).unwrap();
    pool["metadata"]["finalizers"] = serde_json::json!(["example.com/other-controller"]);
    pool.as_object_mut().unwrap().remove("status");
    let api: Api<PasswordlessPool> = Api::namespaced(admin.clone(), &ns);
    api.patch("shared", &PatchParams::apply("tenant"), &Patch::Apply(pool))
        .await
        .unwrap();
    let (ready, _) = ready_pool(&admin, &ns, "shared", READY_WITHIN).await;
    assert!(
        ready
            .finalizers()
            .iter()
            .any(|f| f.as_str() == "example.com/other-controller"),
        "{:?}",
        ready.finalizers()
    );
    delete_pool(&admin, &ns, "shared").await;
    // The other controller finishes its part.
    let release = serde_json::json!({"metadata": {"finalizers": null}});
    eventually("the operator's cleanup done", READY_WITHIN, || async {
        let pool = get_pool(&admin, &ns, "shared").await?;
        (pool.finalizers().len() == 1).then_some(())
    })
    .await;
    api.patch("shared", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .unwrap();
    gone(&admin, &ns, "shared", READY_WITHIN).await;
}

//! The in-cluster controller against the test bed's kube-apiserver (v1.20) and ministack, with
//! the operator running as the unprivileged `operator` user under the chart's RBAC.
//! Run by `make test`, which brings the test bed up; `cargo test` alone skips these.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::cluster::{
    self, KEYS_NAMESPACE, OPERATOR_NAMESPACE, Operator, OperatorArgs, access_token_validity,
    apply_pool, delete_pool, eventually, get_pool, get_secret, gone, magic_link_pool, prepare,
    ready_pool, unique, user_pool_exists,
};
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use passwordless_operator::annotations::ROTATE as ROTATE_ANNOTATION;
use passwordless_operator::aws::Clients;
use passwordless_operator::controller::key_store;
use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::names::{DEFAULT_CLUSTER_ID, StackNames};
use passwordless_operator::signin::{self, Mailbox};
use passwordless_operator::state::State;
use passwordless_operator::status::{ready_of, reasons};

/// A first apply on the emulator takes ~2 s; this leaves room for a loaded machine.
const READY_WITHIN: Duration = Duration::from_secs(90);
/// Short resync, so drift is seen within a test.
const RESYNC_SECONDS: u64 = 5;
const NEEDS_TESTBED: &str = "needs the test bed (scripts/testbed up); run by `make test`";

fn text(secret: &Secret, key: &str) -> String {
    String::from_utf8(secret.data.as_ref().unwrap()[key].0.clone()).unwrap()
}

async fn aws() -> Clients {
    Clients::from_env(None).await.unwrap()
}

async fn stored_keys(admin: &Client, namespace: &str, name: &str) -> Option<State> {
    let secret = get_secret(
        admin,
        KEYS_NAMESPACE,
        &key_store::secret_name(namespace, name),
    )
    .await?;
    Some(serde_json::from_slice(&secret.data.unwrap()["keys.json"].0).unwrap())
}

async fn trigger_count(pool_id: &str) -> usize {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let id = pool_id.to_owned();
    tokio::task::spawn_blocking(move || common::lambda_triggers_on(&endpoint, &id))
        .await
        .unwrap()
}

/// Tests 1-4 and 9 of the issue, and key rotation, on one pool: first apply to Ready, sign-in
/// with only the Secret's IDs, the Secret deleted and edited, drift in AWS, a spec change, a
/// rotation, deletion; then no secret anywhere in logs, events, status or Secret.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_pool_lives_its_whole_life_through_the_controller() {
    let _ = NEEDS_TESTBED;
    let (admin, ns, op) = cluster::with_operator("life", RESYNC_SECONDS).await;
    let pool = magic_link_pool(&ns, "web", serde_json::json!({}));
    apply_pool(&admin, &pool).await;

    // 1. Ready within bounds; the Secret holds the documented keys; a real sign-in works with
    // nothing but the IDs read from that Secret.
    let (ready, took) = ready_pool(&admin, &ns, "web", READY_WITHIN).await;
    eprintln!("apply to Ready: {took:?}");
    // Where the apply's time went: in each call made, and in the pacer, per account and quota.
    let account = aws().await.caller().await.unwrap().account;
    for sample in [
        "passwordless_operator_aws_call_seconds_total{service=\"Cognito Identity Provider\",operation=\"CreateUserPool\"}".to_owned(),
        "passwordless_operator_aws_call_seconds_total{service=\"Lambda\",operation=\"CreateFunction\"}".to_owned(),
        format!("passwordless_operator_aws_pace_wait_seconds_total{{account=\"{account}\",category=\"LambdaControlPlane\"}}"),
    ] {
        let text = op.get("/metrics").await.unwrap();
        assert!(text.lines().any(|l| l.starts_with(&format!("{sample} "))), "{sample}");
    }
    for (category, at_least) in [
        ("UserPoolCreate", 1.0),
        ("UserPoolRead", 1.0),
        ("LambdaControlPlane", 4.0),
    ] {
        let sample = format!(
            "passwordless_operator_aws_paced_calls_total{{account=\"{account}\",category=\"{category}\"}}"
        );
        let n = op.metric(&sample).await;
        assert!(n >= at_least, "{sample}: {n}");
    }
    assert!(
        ready
            .finalizers()
            .iter()
            .any(|f| f == "passwordless-operator.dev/aws-cleanup")
    );
    let status = ready.status.clone().unwrap();
    let (secret, _) = eventually("output Secret", Duration::from_secs(10), || {
        get_secret(&admin, &ns, "web-cognito")
    })
    .await;
    let pool_id = text(&secret, "userPoolId");
    let client_id = text(&secret, "clientId");
    assert_eq!(Some(&pool_id), status.user_pool_id.as_ref());
    assert_eq!(text(&secret, "COGNITO_CLIENT_ID"), client_id);
    assert_eq!(text(&secret, "region"), "us-east-1");
    assert_eq!(
        text(&secret, "issuerUrl"),
        format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}")
    );
    assert!(text(&secret, "jwksUrl").ends_with(&format!("/{pool_id}/.well-known/jwks.json")));
    assert_eq!(text(&secret, "strategy"), "magicLink");
    assert_eq!(text(&secret, "PASSWORDLESS_STRATEGY"), "magicLink");
    assert_eq!(secret.data.as_ref().unwrap().len(), 12);
    assert_eq!(
        secret.owner_references()[0].uid,
        ready.metadata.uid.clone().unwrap()
    );
    let c = aws().await;
    let mailbox = Mailbox::Emulator(c.endpoint.clone().unwrap());
    signin::ensure_user(&c, &client_id, "ada@example.com")
        .await
        .unwrap();
    let claims = signin::magic_link(&c, &client_id, "ada@example.com", &mailbox, |_| {})
        .await
        .unwrap();
    assert_eq!(claims["aud"], client_id.as_str());
    assert!(claims["iss"].as_str().unwrap().ends_with(&pool_id));

    // 2. The Secret deleted: back within seconds. Edited: put back.
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), &ns);
    secrets
        .delete("web-cognito", &DeleteParams::default())
        .await
        .unwrap();
    let (_, took) = eventually("Secret recreated", Duration::from_secs(15), || async {
        get_secret(&admin, &ns, "web-cognito")
            .await
            .filter(|s| s.metadata.deletion_timestamp.is_none())
    })
    .await;
    eprintln!("Secret recreated after {took:?}");
    let tampered = secrets
        .patch(
            "web-cognito",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"stringData": {"userPoolId": "tampered"}})),
        )
        .await
        .unwrap();
    assert_eq!(text(&tampered, "userPoolId"), "tampered");
    eventually(
        "edited Secret put back",
        Duration::from_secs(15),
        || async {
            let s = get_secret(&admin, &ns, "web-cognito").await?;
            (text(&s, "userPoolId") == pool_id).then_some(())
        },
    )
    .await;

    // 3. Drift in AWS: token validity changed and two triggers removed behind the operator's
    // back; the next resync puts both back.
    let validity = access_token_validity(&c, &pool_id, &client_id).await;
    c.cognito
        .update_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .access_token_validity(validity + 7)
        .send()
        .await
        .unwrap();
    let lambda = c
        .cognito
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .unwrap()
        .user_pool()
        .unwrap()
        .lambda_config()
        .cloned()
        .unwrap();
    c.cognito
        .update_user_pool()
        .user_pool_id(&pool_id)
        .lambda_config(
            aws_sdk_cognitoidentityprovider::types::LambdaConfigType::builder()
                .set_define_auth_challenge(lambda.define_auth_challenge().map(str::to_owned))
                .set_create_auth_challenge(lambda.create_auth_challenge().map(str::to_owned))
                .set_verify_auth_challenge_response(
                    lambda.verify_auth_challenge_response().map(str::to_owned),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(trigger_count(&pool_id).await, 3, "the drift took effect");
    assert_eq!(
        access_token_validity(&c, &pool_id, &client_id).await,
        validity + 7
    );
    let (_, took) = eventually(
        "drift reverted",
        Duration::from_secs(RESYNC_SECONDS * 6),
        || async {
            (trigger_count(&pool_id).await == 5
                && access_token_validity(&c, &pool_id, &client_id).await == validity)
                .then_some(())
        },
    )
    .await;
    eprintln!("drift reverted after {took:?} (resync {RESYNC_SECONDS} s)");

    // 4. A spec change: observedGeneration catches up and AWS follows.
    let mut changed = magic_link_pool(
        &ns,
        "web",
        serde_json::json!({"client": {"accessTokenValidityMinutes": 30}}),
    );
    changed.metadata.annotations = None;
    apply_pool(&admin, &changed).await;
    let (ready, _) = ready_pool(&admin, &ns, "web", READY_WITHIN).await;
    assert_eq!(ready.metadata.generation, Some(2));
    assert_eq!(ready.status.unwrap().observed_generation, Some(2));
    assert_eq!(access_token_validity(&c, &pool_id, &client_id).await, 30);

    // Rotation by annotation: a new current key, the previous one still accepted.
    let before = stored_keys(&admin, &ns, "web").await.unwrap();
    assert_eq!(before.signing_keys.len(), 1);
    Api::<PasswordlessPool>::namespaced(admin.clone(), &ns)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(
                serde_json::json!({"metadata": {"annotations": {ROTATE_ANNOTATION: "1"}}}),
            ),
        )
        .await
        .unwrap();
    let (after, _) = eventually("key rotated", Duration::from_secs(30), || async {
        stored_keys(&admin, &ns, "web")
            .await
            .filter(|k| k.signing_keys.len() == 2)
    })
    .await;
    assert_eq!(after.signing_keys[1].kid, before.signing_keys[0].kid);
    let names = StackNames::new(DEFAULT_CLUSTER_ID, &ns, "web");
    eventually(
        "the keys secret holds both keys",
        Duration::from_secs(30),
        || async {
            let value = c
                .secrets
                .get_secret_value()
                .secret_id(&names.keys_secret)
                .send()
                .await
                .ok()?;
            (value.secret_string()? == after.signing_keys_env()).then_some(())
        },
    )
    .await;
    let env = c
        .lambda
        .get_function_configuration()
        .function_name(&names.function)
        .send()
        .await
        .unwrap();
    let variables = env.environment().unwrap().variables().unwrap();
    assert_eq!(variables["PWP_SIGNING_KEYS_SECRET"], names.keys_secret);
    assert!(
        !variables
            .values()
            .any(|v| v.contains(&after.signing_keys[0].secret)),
        "no key in the function's environment"
    );

    // 5a. Deletion with the default policy (Delete): AWS is cleaned up, the finalizer released.
    delete_pool(&admin, &ns, "web").await;
    let took = gone(&admin, &ns, "web", READY_WITHIN).await;
    eprintln!("delete to gone: {took:?}");
    assert!(!user_pool_exists(&c, &pool_id).await);
    assert!(
        c.lambda
            .get_function()
            .function_name(&names.function)
            .send()
            .await
            .is_err()
    );
    assert!(stored_keys(&admin, &ns, "web").await.is_none());
    assert!(get_secret(&admin, &ns, "web-cognito").await.is_none());

    // 9. No key material anywhere: operator logs, events, the last status, the output Secret.
    let events: Api<Event> = Api::namespaced(admin.clone(), &ns);
    let events = events.list(&ListParams::default()).await.unwrap();
    let reasons_seen: Vec<String> = events
        .items
        .iter()
        .filter_map(|e| e.reason.clone())
        .collect();
    assert!(
        reasons_seen.iter().any(|r| r == reasons::READY),
        "{reasons_seen:?}"
    );
    assert!(
        reasons_seen.iter().any(|r| r == reasons::DELETING),
        "{reasons_seen:?}"
    );
    // Transitions only: Provisioning and Ready were each announced once, though the pool was
    // reconciled many times (drift, a spec change, a rotation, Secret events).
    for reason in [reasons::PROVISIONING, reasons::READY] {
        let announced: Vec<&Event> = events
            .items
            .iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .collect();
        assert_eq!(announced.len(), 1, "{reason}: {reasons_seen:?}");
        assert!(
            announced[0].series.is_none(),
            "{reason} announced more than once"
        );
    }
    let haystack = [
        op.logs(),
        serde_json::to_string(&events).unwrap(),
        serde_json::to_string(&status).unwrap(),
        serde_json::to_string(&secret).unwrap(),
    ]
    .join("\n");
    for key in before.signing_keys.iter().chain(&after.signing_keys) {
        assert!(!haystack.contains(&key.secret), "a signing key leaked");
        // The same bytes in other encodings.
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&key.secret)
            .unwrap();
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw);
        assert!(!haystack.contains(&url), "a signing key leaked (base64url)");
    }
    assert!(
        !haystack.contains("PWP_SIGNING_KEYS="),
        "the trigger environment leaked"
    );
}

/// Test 5: `Retain` keeps AWS; a refused cleanup (IAM refuses to delete a role that still has a
/// managed policy attached) keeps the finalizer and says why, then completes once fixed.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn retained_pools_keep_aws_and_a_refused_cleanup_says_why() {
    let (admin, ns, _op) = cluster::with_operator("del", 300).await;
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "kept", serde_json::json!({"deletionPolicy": "Retain"})),
    )
    .await;
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "stuck", serde_json::json!({})),
    )
    .await;
    let (kept, _) = ready_pool(&admin, &ns, "kept", READY_WITHIN).await;
    let (stuck, _) = ready_pool(&admin, &ns, "stuck", READY_WITHIN).await;
    let kept_id = kept.status.unwrap().user_pool_id.unwrap();
    let stuck_id = stuck.status.unwrap().user_pool_id.unwrap();
    let c = aws().await;

    delete_pool(&admin, &ns, "kept").await;
    gone(&admin, &ns, "kept", READY_WITHIN).await;
    assert!(
        user_pool_exists(&c, &kept_id).await,
        "Retain keeps the user pool"
    );

    // Someone attached a managed policy to the operator's role: IAM refuses DeleteRole.
    let role = StackNames::new(DEFAULT_CLUSTER_ID, &ns, "stuck").role;
    let policy = c
        .iam
        .create_policy()
        .policy_name(unique("extra"))
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    c.iam
        .attach_role_policy()
        .role_name(&role)
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
    delete_pool(&admin, &ns, "stuck").await;
    let (message, _) = eventually("the refusal in the condition", READY_WITHIN, || async {
        let pool = get_pool(&admin, &ns, "stuck").await?;
        let ready = ready_of(pool.status.as_ref())?.clone();
        (ready.reason == reasons::AWS_ERROR).then_some(ready.message)
    })
    .await;
    assert!(message.contains("DeleteConflict"), "{message}");
    assert!(message.contains("finalizer stays"), "{message}");
    let events = Api::<Event>::namespaced(admin.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(events.items.iter().any(|e| {
        e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("stuck")
            && e.type_.as_deref() == Some("Warning")
            && e.reason.as_deref() == Some(reasons::AWS_ERROR)
    }));
    assert!(
        get_pool(&admin, &ns, "stuck").await.is_some(),
        "the finalizer holds"
    );
    c.iam
        .detach_role_policy()
        .role_name(&role)
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
    // The retry backoff doubles from 2 s; a few retries fit well inside this.
    gone(&admin, &ns, "stuck", Duration::from_secs(120)).await;
    assert!(!user_pool_exists(&c, &stuck_id).await);
}

/// Test 6: two replicas, one leader; the standby takes over when the leader dies, and a
/// SIGTERM hands the lease back at once.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn only_the_leader_reconciles_and_a_standby_takes_over() {
    let admin = cluster::admin().await;
    let ns = unique("lead");
    prepare(&admin, &[&ns]).await;
    let lease = unique("lease");
    let args = OperatorArgs {
        namespaces: &[&ns],
        lease: &lease,
        resync_seconds: 300,
        env: &[],
    };
    let mut first = Operator::start(&unique("op-a"), &args);
    eventually(
        "the first replica leads",
        Duration::from_secs(30),
        || async { first.is_leader().await.then_some(()) },
    )
    .await;
    let second = Operator::start(&unique("op-b"), &args);
    eventually("the standby is ready", Duration::from_secs(30), || async {
        second
            .get("/readyz")
            .await
            .filter(|r| r.starts_with("HTTP/1.1 200"))
    })
    .await;
    apply_pool(&admin, &magic_link_pool(&ns, "one", serde_json::json!({}))).await;
    ready_pool(&admin, &ns, "one", READY_WITHIN).await;
    assert!(!second.is_leader().await);
    assert_eq!(
        second
            .metric("passwordless_operator_reconciles_total")
            .await,
        0.0
    );
    assert!(first.metric("passwordless_operator_reconciles_total").await >= 1.0);

    first.kill();
    let (_, failover) = eventually(
        "the standby takes over",
        Duration::from_secs(30),
        || async { second.is_leader().await.then_some(()) },
    )
    .await;
    eprintln!("failover after SIGKILL: {failover:?} (lease 6 s)");
    apply_pool(&admin, &magic_link_pool(&ns, "two", serde_json::json!({}))).await;
    ready_pool(&admin, &ns, "two", READY_WITHIN).await;

    // SIGTERM: the lease is handed back, so the next replica leads without waiting it out.
    let mut second = second;
    assert!(second.terminate().await.success(), "{}", second.logs());
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(admin.clone(), OPERATOR_NAMESPACE);
    let held_by = leases
        .get(&lease)
        .await
        .unwrap()
        .spec
        .unwrap()
        .holder_identity;
    assert_eq!(held_by, None, "released on SIGTERM");
    let third = Operator::start(&unique("op-c"), &args);
    let (_, took) = eventually(
        "a new replica leads at once",
        Duration::from_secs(5),
        || async { third.is_leader().await.then_some(()) },
    )
    .await;
    eprintln!("new leader after a released lease: {took:?}");
    for name in ["one", "two"] {
        delete_pool(&admin, &ns, name).await;
        gone(&admin, &ns, name, READY_WITHIN).await;
    }
}

/// Test 7: the operator dies right after creating the user pool; restarted, it converges with
/// exactly one user pool and one app client.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_crash_during_the_first_reconcile_converges_without_duplicates() {
    let admin = cluster::admin().await;
    let ns = unique("crash");
    prepare(&admin, &[&ns]).await;
    let lease = unique("lease");
    for step in ["cognito user pool", "cognito app client"] {
        let name = if step.ends_with("pool") { "p" } else { "c" };
        let mut crashing = Operator::start(
            &unique("op-crash"),
            &OperatorArgs {
                namespaces: &[&ns],
                lease: &lease,
                resync_seconds: 300,
                env: &[("PWP_TEST_CRASH_AFTER", step)],
            },
        );
        apply_pool(&admin, &magic_link_pool(&ns, name, serde_json::json!({}))).await;
        let (status, _) = eventually("the operator crashes", READY_WITHIN, || {
            let exited = crashing.exited();
            async move { exited }
        })
        .await;
        assert!(!status.success());
        drop(crashing);
        let restarted = Operator::start(
            &unique("op-restart"),
            &OperatorArgs {
                namespaces: &[&ns],
                lease: &lease,
                resync_seconds: 300,
                env: &[],
            },
        );
        ready_pool(&admin, &ns, name, READY_WITHIN).await;
        let aws_name = StackNames::new(DEFAULT_CLUSTER_ID, &ns, name).user_pool;
        let counts =
            tokio::task::spawn_blocking(move || common::count_pools_and_clients(&aws_name))
                .await
                .unwrap();
        assert_eq!(
            counts,
            (1, 1),
            "crash after {step}: one user pool, one client"
        );
        delete_pool(&admin, &ns, name).await;
        gone(&admin, &ns, name, READY_WITHIN).await;
        drop(restarted);
    }
}

/// Test 8: the RBAC the chart ships is enough (every test here runs the operator with nothing
/// else) and no more: no Secret outside the watched namespaces (kube-system's included), none
/// in its own namespace (where Helm's release Secrets are), in the keys namespace only reads by
/// name and writes, no cluster-wide Secret list, no deleting pools; application service
/// accounts cannot read the signing keys.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn the_chart_rbac_is_enough_and_no_more() {
    let admin = cluster::admin().await;
    let watched = unique("rbac");
    let other = unique("other");
    prepare(&admin, &[&watched]).await;
    cluster::create_namespace(&admin, &other).await;
    cluster::create_secret(&admin, &other, "db-password", "hunter2").await;
    // What Helm keeps in the release namespace: the release, values and all.
    let helm_release = format!("sh.helm.release.v1.{}.v1", unique("release"));
    cluster::create_secret(&admin, OPERATOR_NAMESPACE, &helm_release, "values").await;
    let op = cluster::as_operator().await;
    let code = |r: Result<(), kube::Error>| match r {
        Ok(()) => 200,
        Err(kube::Error::Api(e)) => e.code,
        Err(e) => panic!("{e}"),
    };
    let secrets = |ns: &str| Api::<Secret>::namespaced(op.clone(), ns);
    let get = |ns: &str, name: &str| {
        let api = secrets(ns);
        let name = name.to_owned();
        async move { code(api.get(&name).await.map(|_| ())) }
    };
    let list =
        |api: Api<Secret>| async move { code(api.list(&ListParams::default()).await.map(|_| ())) };
    // No Secret where it watches nothing, its own namespace included.
    assert_eq!(get(&other, "db-password").await, 403);
    assert_eq!(get("kube-system", "any").await, 403);
    assert_eq!(list(secrets("kube-system")).await, 403);
    assert_eq!(list(Api::all(op.clone())).await, 403);
    assert_eq!(
        get(OPERATOR_NAMESPACE, &helm_release).await,
        403,
        "Helm's release Secret"
    );
    assert_eq!(list(secrets(OPERATOR_NAMESPACE)).await, 403);
    let probe: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": unique("rbac-probe")}, "stringData": {"k": "v"},
    }))
    .unwrap();
    let created = |ns: &str| {
        let api = secrets(ns);
        let probe = probe.clone();
        async move { code(api.create(&PostParams::default(), &probe).await.map(|_| ())) }
    };
    assert_eq!(created(OPERATOR_NAMESPACE).await, 403);
    // The keys namespace: each key by name, never a listing.
    assert_eq!(list(secrets(KEYS_NAMESPACE)).await, 403);
    assert_eq!(get(KEYS_NAMESPACE, "pwp-keys.none.none").await, 404);
    assert_eq!(created(KEYS_NAMESPACE).await, 200);
    let keys = secrets(KEYS_NAMESPACE);
    let name = probe.name_any();
    let stored = keys.get(&name).await.unwrap();
    keys.replace(&name, &PostParams::default(), &stored)
        .await
        .unwrap();
    keys.delete(&name, &DeleteParams::default()).await.unwrap();
    assert_eq!(
        code(
            Api::<PasswordlessPool>::namespaced(op.clone(), &watched)
                .delete("any", &DeleteParams::default())
                .await
                .map(|_| ())
        ),
        403
    );
    // What it needs, it has.
    assert_eq!(list(secrets(&watched)).await, 200);
    Api::<PasswordlessPool>::all(op.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(op.clone(), OPERATOR_NAMESPACE);
    assert_eq!(code(leases.get("none").await.map(|_| ())), 404);
    // An application's service account in the pool namespace cannot read the keys.
    for namespace in [KEYS_NAMESPACE, OPERATOR_NAMESPACE] {
        for verb in ["get", "list"] {
            let review: SubjectAccessReview = serde_json::from_value(serde_json::json!({
                "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {
                    "user": format!("system:serviceaccount:{watched}:default"),
                    "groups": ["system:serviceaccounts", "system:authenticated"],
                    "resourceAttributes": {"namespace": namespace, "verb": verb, "resource": "secrets"}
                }
            }))
            .unwrap();
            let answer = Api::<SubjectAccessReview>::all(admin.clone())
                .create(&PostParams::default(), &review)
                .await
                .unwrap();
            assert!(
                !answer.status.unwrap().allowed,
                "{verb} secrets in {namespace} as an app"
            );
        }
    }
}

/// An invalid spec (one the schema cannot catch) gets `InvalidSpec` and no AWS call; the fix
/// makes it Ready.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn an_invalid_spec_is_reported_and_waits_for_a_fix() {
    let (admin, ns, op) = cluster::with_operator("bad", 300).await;
    let bad = serde_json::json!({"email": {"appName": "Example", "subject": "Sign in {{nope}}"}});
    apply_pool(&admin, &magic_link_pool(&ns, "typo", bad)).await;
    let (message, _) = eventually("InvalidSpec reported", READY_WITHIN, || async {
        let pool = get_pool(&admin, &ns, "typo").await?;
        let ready = ready_of(pool.status.as_ref())?.clone();
        (ready.reason == reasons::INVALID_SPEC).then_some(ready.message)
    })
    .await;
    assert!(message.contains("nope"), "{message}");
    // The status write itself comes back through the watch once; after that, nothing: a retry
    // with backoff would run within 1-2 s.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let reconciles = op.metric("passwordless_operator_reconciles_total").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        op.metric("passwordless_operator_reconciles_total").await,
        reconciles,
        "an invalid spec waits for a change instead of retrying"
    );
    assert!(
        op.metric("passwordless_operator_aws_calls_total").await == 0.0,
        "no AWS call for an invalid spec"
    );
    apply_pool(&admin, &magic_link_pool(&ns, "typo", serde_json::json!({}))).await;
    ready_pool(&admin, &ns, "typo", READY_WITHIN).await;
    delete_pool(&admin, &ns, "typo").await;
    gone(&admin, &ns, "typo", READY_WITHIN).await;
}

/// The operator proves the deployed trigger starts: a configuration the trigger refuses (here a
/// tampered keys Secret holding a key shorter than 256 bits) gets `TriggerUnhealthy` with the
/// trigger's own reason, never the key; the rest of the stack still converges. Deleting the keys
/// Secret makes fresh keys, the probe passes, and the pool is Ready.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_trigger_that_refuses_its_configuration_is_reported_unhealthy() {
    let (admin, ns, _op) = cluster::with_operator("probe", 300).await;
    let short_key = "c2hvcnQta2V5"; // base64("short-key"): 9 bytes
    let keys_name = key_store::secret_name(&ns, "tampered");
    let tampered: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": keys_name, "namespace": KEYS_NAMESPACE},
        "stringData": {"keys.json": format!(r#"{{"signingKeys":[{{"kid":"k1","secret":"{short_key}"}}]}}"#)},
    }))
    .unwrap();
    let secrets = Api::<Secret>::namespaced(admin.clone(), KEYS_NAMESPACE);
    secrets
        .create(&PostParams::default(), &tampered)
        .await
        .unwrap();
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "tampered", serde_json::json!({})),
    )
    .await;
    let (status, took) = eventually("TriggerUnhealthy reported", READY_WITHIN, || async {
        let status = get_pool(&admin, &ns, "tampered").await?.status?;
        let ready = ready_of(Some(&status))?;
        (ready.reason == reasons::TRIGGER_UNHEALTHY).then_some(status.clone())
    })
    .await;
    let message = &ready_of(Some(&status)).unwrap().message;
    println!("TriggerUnhealthy after {took:?}: {message}");
    assert!(
        message.contains(
            "configuration refused: PWP_SIGNING_KEYS_SECRET: a key is shorter than 256 bits"
        ),
        "{message}"
    );
    assert!(!message.contains(short_key), "the key leaked: {message}");
    assert!(
        status.user_pool_id.is_some() && status.client_id.is_some(),
        "the rest of the stack converged: {status:?}"
    );
    let events = Api::<Event>::namespaced(admin.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some(reasons::TRIGGER_UNHEALTHY)
                && e.type_.as_deref() == Some("Warning")),
        "a Warning event says so"
    );
    secrets
        .delete(&keys_name, &DeleteParams::default())
        .await
        .unwrap();
    // The Secret watch does not cover the keys Secret; a change to the pool triggers the retry.
    let mut touched = magic_link_pool(&ns, "tampered", serde_json::json!({}));
    touched.metadata.annotations = Some([("test/retry".to_owned(), "1".to_owned())].into());
    apply_pool(&admin, &touched).await;
    ready_pool(&admin, &ns, "tampered", READY_WITHIN).await;
    delete_pool(&admin, &ns, "tampered").await;
    gone(&admin, &ns, "tampered", READY_WITHIN).await;
}

/// A pool whose spec stops validating (here a cross-field rule the 1.20 test bed's apiserver
/// cannot enforce, as an old cluster without CEL would not) can still be deleted: cleanup takes
/// the spec's defaults, checks no rule, and removes what AWS holds.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_pool_whose_spec_no_longer_validates_can_still_be_deleted() {
    let (admin, ns, _op) = cluster::with_operator("stale", 300).await;
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "stale", serde_json::json!({})),
    )
    .await;
    ready_pool(&admin, &ns, "stale", READY_WITHIN).await;
    let pool_id = get_pool(&admin, &ns, "stale")
        .await
        .and_then(|p| p.status?.user_pool_id)
        .unwrap();
    let broken = serde_json::json!({"email": {"subject": "Sign in {{nope}}"}});
    apply_pool(&admin, &magic_link_pool(&ns, "stale", broken)).await;
    eventually("InvalidSpec reported", READY_WITHIN, || async {
        let pool = get_pool(&admin, &ns, "stale").await?;
        (ready_of(pool.status.as_ref())?.reason == reasons::INVALID_SPEC).then_some(())
    })
    .await;
    delete_pool(&admin, &ns, "stale").await;
    let took = gone(&admin, &ns, "stale", READY_WITHIN).await;
    println!("deleted with an invalid spec in {took:?}");
    assert!(
        !user_pool_exists(&aws().await, &pool_id).await,
        "the user pool went with it"
    );
}

/// `common`'s blocking AWS helpers, from async tests.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// A pool's condition once its `Ready` reason is `reason`.
async fn refused_with(admin: &Client, ns: &str, name: &str, reason: &str) -> String {
    eventually(&format!("{name}: {reason}"), READY_WITHIN, || async {
        let pool = get_pool(admin, ns, name).await?;
        let ready = ready_of(pool.status.as_ref())?.clone();
        (ready.reason == reason).then_some(ready.message)
    })
    .await
    .0
}

/// A tenant reaching for what is not theirs, through the controller: another app's Secret as
/// the output Secret, a sender the platform team did not allow, another team's user pool to
/// adopt. Each is refused with a condition naming it, before any AWS call, and nothing of the
/// other party's changes.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_tenant_cannot_take_another_tenants_secret_sender_or_pool() {
    let (admin, ns, op) = cluster::with_operator("tenant", 300).await;
    cluster::create_secret(&admin, &ns, "payments-db", "s3cret-password").await;
    let foreign = get_secret(&admin, &ns, "payments-db").await.unwrap();
    apply_pool(
        &admin,
        &magic_link_pool(
            &ns,
            "thief",
            serde_json::json!({"secretName": "payments-db"}),
        ),
    )
    .await;
    let message = refused_with(&admin, &ns, "thief", reasons::SECRET_CONFLICT).await;
    assert!(message.contains(&format!(
        "Secret {ns}/payments-db exists and is not this pool's"
    )));

    let sender = serde_json::json!({"sender": {"address": "ceo@bank.example.net"}});
    apply_pool(&admin, &magic_link_pool(&ns, "spoof", sender)).await;
    let message = refused_with(&admin, &ns, "spoof", reasons::NOT_ALLOWED).await;
    assert!(
        message.contains("spec.sender.address") && message.contains("ceo@bank.example.net"),
        "{message}"
    );

    let name = unique("victim");
    let victim = blocking(move || common::create_pool_by_hand(&name, true)).await;
    let facts = |id: &String| {
        let id = id.clone();
        blocking(move || common::pool_facts(&id))
    };
    let before = facts(&victim).await;
    let adopt = serde_json::json!({"adopt": {"userPoolId": victim}});
    apply_pool(&admin, &magic_link_pool(&ns, "takeover", adopt)).await;
    let message = refused_with(&admin, &ns, "takeover", reasons::NOT_ALLOWED).await;
    assert!(
        message.contains(&format!("may not adopt user pool {victim}")),
        "{message}"
    );

    assert_eq!(
        op.metric("passwordless_operator_aws_calls_total").await,
        0.0,
        "all three refused before any AWS call"
    );
    for refused in ["spoof", "takeover"] {
        assert!(
            stored_keys(&admin, &ns, refused).await.is_none(),
            "{refused}: a refused pool gets no signing-key Secret"
        );
    }
    let after = get_secret(&admin, &ns, "payments-db").await.unwrap();
    assert_eq!(after.data, foreign.data, "the foreign Secret is untouched");
    assert_eq!(after.metadata.owner_references, None);
    assert_eq!(
        facts(&victim).await,
        before,
        "the victim's pool is untouched"
    );
    for name in ["thief", "spoof", "takeover"] {
        delete_pool(&admin, &ns, name).await;
        gone(&admin, &ns, name, READY_WITHIN).await;
    }
    assert!(
        get_secret(&admin, &ns, "payments-db").await.is_some(),
        "still there after"
    );
    assert_eq!(facts(&victim).await, before, "and the victim's pool");
}

/// GitOps-clean: the operator writes only its finalizer and the status (never the spec, labels
/// or annotations), so a second server-side apply of the same manifest after Ready is a no-op,
/// and the status carries kstatus's conditions (none abnormal once Ready).
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_second_apply_after_ready_changes_nothing() {
    use passwordless_operator::controller::FIELD_MANAGER;
    let (admin, ns, _op) = cluster::with_operator("gitops", 300).await;
    let pool = magic_link_pool(&ns, "synced", serde_json::json!({}));
    apply_pool(&admin, &pool).await;
    let (ready, _) = ready_pool(&admin, &ns, "synced", READY_WITHIN).await;
    let types: Vec<&str> = ready
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .map(|c| c.type_.as_str())
        .collect();
    assert_eq!(types, ["Ready"], "no Reconciling or Stalled once Ready");
    for entry in ready.metadata.managed_fields.iter().flatten() {
        if entry.manager.as_deref() != Some(FIELD_MANAGER) {
            continue;
        }
        let fields = serde_json::to_string(&entry.fields_v1).unwrap();
        let status_only = entry.subresource.as_deref() == Some("status");
        assert!(
            status_only
                || !fields.contains("f:spec")
                    && !fields.contains("f:labels")
                    && !fields.contains("f:annotations"),
            "the operator owns only its finalizer and the status: {fields}"
        );
    }
    apply_pool(&admin, &pool).await;
    let again = get_pool(&admin, &ns, "synced").await.unwrap();
    assert_eq!(
        again.metadata.resource_version, ready.metadata.resource_version,
        "a second apply of the same manifest is a no-op"
    );
    assert_eq!(again.metadata.generation, ready.metadata.generation);
    delete_pool(&admin, &ns, "synced").await;
    gone(&admin, &ns, "synced", READY_WITHIN).await;
}

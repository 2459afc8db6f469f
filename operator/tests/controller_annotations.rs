//! What a team asks of the controller by annotation, and what it tells them in the status,
//! against the test bed: pause, reconcile-now, the acknowledged relying-party change, and the
//! feature plan. Run by `make test`, which brings the test bed up; `cargo test` alone skips
//! these.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::cluster::{
    self, access_token_validity, apply_pool, delete_pool, eventually, get_pool, gone,
    magic_link_pool, ready_pool, user_pool_exists,
};
use k8s_openapi::api::events::v1::Event;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
use passwordless_operator::annotations;
use passwordless_operator::aws::Clients;
use passwordless_operator::crd::{PasswordlessPool, PasswordlessPoolStatus};
use passwordless_operator::status::{ready_of, reasons};

const READY_WITHIN: Duration = Duration::from_secs(90);
/// Far longer than any test here: whatever the operator does within one, it did because of
/// the test, not a resync.
const NO_RESYNC_SECONDS: u64 = 600;
/// How long a test waits to see that nothing happens.
const QUIET: Duration = Duration::from_secs(6);

async fn aws() -> Clients {
    Clients::from_env(None).await.unwrap()
}

async fn annotate(admin: &Client, ns: &str, name: &str, key: &str, value: Option<&str>) {
    Api::<PasswordlessPool>::namespaced(admin.clone(), ns)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"annotations": {key: value}}})),
        )
        .await
        .unwrap();
}

async fn status(admin: &Client, ns: &str, name: &str) -> PasswordlessPoolStatus {
    get_pool(admin, ns, name)
        .await
        .and_then(|p| p.status)
        .unwrap_or_default()
}

fn condition(status: &PasswordlessPoolStatus, type_: &str) -> Option<(String, String)> {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}

/// Changes the client's access-token validity behind the operator's back; returns the new one.
async fn drift(c: &Clients, pool: &str, client: &str) -> i32 {
    let drifted = access_token_validity(c, pool, client).await + 7;
    c.cognito
        .update_user_pool_client()
        .user_pool_id(pool)
        .client_id(client)
        .access_token_validity(drifted)
        .send()
        .await
        .unwrap();
    drifted
}

async fn relying_party_id(c: &Clients, pool: &str) -> Option<String> {
    c.cognito
        .get_user_pool_mfa_config()
        .user_pool_id(pool)
        .send()
        .await
        .unwrap()
        .web_authn_configuration()
        .and_then(|w| w.relying_party_id())
        .map(str::to_owned)
}

async fn event_notes(admin: &Client, ns: &str, reason: &str) -> Vec<String> {
    Api::<Event>::namespaced(admin.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| {
            format!(
                "{}: {}",
                e.type_.unwrap_or_default(),
                e.note.unwrap_or_default()
            )
        })
        .collect()
}

/// Reconcile-now corrects drift at once, once per value; a pause holds every AWS call off
/// (drift, a spec change, a reconcile request and a deletion all wait), Ready keeps what it
/// said, and removing the pause picks everything up at once.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn pause_and_reconcile_now_through_the_controller() {
    let (admin, ns, op) = cluster::with_operator("pause", NO_RESYNC_SECONDS).await;
    let pool = magic_link_pool(&ns, "web", serde_json::json!({}));
    apply_pool(&admin, &pool).await;
    let (ready, _) = ready_pool(&admin, &ns, "web", READY_WITHIN).await;
    let s = ready.status.unwrap();
    let (pool_id, client_id) = (s.user_pool_id.unwrap(), s.client_id.unwrap());
    let c = aws().await;
    let wanted = access_token_validity(&c, &pool_id, &client_id).await;

    // Reconcile-now: drift corrected within seconds, with no resync due for ten minutes.
    drift(&c, &pool_id, &client_id).await;
    annotate(
        &admin,
        &ns,
        "web",
        annotations::RECONCILE_REQUESTED,
        Some("1"),
    )
    .await;
    let (_, took) = eventually(
        "the requested reconcile",
        Duration::from_secs(20),
        || async {
            let handled = status(&admin, &ns, "web").await.last_handled_reconcile_at;
            let fixed = access_token_validity(&c, &pool_id, &client_id).await == wanted;
            (fixed && handled.as_deref() == Some("1")).then_some(())
        },
    )
    .await;
    eprintln!("reconcile-now corrected the drift in {took:?}");

    // Once per value: another change to the object (a new annotation) with the same request
    // value compares nothing; a new value does.
    let drifted = drift(&c, &pool_id, &client_id).await;
    let reconciles = op.metric("passwordless_operator_reconciles_total").await;
    annotate(&admin, &ns, "web", "example.com/unrelated", Some("x")).await;
    eventually(
        "a reconcile of the annotated pool",
        Duration::from_secs(20),
        || async {
            (op.metric("passwordless_operator_reconciles_total").await > reconciles).then_some(())
        },
    )
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        access_token_validity(&c, &pool_id, &client_id).await,
        drifted,
        "the handled value asked for nothing more"
    );
    annotate(
        &admin,
        &ns,
        "web",
        annotations::RECONCILE_REQUESTED,
        Some("2"),
    )
    .await;
    eventually("the second request", Duration::from_secs(20), || async {
        let handled = status(&admin, &ns, "web").await.last_handled_reconcile_at;
        let fixed = access_token_validity(&c, &pool_id, &client_id).await == wanted;
        (fixed && handled.as_deref() == Some("2")).then_some(())
    })
    .await;

    // Paused: the status says so and Ready stays True.
    annotate(&admin, &ns, "web", annotations::PAUSED, Some("true")).await;
    let (paused, _) = eventually("Paused=True", Duration::from_secs(20), || async {
        let s = status(&admin, &ns, "web").await;
        (condition(&s, reasons::PAUSED) == Some(("True".into(), reasons::RECONCILE_PAUSED.into())))
            .then_some(s)
    })
    .await;
    assert_eq!(
        condition(&paused, reasons::READY),
        Some(("True".into(), reasons::READY.into()))
    );
    eprintln!(
        "paused status: {}",
        serde_json::to_string(&paused.conditions).unwrap()
    );
    let calls_paused = op.metric("passwordless_operator_aws_calls_total").await;

    // While paused: drift, a spec change and a reconcile request all wait.
    let drifted = drift(&c, &pool_id, &client_id).await;
    let mut changed = magic_link_pool(
        &ns,
        "web",
        serde_json::json!({"client": {"accessTokenValidityMinutes": 45}}),
    );
    changed.metadata.annotations = None;
    apply_pool(&admin, &changed).await;
    annotate(
        &admin,
        &ns,
        "web",
        annotations::RECONCILE_REQUESTED,
        Some("3"),
    )
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        access_token_validity(&c, &pool_id, &client_id).await,
        drifted
    );
    let s = status(&admin, &ns, "web").await;
    assert_eq!(s.last_handled_reconcile_at.as_deref(), Some("2"));
    assert_eq!(
        op.metric("passwordless_operator_aws_calls_total").await,
        calls_paused,
        "no AWS call while paused"
    );

    // A deletion waits too, and says so.
    delete_pool(&admin, &ns, "web").await;
    eventually(
        "the paused deletion said",
        Duration::from_secs(20),
        || async {
            let pool = get_pool(&admin, &ns, "web").await?;
            let s = pool.status?;
            s.conditions
                .iter()
                .any(|c| {
                    c.type_ == reasons::PAUSED
                        && c.message.ends_with("the deletion waits for it too")
                })
                .then_some(())
        },
    )
    .await;
    tokio::time::sleep(QUIET).await;
    assert!(get_pool(&admin, &ns, "web").await.is_some());
    assert!(
        user_pool_exists(&c, &pool_id).await,
        "AWS untouched while paused"
    );

    // Unpaused: the deletion runs at once.
    annotate(&admin, &ns, "web", annotations::PAUSED, None).await;
    gone(&admin, &ns, "web", READY_WITHIN).await;
    assert!(!user_pool_exists(&c, &pool_id).await);
    let notes = event_notes(&admin, &ns, reasons::RECONCILE_PAUSED).await;
    assert_eq!(notes.len(), 1, "one Normal event for the pause: {notes:?}");
    assert!(notes[0].starts_with("Normal: "), "{notes:?}");
}

/// A spec change to native moves the pool to Essentials: the status says which field needs
/// it and a Warning event says so. A changed relying-party id waits, Stalled, until the
/// annotation names the new id.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn the_tier_is_reported_and_passkeys_keep_their_relying_party() {
    let (admin, ns, _op) = cluster::with_operator("tier", NO_RESYNC_SECONDS).await;
    let pool = |spec: &str| -> PasswordlessPool {
        serde_yaml::from_str(&format!(
            "apiVersion: passwordless-operator.dev/v1alpha1\nkind: PasswordlessPool\nmetadata: {{name: keys, namespace: {ns}}}\nspec:\n{spec}"
        ))
        .unwrap()
    };
    apply_pool(
        &admin,
        &pool("  strategy: emailOtp\n  sender: {address: no-reply@example.com}\n"),
    )
    .await;
    let (ready, _) = ready_pool(&admin, &ns, "keys", READY_WITHIN).await;
    let s = ready.status.unwrap();
    let tier = s.tier.unwrap();
    assert_eq!((tier.plan.as_str(), tier.required_by), ("LITE", None));
    let pool_id = s.user_pool_id.unwrap();

    let native = |rp: &str| {
        pool(&format!(
            "  strategy: native\n  native: {{allowedFirstAuthFactors: [WEB_AUTHN], webAuthnRelyingPartyId: {rp}}}\n"
        ))
    };
    apply_pool(&admin, &native("example.com")).await;
    let (ready, _) = ready_pool(&admin, &ns, "keys", READY_WITHIN).await;
    let tier = ready.status.unwrap().tier.unwrap();
    assert_eq!(
        (tier.plan.as_str(), tier.required_by.as_deref()),
        ("ESSENTIALS", Some("spec.native"))
    );
    let c = aws().await;
    let plan = c
        .cognito
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .unwrap()
        .user_pool()
        .unwrap()
        .user_pool_tier()
        .map(|t| t.as_str().to_owned());
    assert_eq!(plan.as_deref(), Some("ESSENTIALS"));
    let (warned, _) = eventually("the TierRaised event", Duration::from_secs(20), || async {
        let notes = event_notes(&admin, &ns, reasons::TIER_RAISED).await;
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].starts_with(
            "Warning: the user pool moved from Cognito's LITE to its ESSENTIALS feature plan, which spec.native requires"
        ),
        "{warned:?}"
    );
    assert_eq!(
        relying_party_id(&c, &pool_id).await.as_deref(),
        Some("example.com")
    );

    // A new relying-party id: refused, Stalled, nothing changed in AWS.
    apply_pool(&admin, &native("auth.example.com")).await;
    let (stalled, _) = eventually("RelyingPartyIdChange", Duration::from_secs(30), || async {
        let p = get_pool(&admin, &ns, "keys").await?;
        let s = p.status?;
        let ready = ready_of(Some(&s))?;
        (ready.reason == reasons::RELYING_PARTY_ID_CHANGE
            && ready.observed_generation == p.metadata.generation)
            .then_some(s)
    })
    .await;
    assert_eq!(
        condition(&stalled, reasons::STALLED),
        Some(("True".into(), reasons::RELYING_PARTY_ID_CHANGE.into()))
    );
    let message = &ready_of(Some(&stalled)).unwrap().message;
    assert!(
        message.contains("is example.com; changing it to auth.example.com orphans every passkey")
            && message.contains(
                "passwordless-operator.dev/acknowledge-relying-party-id: auth.example.com"
            ),
        "{message}"
    );
    eprintln!(
        "relying-party status: {}",
        serde_json::to_string(&stalled.conditions).unwrap()
    );
    assert_eq!(
        relying_party_id(&c, &pool_id).await.as_deref(),
        Some("example.com")
    );

    // An acknowledgement of another id changes nothing; naming the new one lets it through.
    let acknowledge = |id: &'static str| {
        annotate(
            &admin,
            &ns,
            "keys",
            annotations::ACKNOWLEDGE_RELYING_PARTY_ID,
            Some(id),
        )
    };
    acknowledge("example.org").await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        relying_party_id(&c, &pool_id).await.as_deref(),
        Some("example.com")
    );
    acknowledge("auth.example.com").await;
    ready_pool(&admin, &ns, "keys", READY_WITHIN).await;
    assert_eq!(
        relying_party_id(&c, &pool_id).await.as_deref(),
        Some("auth.example.com")
    );

    // Someone changes the id in AWS behind the operator's back: that is drift, put back at the
    // next comparison, not a change the spec asked for (nothing waits for an acknowledgement).
    c.cognito
        .set_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .mfa_configuration(aws_sdk_cognitoidentityprovider::types::UserPoolMfaType::Off)
        .web_authn_configuration(
            aws_sdk_cognitoidentityprovider::types::WebAuthnConfigurationType::builder()
                .relying_party_id("evil.example.net")
                .build(),
        )
        .send()
        .await
        .unwrap();
    annotate(
        &admin,
        &ns,
        "keys",
        annotations::RECONCILE_REQUESTED,
        Some("drift"),
    )
    .await;
    eventually(
        "the relying party put back",
        Duration::from_secs(30),
        || async {
            let put_back =
                relying_party_id(&c, &pool_id).await.as_deref() == Some("auth.example.com");
            let handled = status(&admin, &ns, "keys").await.last_handled_reconcile_at;
            (put_back && handled.as_deref() == Some("drift")).then_some(())
        },
    )
    .await;
    let s = status(&admin, &ns, "keys").await;
    assert_eq!(
        condition(&s, reasons::READY),
        Some(("True".into(), reasons::READY.into()))
    );
    delete_pool(&admin, &ns, "keys").await;
    gone(&admin, &ns, "keys", READY_WITHIN).await;
}

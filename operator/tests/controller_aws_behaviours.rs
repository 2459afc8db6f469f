//! The services as they really behave, not as the emulator answers: each behaviour switched on
//! for one pool's resources in the model check in front of ministack
//! (scripts/testbed.d/behaviours.py), and the controller meeting it. Run by `make test`;
//! `cargo test` alone skips these.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::behaviours;
use common::cluster::{self, apply_pool, eventually, get_pool, magic_link_pool, ready_pool};
use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::names::StackNames;
use passwordless_operator::status::{ready_of, reasons};

const READY_WITHIN: Duration = Duration::from_secs(90);

/// A magic-link pool with this send interval: changing it is a spec change that updates only
/// the trigger's configuration.
fn with_interval(namespace: &str, name: &str, interval: u32) -> PasswordlessPool {
    let limits = serde_json::json!({"limits": {"minIntervalSeconds": interval}});
    magic_link_pool(namespace, name, limits)
}

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
    let spec = |interval| with_interval(&ns, "idle", interval);
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

/// A native pool with managed login on the prefix domain `prefix`.
fn login_pool(namespace: &str, name: &str, prefix: &str) -> PasswordlessPool {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "passwordless-operator.dev/v1alpha1",
        "kind": "PasswordlessPool",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "strategy": "native",
            "sender": {"address": "no-reply@example.com"},
            "native": {"allowedFirstAuthFactors": ["EMAIL_OTP"]},
            "managedLogin": {"domainPrefix": prefix, "callbackUrls": ["https://app.example.com/cb"]},
        },
    }))
    .unwrap()
}

/// The Ready condition's reason and message, and whether Stalled is True.
async fn ready_reason(
    admin: &kube::Client,
    ns: &str,
    name: &str,
) -> Option<(String, String, bool)> {
    let pool = get_pool(admin, ns, name).await?;
    let status = pool.status?;
    let ready = ready_of(Some(&status))?;
    let stalled = status
        .conditions
        .iter()
        .any(|c| c.type_ == reasons::STALLED);
    Some((ready.reason.clone(), ready.message.clone(), stalled))
}

/// A managed login domain takes minutes to become `ACTIVE` (a custom one up to an hour): Ready
/// waits with `DomainNotActive` (Reconciling) and no sign-in URL is published until it is
/// active; a `FAILED` domain is Stalled with `DomainFailed`. Before, the pool was Ready with the
/// sign-in URL at once, and a failed domain was never noticed.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_login_domain_is_ready_only_once_active_and_a_failed_one_stalls() {
    let (admin, ns, _op) = cluster::with_operator("domains", 15).await;
    for (name, then) in [("slow", "ACTIVE"), ("broken", "FAILED")] {
        let prefix = format!("{ns}-{name}");
        let options = serde_json::json!({"seconds": 6, "then": then});
        behaviours::switch_on("domain-creating", &prefix, options);
        apply_pool(&admin, &login_pool(&ns, name, &prefix)).await;
    }
    let (message, _) = eventually("the domain reported creating", READY_WITHIN, || async {
        let (reason, message, _) = ready_reason(&admin, &ns, "slow").await?;
        (reason == reasons::DOMAIN_NOT_ACTIVE).then_some(message)
    })
    .await;
    assert!(message.contains("is CREATING"), "{message}");
    let pool = get_pool(&admin, &ns, "slow").await.unwrap();
    assert!(
        pool.status.unwrap().managed_login.is_none(),
        "no sign-in URL yet"
    );
    let secret = cluster::get_secret(&admin, &ns, "slow-cognito").await;
    let data = secret.and_then(|s| s.data).unwrap_or_default();
    assert!(
        !data.contains_key("signInUrl"),
        "no sign-in URL in the Secret yet"
    );

    let (pool, _) = ready_pool(&admin, &ns, "slow", READY_WITHIN).await;
    assert!(pool.status.unwrap().managed_login.is_some());
    eventually("the sign-in URL in the Secret", READY_WITHIN, || async {
        let secret = cluster::get_secret(&admin, &ns, "slow-cognito").await?;
        secret.data?.contains_key("signInUrl").then_some(())
    })
    .await;

    let (message, _) = eventually("the failed domain stalls", READY_WITHIN, || async {
        let (reason, message, stalled) = ready_reason(&admin, &ns, "broken").await?;
        (reason == reasons::DOMAIN_FAILED && stalled).then_some(message)
    })
    .await;
    assert!(message.contains("FAILED"), "{message}");
    for name in ["slow", "broken"] {
        behaviours::switch_off(&format!("{ns}-{name}"));
    }
}

/// A keys secret scheduled for deletion (by hand, or by a deletion with a recovery window)
/// blocks its name for up to 30 days and refuses writes: the operator restores its own and goes
/// on. Before, it read as absent, and the create that followed failed on every reconcile.
/// (ministack keeps a scheduled secret as AWS does; no behaviour needs switching on.)
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_keys_secret_scheduled_for_deletion_is_restored() {
    let (admin, ns, _op) = cluster::with_operator("secret-restore", 300).await;
    let spec = |interval| with_interval(&ns, "keys", interval);
    apply_pool(&admin, &spec(60)).await;
    ready_pool(&admin, &ns, "keys", READY_WITHIN).await;
    let c = passwordless_operator::aws::Clients::from_env(None)
        .await
        .unwrap();
    let secret = names(&ns, "keys").keys_secret;
    c.secrets
        .delete_secret()
        .secret_id(&secret)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let deleted_date = || async {
        let out = c.secrets.describe_secret().secret_id(&secret).send().await;
        out.unwrap().deleted_date().is_some()
    };
    assert!(deleted_date().await, "scheduled for deletion");

    apply_pool(&admin, &spec(30)).await;
    ready_pool(&admin, &ns, "keys", READY_WITHIN).await;
    assert!(!deleted_date().await, "restored");
}

/// Native EMAIL_OTP sends as the SES identity, and Cognito refuses the pool while that
/// identity is not verified: the pool waits with `SenderNotVerified` (rechecked), with no
/// failed reconcile, and is created once SES says the identity is verified. Before, the
/// refused CreateUserPool was an `AwsError` (Degraded) on every pass.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_native_pool_waits_for_its_sender_to_be_verified() {
    let (admin, ns, op) = cluster::with_operator("ses-pending", 15).await;
    let sender = format!("{ns}@example.com");
    behaviours::switch_on(
        "ses-pending",
        &sender,
        serde_json::json!({"seconds": 8, "then": "SUCCESS"}),
    );
    let pool: PasswordlessPool = serde_json::from_value(serde_json::json!({
        "apiVersion": "passwordless-operator.dev/v1alpha1",
        "kind": "PasswordlessPool",
        "metadata": {"name": "native", "namespace": ns},
        "spec": {
            "strategy": "native",
            "sender": {"address": sender},
            "native": {"allowedFirstAuthFactors": ["EMAIL_OTP"]},
        },
    }))
    .unwrap();
    apply_pool(&admin, &pool).await;
    eventually("the sender reported pending", READY_WITHIN, || async {
        let (reason, _, _) = ready_reason(&admin, &ns, "native").await?;
        (reason == reasons::SENDER_NOT_VERIFIED).then_some(())
    })
    .await;
    let (ready, _) = ready_pool(&admin, &ns, "native", READY_WITHIN).await;
    assert!(ready.status.unwrap().user_pool_id.is_some());
    let done = behaviours::done(&sender);
    behaviours::switch_off(&sender);
    assert!(done["read_pending"].as_u64() >= Some(1), "{done}");
    assert_no_reconcile_failed(&op, &done).await;
}

/// No reconcile failed on the operator's way to where it is: its error counter is empty.
async fn assert_no_reconcile_failed(op: &cluster::Operator, done: &serde_json::Value) {
    let metrics = op.get("/metrics").await.unwrap();
    let failed: Vec<_> = metrics
        .lines()
        .filter(|l| l.starts_with("passwordless_operator_reconcile_errors_total{"))
        .collect();
    assert!(
        failed.is_empty(),
        "no reconcile failed on the way: {failed:?} ({done})"
    );
}

/// IAM is eventually consistent: for seconds after a role is created, Lambda refuses a function
/// that names it ("cannot be assumed by Lambda"). Here for 15 s: the pass waits it out, backing
/// off, and the pool becomes Ready with no failed reconcile. Before, the create retried any
/// invalid parameter for ten seconds, then failed the reconcile (`AwsError`).
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_role_not_yet_assumable_is_waited_out_within_the_pass() {
    let (admin, ns, op) = cluster::with_operator("role-iam", 300).await;
    let role = names(&ns, "fresh").role;
    let _slow_iam = behaviours::on(
        "role-unassumable",
        &role,
        serde_json::json!({"seconds": 15}),
    );
    apply_pool(
        &admin,
        &magic_link_pool(&ns, "fresh", serde_json::json!({})),
    )
    .await;
    let (_, took) = ready_pool(&admin, &ns, "fresh", READY_WITHIN).await;
    let done = behaviours::done(&role);
    println!("Ready in {took:?}: {done}");
    assert!(done["refused"].as_u64() >= Some(2), "{done}");
    assert_no_reconcile_failed(&op, &done).await;
}

/// A new account's SES (and SNS SMS) is in a sandbox: messages reach only verified recipients.
/// A pool there is Ready (nothing is wrong with it) and says so beside: `DeliveryRestricted`
/// with the fix, and a Warning event. Before, the pool was Ready and silent while no mail
/// arrived. Each pool lives in a region of its own, which the behaviour targets.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_pool_in_a_sandboxed_account_says_its_messages_are_restricted() {
    let (admin, ns, _op) = cluster::with_operator("sandbox", 300).await;
    for (kind, region, name, strategy) in [
        ("ses-sandbox", "ap-southeast-3", "mail", "magicLink"),
        ("sms-sandbox", "ap-southeast-4", "text", "smsOtp"),
    ] {
        behaviours::switch_on(kind, region, serde_json::json!({}));
        let spec = match strategy {
            "smsOtp" => serde_json::json!({"strategy": "smsOtp", "region": region}),
            _ => serde_json::json!({
                "strategy": "magicLink",
                "region": region,
                "sender": {"address": "no-reply@example.com"},
                "magicLink": {"redirectUrls": ["https://app.example.com/cb"]},
            }),
        };
        let pool: PasswordlessPool = serde_json::from_value(serde_json::json!({
            "apiVersion": "passwordless-operator.dev/v1alpha1",
            "kind": "PasswordlessPool",
            "metadata": {"name": name, "namespace": ns},
            "spec": spec,
        }))
        .unwrap();
        apply_pool(&admin, &pool).await;
        let (ready, _) = ready_pool(&admin, &ns, name, READY_WITHIN).await;
        let status = ready.status.unwrap();
        let restricted = status
            .conditions
            .iter()
            .find(|c| c.type_ == reasons::DELIVERY_RESTRICTED)
            .unwrap_or_else(|| panic!("{name}: no DeliveryRestricted in {:?}", status.conditions));
        assert!(
            restricted.message.contains("sandbox") && restricted.message.contains(region),
            "{}",
            restricted.message
        );
        let done = behaviours::done(region);
        behaviours::switch_off(region);
        assert!(done["read_in_sandbox"].as_u64() >= Some(1), "{done}");
        eventually("the Warning event", READY_WITHIN, || async {
            let events: kube::Api<k8s_openapi::api::events::v1::Event> =
                kube::Api::namespaced(admin.clone(), &ns);
            let list = events.list(&Default::default()).await.ok()?;
            list.items
                .iter()
                .any(|e| {
                    e.reason.as_deref() == Some(restricted.reason.as_str())
                        && e.type_.as_deref() == Some("Warning")
                })
                .then_some(())
        })
        .await;
    }
    // A pool in an account out of the sandbox says nothing of the kind.
    apply_pool(&admin, &magic_link_pool(&ns, "free", serde_json::json!({}))).await;
    let (free, _) = ready_pool(&admin, &ns, "free", READY_WITHIN).await;
    let conditions = free.status.unwrap().conditions;
    assert!(
        conditions
            .iter()
            .all(|c| c.type_ != reasons::DELIVERY_RESTRICTED),
        "{conditions:?}"
    );
}

/// An address's verification link lives 24 hours; unclicked, SES reads the identity `Failed`
/// for good. One this pool created two days ago is sent a new link (SES v1's
/// `VerifyEmailIdentity`: nothing deleted), once: the passes after it leave it alone within
/// the day, and the status says when the next goes. One a person created is never touched; its
/// status says how to send a link. Before, both stayed `Failed` for ever and the status said
/// only to confirm the email SES had sent.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn an_expired_sender_link_is_sent_again_at_most_once_a_day() {
    use passwordless_operator::names::VERIFICATION_SENT_TAG;
    let (admin, ns, _op) = cluster::with_operator("ses-failed", 3).await;
    for (name, ours) in [("ours", true), ("theirs", false)] {
        let sender = format!("{name}-{ns}@example.com");
        let pool = magic_link_pool(
            &ns,
            name,
            serde_json::json!({"sender": {"address": sender}}),
        );
        if ours {
            // Created by the pool's first pass, and (as two days later) its link expired.
            apply_pool(&admin, &pool).await;
            ready_pool(&admin, &ns, name, READY_WITHIN).await;
            let two_days_ago = passwordless_operator::state::unix_now() - 2 * 24 * 3600;
            common::tag_sender(&sender, VERIFICATION_SENT_TAG, &two_days_ago.to_string()).await;
        } else {
            let by_hand = passwordless_operator::aws::Clients::from_env(None)
                .await
                .unwrap();
            let created = by_hand.ses.create_email_identity().email_identity(&sender);
            created.send().await.unwrap();
        }
        let _failed = behaviours::on(
            "ses-pending",
            &sender,
            serde_json::json!({"seconds": 0, "then": "FAILED"}),
        );
        if !ours {
            apply_pool(&admin, &pool).await;
        }
        let expected = if ours {
            "has SES send a new one once a day (next at 20"
        } else {
            "this pool did not create it"
        };
        let (message, _) = eventually("the sender reported Failed", READY_WITHIN, || async {
            let (reason, message, _) = ready_reason(&admin, &ns, name).await?;
            (reason == reasons::SENDER_NOT_VERIFIED && message.contains(expected))
                .then_some(message)
        })
        .await;
        // Several resyncs later, still the one link.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let done = behaviours::done(&sender);
        println!("{name}: {message}: {done}");
        assert_eq!(
            done["link_sent"].as_u64().unwrap_or(0),
            u64::from(ours),
            "{done}"
        );
        assert!(done["read_failed"].as_u64() >= Some(2), "{done}");
    }
}

/// A domain identity is verified when SES finds its Easy DKIM records in the domain's DNS (up
/// to 72 hours). Until then the pool's status lists the three CNAME records to publish, built
/// from the tokens SES gave, and Ready says to publish them; once SES finds them the pool is
/// Ready and the records stay listed. Before, the records were shown nowhere.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn a_domain_sender_lists_its_dkim_records_until_verified() {
    let (admin, ns, _op) = cluster::with_operator("dkim", 3).await;
    // The test tenancy's domain kept for this test: a whole-domain sender must be listed.
    let domain = "dkim.example.com".to_owned();
    // Pending until the test has seen the records; then SES finds them.
    let unverified = behaviours::on(
        "ses-pending",
        &domain,
        serde_json::json!({"seconds": 3600, "then": "SUCCESS"}),
    );
    let sender = serde_json::json!({"address": format!("no-reply@{domain}"), "identity": "Domain"});
    let spec = serde_json::json!({ "sender": sender });
    apply_pool(&admin, &magic_link_pool(&ns, "dkim", spec)).await;
    let (message, _) = eventually("the DKIM records asked for", READY_WITHIN, || async {
        let (reason, message, _) = ready_reason(&admin, &ns, "dkim").await?;
        (reason == reasons::SENDER_NOT_VERIFIED && message.contains("DKIM")).then_some(message)
    })
    .await;
    assert!(
        message.contains("publish its 3 DKIM CNAME records"),
        "{message}"
    );
    let by_hand = passwordless_operator::aws::Clients::from_env(None)
        .await
        .unwrap();
    let identity = by_hand
        .ses
        .get_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    let tokens = identity.dkim_attributes().unwrap().tokens().to_vec();
    assert_eq!(tokens.len(), 3, "{tokens:?}");
    let expected: Vec<_> = tokens
        .iter()
        .map(|t| {
            (
                format!("{t}._domainkey.{domain}"),
                "CNAME".to_owned(),
                format!("{t}.dkim.amazonses.com"),
            )
        })
        .collect();
    let listed = |pool: &PasswordlessPool| -> Vec<_> {
        let sender = pool.status.as_ref().unwrap().sender.as_ref().unwrap();
        sender
            .dkim_records
            .iter()
            .map(|r| (r.name.clone(), r.type_.clone(), r.value.clone()))
            .collect()
    };
    let pending = get_pool(&admin, &ns, "dkim").await.unwrap();
    assert_eq!(listed(&pending), expected);

    let done = behaviours::done(&domain);
    assert!(done["read_pending"].as_u64() >= Some(1), "{done}");
    drop(unverified);
    let (ready, _) = ready_pool(&admin, &ns, "dkim", READY_WITHIN).await;
    assert_eq!(listed(&ready), expected);
    let status = ready.status.as_ref().unwrap();
    assert_eq!(
        status.sender.as_ref().unwrap().verification_status,
        "Success"
    );
}

//! Real sign-ins on stacks the operator builds: each test applies a PasswordlessPool spec with
//! `reconcile::apply` (as the CLI does), signs users in through ministack's Cognito, which
//! invokes our `bootstrap` as the pool's Lambda, and removes the stack with `reconcile::delete`.
//! So every setting a test relies on went through the operator's wiring: the trigger's
//! environment, the pool's triggers, the role and the table. Run by `make test` (the test bed
//! up, `make triggers` built); `cargo test` alone skips them.

#![allow(clippy::unwrap_used)] // test code: a panic is how a check fails

mod common;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::cluster::unique;
use common::stack::{Stack, Step, code_in, link_in};
use passwordless_operator::aws::AwsError;
use passwordless_operator::diff::Action;
use passwordless_operator::signin::{SignInError, ensure_user};
use passwordless_operator::stack::labels;
use passwordless_operator::state::unix_now;
use passwordless_triggers::token::{LinkClaims, sign};
use serde_json::json;

/// A magic-link pool; `link` adds one setting to its `magicLink` section.
fn magic_link(link: &str) -> String {
    format!(
        "strategy: magicLink
sender: {{address: no-reply@example.com}}
magicLink:
  redirectUrls: [https://app.example.com/auth/callback, http://localhost:3000/cb]
  {link}
email: {{appName: Test App}}
"
    )
}

/// An email-code pool; `extra` adds spec lines.
fn email_otp(extra: &str) -> String {
    format!(
        "strategy: emailOtp
sender: {{address: no-reply@example.com}}
email: {{appName: Test App}}
{extra}"
    )
}

fn user() -> String {
    format!("{}@example.com", unique("user"))
}

/// Asks for a link; returns the step the client was shown.
async fn request_link(stack: &Stack, username: &str) -> HashMap<String, String> {
    let (session, params) = stack.initiate(username).await.challenge();
    assert_eq!(params["step"], "PROVIDE_AUTH_PARAMETERS");
    stack
        .respond(username, &session, "request", &[("action", "request")])
        .await
        .challenge()
        .1
}

/// Opens a link "on another device": a fresh sign-in that answers with the token.
async fn redeem(stack: &Stack, username: &str, token: &str) -> Step {
    let (session, _) = stack.initiate(username).await.challenge();
    stack
        .respond(username, &session, token, &[("action", "redeem")])
        .await
}

fn token_of(link: &str) -> String {
    link.split_once('#')
        .expect("token in the fragment")
        .1
        .to_owned()
}

/// The claims a link carries (read, not verified: the trigger verifies).
fn claims_of(token: &str) -> LinkClaims {
    let body = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap()
}

/// The token of the newest link emailed to `username`.
fn latest_link(stack: &Stack, username: &str) -> String {
    token_of(&link_in(
        &stack.emails_to(username).last().expect("an email").1,
    ))
}

/// A Cognito-shaped event for the pool's trigger, as Cognito would send it.
fn event(
    stack: &Stack,
    source: &str,
    username: &str,
    request: serde_json::Value,
) -> serde_json::Value {
    json!({
        "version": "1", "triggerSource": source, "region": stack.outputs.region,
        "userPoolId": stack.pool_id, "userName": username,
        "callerContext": {"awsSdkVersion": "test", "clientId": stack.client_id},
        "request": request, "response": {}
    })
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn magic_link_signs_in_once_and_its_id_token_verifies() {
    let stack = Stack::apply(&magic_link("ttlSeconds: 900")).await;
    let alice = user();
    stack.add_user(&alice).await;

    let shown = request_link(&stack, &alice).await;
    assert_eq!(shown["step"], "LINK_SENT");
    assert!(shown["destination"].ends_with("***@example.com"));
    let emails = stack.emails_to(&alice);
    assert_eq!(emails.len(), 1, "exactly one email");
    let (subject, text) = &emails[0];
    assert_eq!(subject, "Your sign-in link for Test App");
    let link = link_in(text);

    let id_token = redeem(&stack, &alice, &token_of(&link)).await.id_token();
    let claims = stack.verified_claims(&id_token);
    assert_eq!(claims["email"], alice.as_str());
    assert_eq!(claims["aud"], stack.client_id.as_str());
    // PostAuthentication marks the email verified (receiving the link proved it). ministack
    // never invokes PostAuthentication, so the deployed function gets the event Cognito sends.
    assert_eq!(stack.attribute(&alice, "email_verified").await, None);
    let post_auth = event(
        &stack,
        "PostAuthentication_Authentication",
        &alice,
        json!({"newDeviceUsed": false, "userAttributes": {"email": alice}}),
    );
    stack.invoke(&post_auth).await;
    assert_eq!(
        stack.attribute(&alice, "email_verified").await.as_deref(),
        Some("true")
    );

    // The same link a second time: refused, and still only one email ever sent.
    assert!(
        matches!(redeem(&stack, &alice, &token_of(&link)).await, Step::Refused(code) if code == "NotAuthorizedException")
    );
    assert_eq!(stack.emails_to(&alice).len(), 1);
    stack.delete().await;
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn two_concurrent_redemptions_of_one_link_let_exactly_one_in() {
    let stack = Stack::apply(&magic_link("minIntervalSeconds: 60")).await;
    let bob = user();
    stack.add_user(&bob).await;
    request_link(&stack, &bob).await;
    let token = latest_link(&stack, &bob);
    let (a, b) = tokio::join!(redeem(&stack, &bob, &token), redeem(&stack, &bob, &token));
    let signed_in = [&a, &b]
        .iter()
        .filter(|s| matches!(s, Step::Tokens { .. }))
        .count();
    assert_eq!(signed_in, 1, "{a:?} / {b:?}");
    stack.delete().await;
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn a_link_older_than_the_spec_ttl_is_refused() {
    let stack = Stack::apply(&magic_link("ttlSeconds: 120")).await;
    let carol = user();
    stack.add_user(&carol).await;
    request_link(&stack, &carol).await;
    let issued = claims_of(&latest_link(&stack, &carol));
    assert_eq!(
        issued.exp - issued.iat,
        120,
        "the link lives spec.magicLink.ttlSeconds"
    );

    // The same link as the trigger would have issued it 121 seconds ago, with the key the
    // operator gave it.
    let key = stack.signing_key(0);
    assert_eq!(issued.kid, key.id);
    let iat = unix_now() - 121;
    let expired = sign(
        &key,
        &LinkClaims {
            iat,
            exp: iat + 120,
            nonce: unique("nonce"),
            ..issued
        },
    );
    assert!(matches!(
        redeem(&stack, &carol, &expired).await,
        Step::Refused(_)
    ));
    stack.delete().await;
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn a_link_in_flight_survives_a_signing_key_rotation() {
    let mut stack = Stack::apply(&magic_link("minIntervalSeconds: 0")).await;
    let dan = user();
    stack.add_user(&dan).await;
    request_link(&stack, &dan).await;
    let before = latest_link(&stack, &dan);
    let old_key = stack.signing_key(0);
    assert_eq!(claims_of(&before).kid, old_key.id);

    let changes = stack.rotate_signing_key().await;
    let changed: Vec<(&str, Action)> = changes
        .iter()
        .flat_map(|plan| plan.changes.iter().map(|c| (c.resource, c.action)))
        .collect();
    assert_eq!(
        changed,
        [(labels::KEYS_SECRET, Action::Update)],
        "a rotation changes only the keys' secret: the keys are not in the function"
    );
    let new_key = stack.signing_key(0);
    assert_ne!(new_key.id, old_key.id);
    assert_eq!(
        stack.signing_key(1).id,
        old_key.id,
        "the previous key is kept"
    );

    request_link(&stack, &dan).await;
    let after = latest_link(&stack, &dan);
    // A warm trigger signs with the keys it read until they are MAX_AGE_SECONDS old; both
    // keys are in the secret, so either signs a link that works.
    assert!(
        [&new_key.id, &old_key.id].contains(&&claims_of(&after).kid),
        "new links use a key the secret holds"
    );
    // The link sent before the rotation still signs in.
    let id_token = redeem(&stack, &dan, &before).await.id_token();
    assert_eq!(stack.verified_claims(&id_token)["email"], dan.as_str());
    stack.delete().await;
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn a_second_link_inside_the_cooldown_is_refused_without_an_email() {
    let stack = Stack::apply(&magic_link("minIntervalSeconds: 60")).await;
    let dave = user();
    stack.add_user(&dave).await;
    assert_eq!(request_link(&stack, &dave).await["step"], "LINK_SENT");
    let second = request_link(&stack, &dave).await;
    assert_eq!(second["step"], "COOLDOWN");
    let retry: u64 = second["retryAfterSeconds"].parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(stack.emails_to(&dave).len(), 1);
    stack.delete().await;
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn an_email_code_signs_in() {
    let stack = Stack::apply(&email_otp("otp: {length: 8}\n")).await;
    let erin = user();
    stack.add_user(&erin).await;
    let (session, shown) = stack.initiate(&erin).await.challenge();
    assert_eq!(shown["step"], "CODE_SENT");
    let (subject, text) = stack.emails_to(&erin).pop().expect("one email");
    assert_eq!(subject, "Your sign-in code for Test App");
    let code = code_in(&text, 8);
    let id_token = stack.respond(&erin, &session, &code, &[]).await.id_token();
    assert_eq!(stack.verified_claims(&id_token)["email"], erin.as_str());
    stack.delete().await;
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn wrong_codes_up_to_the_attempt_limit_end_the_sign_in() {
    let stack = Stack::apply(&email_otp("attemptLimit: 2\n")).await;
    let frank = user();
    stack.add_user(&frank).await;
    let (session, _) = stack.initiate(&frank).await.challenge();
    let code = code_in(&stack.emails_to(&frank)[0].1, 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (session, shown) = stack
        .respond(&frank, &session, wrong, &[])
        .await
        .challenge();
    assert_eq!(shown["step"], "CODE_SENT", "one more try, same code");
    let last = stack.respond(&frank, &session, wrong, &[]).await;
    assert!(
        matches!(&last, Step::Refused(code) if code == "NotAuthorizedException"),
        "{last:?}"
    );
    assert_eq!(
        stack.emails_to(&frank).len(),
        1,
        "retries never send another code"
    );
    stack.delete().await;
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn an_sms_code_signs_in() {
    let stack = Stack::apply("strategy: smsOtp\n").await;
    // ministack keeps every SMS it was asked to send: a fresh number each run.
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    let phone = format!("+1555{:07}", u64::from_le_bytes(random) % 10_000_000);
    stack.add_user(&phone).await;
    let (session, shown) = stack.initiate(&phone).await.challenge();
    assert_eq!(shown["step"], "CODE_SENT");
    let texts = stack.sms_to(&phone);
    assert_eq!(texts.len(), 1, "one SMS through SNS Publish");
    let code = code_in(&texts[0], 6);
    let id_token = stack.respond(&phone, &session, &code, &[]).await.id_token();
    assert_eq!(
        stack.verified_claims(&id_token)["phone_number"],
        phone.as_str()
    );
    stack.delete().await;
}

/// ministack answers CUSTOM_AUTH for an unknown user with UserNotFoundException before any
/// trigger runs (real Cognito, with PreventUserExistenceErrors, invokes the triggers with
/// userNotFound=true). So this drives the deployed function directly with both events.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn an_unknown_user_gets_the_same_answer_and_no_email() {
    let stack = Stack::apply(&magic_link("minIntervalSeconds: 0")).await;
    let known = user();
    let unknown = user();
    stack.add_user(&known).await;
    let create = |username: &str, not_found: bool| {
        event(
            &stack,
            "CreateAuthChallenge_Authentication",
            username,
            json!({
                "userAttributes": if not_found { json!({}) } else { json!({"email": username}) },
                "challengeName": "CUSTOM_CHALLENGE",
                "session": [{"challengeName": "CUSTOM_CHALLENGE", "challengeResult": false, "challengeMetadata": "{\"kind\":\"provideAuthParameters\"}"}],
                "clientMetadata": {"action": "request"},
                "userNotFound": not_found
            }),
        )
    };
    let for_known = stack.invoke(&create(&known, false)).await;
    let for_unknown = stack.invoke(&create(&unknown, true)).await;
    let shape = |v: &serde_json::Value| {
        let p = v["response"]["publicChallengeParameters"]
            .as_object()
            .unwrap()
            .clone();
        (
            p["step"].clone(),
            p.keys().cloned().collect::<Vec<_>>(),
            p["destination"]
                .as_str()
                .unwrap()
                .split('@')
                .nth(1)
                .map(str::to_owned),
        )
    };
    assert_eq!(shape(&for_known), shape(&for_unknown));
    assert_eq!(stack.emails_to(&known).len(), 1);
    assert_eq!(
        stack.emails_to(&unknown).len(),
        0,
        "no email for an unknown user"
    );
    stack.delete().await;
}

/// A new account's SES sends only to verified recipients. A sign-in whose email SES refuses
/// there (`MessageRejected`) is answered exactly as one whose email went out, so the client
/// learns nothing; the platform team does: the trigger logs the failure with its reason and the
/// pool, never the address or the code, and counts it in the `Deliveries` metric (CloudWatch's
/// embedded metric format: `Outcome: failed`, `Reason: MessageRejected`).
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn a_send_the_sandbox_refuses_is_answered_as_sent_and_told_only_to_the_platform_team() {
    // A region of this test's own: the sandbox is per account and region.
    const SANDBOXED: &str = "af-south-1";
    let _sandbox = common::behaviours::on("ses-sandbox", SANDBOXED, json!({}));
    let sandboxed = Stack::apply(&format!(
        "region: {SANDBOXED}
{}",
        email_otp("")
    ))
    .await;
    let free = Stack::apply(&email_otp("")).await;
    let erin = user();
    let mut shown = Vec::new();
    for stack in [&sandboxed, &free] {
        stack.add_user(&erin).await;
        let (_, params) = stack.initiate(&erin).await.challenge();
        shown.push(params);
    }
    let done = common::behaviours::done(SANDBOXED);
    assert_eq!(shown[0], shown[1], "the client is told the same either way");
    assert_eq!(shown[0]["step"], "CODE_SENT");
    assert_eq!(
        done["rejected"], 1,
        "SES refused the sandboxed send: {done}"
    );
    assert_eq!(
        free.emails_to(&erin).len(),
        1,
        "only the free account's email went out"
    );

    let function = sandboxed.names().function;
    let log = eventually_log(SANDBOXED, &function, "MessageRejected").await;
    let failure = log
        .iter()
        .find(|l| l.contains("send failed"))
        .unwrap_or_else(|| panic!("no failure logged: {log:#?}"));
    assert!(
        failure.contains(&sandboxed.pool_id) && failure.contains("MessageRejected"),
        "{failure}"
    );
    let metric: serde_json::Value = log
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .find(|l| l["Outcome"] == "failed")
        .unwrap_or_else(|| panic!("no Deliveries line for the failure: {log:#?}"));
    assert_eq!(metric["Reason"], "MessageRejected");
    assert_eq!(metric["UserPoolId"], sandboxed.pool_id.as_str());
    assert_eq!(metric["Deliveries"], 1);
    for line in &log {
        assert!(
            !line.contains(&erin),
            "the log never names the address: {line}"
        );
    }
    sandboxed.delete().await;
    free.delete().await;
}

/// The function's log in `region` once a line contains `needle` (logs arrive after the answer).
async fn eventually_log(region: &str, function: &str, needle: &str) -> Vec<String> {
    for _ in 0..50 {
        let log = common::logs::function_log(region, function);
        if log.iter().any(|l| l.contains(needle)) {
            return log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!(
        "{function}'s log never said {needle}: {:#?}",
        common::logs::function_log(region, function)
    )
}

/// SES slow to answer (8 s here; the message itself goes out at once). Cognito gives a trigger
/// 5 s and then retries it, so the trigger gives each AWS call 1.2 s: the sign-in's first step
/// answers within the budget, the message that went out carries the code, and the code signs
/// in. Before the budget the step took as long as SES did: on AWS, Cognito would have retried
/// the invocation while the first went on, a second send or a COOLDOWN for a code on its way.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn a_slow_send_is_cut_to_fit_cognitos_five_second_budget() {
    let stack = Stack::apply(&email_otp("")).await;
    let erin = user();
    stack.add_user(&erin).await;
    let slow = common::behaviours::on("ses-slow", &erin, json!({"seconds": 8}));
    let started = std::time::Instant::now();
    let (session, shown) = stack.initiate(&erin).await.challenge();
    let took = started.elapsed();
    let done = common::behaviours::done(&erin);
    drop(slow);
    println!("answered in {took:?}: {done}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    assert_eq!(shown["step"], "CODE_SENT");
    assert!(done["held"].as_u64() >= Some(1), "{done}");
    // A second copy (the SDK trying once more after an attempt past 0.7 s) is the same message.
    let codes: std::collections::BTreeSet<_> = stack
        .emails_to(&erin)
        .iter()
        .map(|(_, text)| code_in(text, 6))
        .collect();
    assert_eq!(codes.len(), 1, "{codes:?}");
    let code = codes.first().unwrap();
    let id_token = stack.respond(&erin, &session, code, &[]).await.id_token();
    assert_eq!(stack.verified_claims(&id_token)["email"], erin.as_str());
    stack.delete().await;
}

/// `signUp: AutoConfirm` lets SignUp create a confirmed user, its email not yet verified (the
/// first sign-in that proves it does that, in PostAuthentication); switching the spec to
/// `Disabled` closes SignUp again. ministack runs PreSignUp on SignUp (but does not enforce the
/// pool's AllowAdminCreateUserOnly), so both answers come from the deployed trigger.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn sign_up_follows_the_spec() {
    let mut stack = Stack::apply(&email_otp("signUp: AutoConfirm\n")).await;
    let grace = user();
    ensure_user(&stack.clients, &stack.client_id, &grace)
        .await
        .expect("SignUp is open");
    assert_ne!(
        stack.attribute(&grace, "email_verified").await.as_deref(),
        Some("true"),
        "PreSignUp confirms the user but verifies nothing it has not proven"
    );
    let (session, _) = stack.initiate(&grace).await.challenge();
    let code = code_in(&stack.emails_to(&grace)[0].1, 6);
    stack.respond(&grace, &session, &code, &[]).await.id_token();

    stack.update(&email_otp("signUp: Disabled\n")).await;
    let heidi = user();
    match ensure_user(&stack.clients, &stack.client_id, &heidi).await {
        Err(SignInError::Aws(AwsError::Call { code, message, .. })) => {
            assert_eq!(code, "UserLambdaValidationException", "{message}");
            assert!(message.contains("sign-up is disabled"), "{message}");
        }
        other => panic!("SignUp should be closed: {other:?}"),
    }
    stack.delete().await;
}

/// A fresh phone number: ministack keeps every SMS it was asked to send.
fn phone() -> String {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    format!("+1555{:07}", u64::from_le_bytes(random) % 10_000_000)
}

/// An anonymous loop starting sign-ins for one user: within the cooldown at most one email or
/// SMS goes out, for every strategy; the rest answer COOLDOWN with the seconds left.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn a_burst_of_sign_in_starts_delivers_one_message_for_every_strategy() {
    for strategy in ["emailOtp", "smsOtp", "magicLink"] {
        let spec = match strategy {
            "emailOtp" => email_otp("limits: {minIntervalSeconds: 60}\n"),
            "smsOtp" => "strategy: smsOtp\nlimits: {minIntervalSeconds: 60}\n".to_owned(),
            // `limits` wins over the older magicLink.minIntervalSeconds.
            _ => magic_link("minIntervalSeconds: 0") + "limits: {minIntervalSeconds: 60}\n",
        };
        let stack = Stack::apply(&spec).await;
        let who = if strategy == "smsOtp" {
            phone()
        } else {
            user()
        };
        stack.add_user(&who).await;
        let mut steps = Vec::new();
        for _ in 0..10 {
            let step = if strategy == "magicLink" {
                request_link(&stack, &who).await["step"].clone()
            } else {
                stack.initiate(&who).await.challenge().1["step"].clone()
            };
            steps.push(step);
        }
        let delivered = if strategy == "smsOtp" {
            stack.sms_to(&who).len()
        } else {
            stack.emails_to(&who).len()
        };
        assert_eq!(delivered, 1, "{strategy}: {steps:?}");
        assert_eq!(
            steps.iter().filter(|s| *s == "COOLDOWN").count(),
            9,
            "{strategy}: {steps:?}"
        );
        stack.delete().await;
    }
}

/// Wrong codes across sessions lock the user as configured, and the lock bounds guessing
/// without keeping the user out: after `maxFailures` wrong answers a code of the usual length is
/// refused even when right, but every new sign-in gets a hardened code (16 digits, beyond
/// guessing) that signs in, however many wrong answers others keep sending meanwhile.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn wrong_codes_lock_the_user_yet_a_hardened_code_still_signs_them_in() {
    let stack = Stack::apply(&email_otp(
        "attemptLimit: 1\nlimits: {minIntervalSeconds: 0, maxFailures: 3, lockoutSeconds: 600}\n",
    ))
    .await;
    let gina = user();
    stack.add_user(&gina).await;
    let last_email = || stack.emails_to(&gina).last().unwrap().1.clone();
    let wrong_answer = |code: &str| {
        if code.starts_with('0') {
            "1".repeat(code.len())
        } else {
            "0".repeat(code.len())
        }
    };
    // Gina's own session, its 6-digit code sent before the lock, answered only after it.
    let (before, shown) = stack.initiate(&gina).await.challenge();
    assert_eq!(shown["step"], "CODE_SENT");
    let early_code = code_in(&last_email(), 6);
    for attempt in 0..3 {
        let (session, shown) = stack.initiate(&gina).await.challenge();
        assert_eq!(shown["step"], "CODE_SENT", "attempt {attempt}");
        let code = code_in(&last_email(), 6);
        let refused = stack
            .respond(&gina, &session, &wrong_answer(&code), &[])
            .await;
        assert!(matches!(refused, Step::Refused(_)), "{refused:?}");
    }
    let refused = stack.respond(&gina, &before, &early_code, &[]).await;
    assert!(
        matches!(refused, Step::Refused(_)),
        "locked: the right 6-digit code is refused: {refused:?}"
    );
    // Someone keeps answering wrong during the lock: each start still sends (hardened) codes.
    for attempt in 0..2 {
        let (session, shown) = stack.initiate(&gina).await.challenge();
        assert_eq!(shown["step"], "CODE_SENT", "locked attempt {attempt}");
        let code = code_in(&last_email(), HARDENED);
        let refused = stack
            .respond(&gina, &session, &wrong_answer(&code), &[])
            .await;
        assert!(matches!(refused, Step::Refused(_)), "{refused:?}");
    }
    // Gina starts again and types the code she got: signed in.
    let (session, shown) = stack.initiate(&gina).await.challenge();
    assert_eq!(shown["step"], "CODE_SENT");
    let code = code_in(&last_email(), HARDENED);
    let id_token = stack.respond(&gina, &session, &code, &[]).await.id_token();
    assert_eq!(stack.verified_claims(&id_token)["email"], gina.as_str());
    // The sign-in cleared the count: codes have the usual length again.
    stack.initiate(&gina).await.challenge();
    code_in(&last_email(), 6);
    stack.delete().await;
}

/// Digits of a code sent during a lock.
const HARDENED: usize = passwordless_contract::HARDENED_OTP_LENGTH as usize;

/// A web ACL detached and never recorded (a crash between creating it and recording it) is
/// still deleted with its pool: a deletion looks for it by name.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn a_detached_unrecorded_web_acl_goes_with_its_pool() {
    let spec = format!(
        "strategy: emailOtp\nsender: {{address: {}@example.com}}\notp: {{}}\nrateLimit: {{requestsPerFiveMinutes: 100}}\n",
        unique("w")
    );
    let mut stack = Stack::apply(&spec).await;
    let names = stack.names();
    let pool_arn = stack.outputs.ids.user_pool_arn.clone().unwrap();
    common::waf::detach(&pool_arn).await;
    stack.forget_web_acl();
    stack.delete().await;
    assert!(
        !common::waf::exists(&names.web_acl).await,
        "the detached web ACL was deleted with the pool"
    );
}

/// The trigger boundary as the platform team creates it (`iam-policy --boundary`), in the
/// account of `c`; already there from an earlier run is as good.
async fn create_trigger_boundary(c: &passwordless_operator::aws::Clients) {
    use aws_sdk_iam::error::ProvideErrorMetadata;
    use passwordless_operator::desired::{DEFAULT_TRIGGER_BOUNDARY, trigger_boundary_policy};
    let partition = c.caller().await.unwrap().partition;
    let created = c
        .iam
        .create_policy()
        .policy_name(DEFAULT_TRIGGER_BOUNDARY)
        .policy_document(trigger_boundary_policy(&partition).to_string())
        .send()
        .await;
    if let Err(e) = created {
        assert_eq!(e.code(), Some("EntityAlreadyExists"), "{e:?}");
    }
}

/// The pool's trigger role carries the boundary of its account, and the policy IAM holds for it
/// lies within the published boundary for every request on the pool as it is tagged.
async fn assert_bounded(c: &passwordless_operator::aws::Clients, stack: &Stack) {
    use passwordless_operator::desired::{TriggerBoundary, trigger_boundary_policy};
    use passwordless_operator::iam_policy::within;
    let names = stack.names();
    let caller = c.caller().await.unwrap();
    let (_, role, _) = passwordless_operator::aws::iam::observe(c, &names.role, &names.role_policy)
        .await
        .unwrap()
        .expect("the trigger role");
    let want = TriggerBoundary::default().arn(&caller.partition, &caller.account);
    assert_eq!(role.permissions_boundary, Some(want), "{}", names.role);
    let pool = c
        .cognito
        .describe_user_pool()
        .user_pool_id(&stack.pool_id)
        .send()
        .await
        .unwrap();
    let facts = pool
        .user_pool()
        .and_then(|p| p.user_pool_tags())
        .into_iter()
        .flatten()
        .map(|(k, v)| (format!("aws:ResourceTag/{k}"), v.clone()))
        .collect();
    let boundary = trigger_boundary_policy(&caller.partition);
    assert_eq!(
        within(&boundary, &role.policy, &facts),
        Ok(()),
        "{}",
        role.policy
    );
}

/// `passwordless-operator iam-policy` grants exactly what a pool's whole life calls: every
/// operation made is granted (the policy never ends in AccessDenied), and every operation
/// granted was made (it allows nothing the operator never calls). The life: create (a new
/// sender, a web ACL), spec changes, drift repaired (the role's boundary taken off among it,
/// the keys secret scheduled for deletion), a new trigger build, a key rotation, deletion; a native pool with managed login and
/// passkeys, its domain drifting; an adoption. Each trigger role carries the boundary, and
/// the policy written for it lies within the published boundary.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn the_published_iam_policy_is_exactly_what_a_pools_life_calls() {
    use passwordless_operator::aws::Clients;
    use passwordless_operator::iam_policy::{action_of, actions};
    use std::collections::BTreeSet;
    // Out-of-band changes go through clients of their own: they are not the operator's calls.
    let by_hand = Clients::from_env(None).await.unwrap();
    create_trigger_boundary(&by_hand).await;
    let mut made = BTreeSet::new();
    let mut record = |calls: &passwordless_operator::aws::CallCounter| {
        made.extend(calls.snapshot().into_keys());
    };

    // A trigger pool, from a sender SES has never seen.
    let sender = format!("iam-{}@example.com", unique("s"));
    let link = |ttl: u32, rate: u32| {
        format!(
            "strategy: magicLink\nsender: {{address: {sender}}}\nmagicLink: {{redirectUrls: ['https://app.example.com/cb'], ttlSeconds: {ttl}}}\nrateLimit: {{requestsPerFiveMinutes: {rate}}}\n"
        )
    };
    let mut stack = Stack::apply(&link(300, 200)).await;
    assert_bounded(&by_hand, &stack).await;
    stack.update(&link(600, 100)).await;
    // The sender's link expired unclicked two days ago: SES sends a new one.
    let two_days_ago = unix_now() - 2 * 24 * 3600;
    let sent_at = passwordless_operator::names::VERIFICATION_SENT_TAG;
    common::tag_sender(&sender, sent_at, &two_days_ago.to_string()).await;
    let failed = json!({"seconds": 0, "then": "FAILED", "confirm_new_link": true});
    let expired = common::behaviours::on("ses-pending", &sender, failed);
    assert!(!stack.converge().await.is_empty(), "a new link was sent");
    assert_eq!(common::behaviours::done(&sender)["link_sent"], 1);
    drop(expired);
    // Drift: the role's trust policy and the invoke permission changed by hand, its boundary
    // taken off (as a role made before boundaries has none).
    let names = passwordless_operator::names::StackNames::new(
        "default",
        stack.pool.metadata.namespace.as_deref().unwrap(),
        "pool",
    );
    by_hand
        .iam
        .update_assume_role_policy()
        .role_name(&names.role)
        .policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    by_hand
        .iam
        .delete_role_permissions_boundary()
        .role_name(&names.role)
        .send()
        .await
        .unwrap();
    by_hand
        .lambda
        .remove_permission()
        .function_name(&names.function)
        .statement_id("passwordless-operator-cognito")
        .send()
        .await
        .unwrap();
    // The app client's token lifetime, and the web ACL detached (as a crash between creating
    // and associating it would leave it: found again by its recorded ARN).
    by_hand
        .cognito
        .update_user_pool_client()
        .user_pool_id(&stack.pool_id)
        .client_id(&stack.client_id)
        .client_name(&names.client)
        .access_token_validity(5)
        .send()
        .await
        .unwrap();
    let pool_arn = stack.outputs.ids.user_pool_arn.clone().unwrap();
    common::waf::detach(&pool_arn).await;
    // The keys secret scheduled for deletion (restored, not created again).
    by_hand
        .secrets
        .delete_secret()
        .secret_id(&names.keys_secret)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let repaired = stack.converge().await;
    assert!(!repaired.is_empty(), "the drift was repaired");
    assert_bounded(&by_hand, &stack).await;
    stack.deploy_new_build().await;
    stack.rotate_signing_key().await;
    // Detached again and not recorded (a crash between creating and recording it): the
    // create finds it by name and associates it again.
    common::waf::detach(&pool_arn).await;
    stack.forget_web_acl();
    assert!(
        !stack.converge().await.is_empty(),
        "the web ACL re-associated"
    );
    let calls = stack.clients.calls.clone();
    stack.delete().await;
    record(&calls);

    // A native pool with passkeys and managed login; its domain drifts to the classic UI.
    let prefix = format!("iam-{}", unique("d"));
    let native = format!(
        "strategy: native\nsender: {{address: {sender}}}\nnative: {{allowedFirstAuthFactors: [EMAIL_OTP, WEB_AUTHN], webAuthnRelyingPartyId: example.com}}\nmanagedLogin: {{domainPrefix: {prefix}, callbackUrls: ['https://app.example.com/cb']}}\n"
    );
    let mut stack = Stack::apply(&native).await;
    by_hand
        .cognito
        .update_user_pool_domain()
        .user_pool_id(&stack.pool_id)
        .domain(&prefix)
        .managed_login_version(1)
        .send()
        .await
        .unwrap();
    stack.converge().await;
    let calls = stack.clients.calls.clone();
    stack.delete().await;
    record(&calls);

    // An SMS pool: its channel's sandbox is asked too.
    let sms = Stack::apply("strategy: smsOtp\n").await;
    let calls = sms.clients.calls.clone();
    sms.delete().await;
    record(&calls);

    // An adoption (never deleted: the pool and the trigger it runs stay).
    let hand_made = by_hand
        .cognito
        .create_user_pool()
        .pool_name(format!("legacy-{}", unique("p")))
        .username_attributes(aws_sdk_cognitoidentityprovider::types::UsernameAttributeType::Email)
        .policies(
            aws_sdk_cognitoidentityprovider::types::UserPoolPolicyType::builder()
                .password_policy(
                    aws_sdk_cognitoidentityprovider::types::PasswordPolicyType::builder()
                        .minimum_length(16)
                        .require_lowercase(true)
                        .require_uppercase(true)
                        .require_numbers(true)
                        .require_symbols(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let hand_made = hand_made.user_pool().unwrap().id().unwrap().to_owned();
    let stack = Stack::apply(&format!(
        "{}adopt: {{userPoolId: {hand_made}}}\n",
        link(600, 100).replace("rateLimit: {requestsPerFiveMinutes: 100}\n", "")
    ))
    .await;
    assert_bounded(&by_hand, &stack).await;
    record(&stack.clients.calls);

    let granted: BTreeSet<String> = actions().into_iter().collect();
    let mut called = BTreeSet::new();
    for (service, operation) in &made {
        let action = action_of(service, operation)
            .unwrap_or_else(|| panic!("{service} {operation} is not in the policy"));
        assert!(granted.contains(&action), "{action}");
        called.insert(action);
    }
    let implied: BTreeSet<String> = passwordless_operator::iam_policy::IMPLIED
        .iter()
        .map(|i| i.action.to_owned())
        .collect();
    let never: Vec<_> = granted
        .difference(&called)
        .filter(|a| !implied.contains(*a))
        .collect();
    assert!(never.is_empty(), "granted but never called: {never:?}");
}

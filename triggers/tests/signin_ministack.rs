//! Real sign-ins through ministack's Cognito, which invokes our `bootstrap` as a Lambda.
//! Run by `make test` (the test bed up, `make triggers` built); `cargo test` alone skips them.

#![allow(clippy::unwrap_used)] // test code: a panic is how a check fails

mod common;

use common::{CURRENT_KEY, PREVIOUS_KEY, Stack, Step, aws, code_in, link_in, provision, unique};
use passwordless_triggers::config::{SigningKey, vars};
use passwordless_triggers::token::{LinkClaims, sign};
use serde_json::json;

const IGNORE: &str = "needs the test bed; run by `make test`";

fn user() -> String {
    format!("user-{}@example.com", unique())
}

/// Asks for a link; returns the step the client was shown.
async fn request_link(stack: &Stack, username: &str) -> std::collections::HashMap<String, String> {
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

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn magic_link_signs_in_once_and_its_id_token_verifies() {
    let _ = IGNORE;
    let stack = provision(&aws().await, "magicLink", &[]).await;
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
    assert!(claims["iss"].as_str().unwrap().ends_with(&stack.pool_id));
    // PostAuthentication marks the email verified (receiving the link proved it). ministack
    // never invokes PostAuthentication, so the deployed function gets the event Cognito sends.
    assert_eq!(stack.attribute(&alice, "email_verified").await, None);
    let post_auth = json!({
        "version": "1", "triggerSource": "PostAuthentication_Authentication", "region": "us-east-1",
        "userPoolId": stack.pool_id, "userName": alice,
        "callerContext": {"awsSdkVersion": "test", "clientId": stack.client_id},
        "request": {"newDeviceUsed": false, "userAttributes": {"email": alice}}, "response": {}
    });
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
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn two_concurrent_redemptions_of_one_link_let_exactly_one_in() {
    let stack = provision(&aws().await, "magicLink", &[]).await;
    let bob = user();
    stack.add_user(&bob).await;
    request_link(&stack, &bob).await;
    let token = token_of(&link_in(&stack.emails_to(&bob)[0].1));
    let (a, b) = tokio::join!(redeem(&stack, &bob, &token), redeem(&stack, &bob, &token));
    let signed_in = [&a, &b]
        .iter()
        .filter(|s| matches!(s, Step::Tokens { .. }))
        .count();
    assert_eq!(signed_in, 1, "{a:?} / {b:?}");
}

fn forged_link(key: (&str, &[u8; 32]), stack: &Stack, username: &str, exp_offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = LinkClaims {
        kid: key.0.to_owned(),
        sub: username.to_owned(),
        pool: stack.pool_id.clone(),
        client: stack.client_id.clone(),
        iat: now - 1000,
        exp: now.checked_add_signed(exp_offset).unwrap(),
        nonce: unique(),
    };
    sign(
        &SigningKey {
            id: key.0.to_owned(),
            secret: key.1.to_vec(),
        },
        &claims,
    )
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn an_expired_link_is_refused_and_one_from_the_previous_key_still_works() {
    let stack = provision(&aws().await, "magicLink", &[]).await;
    let carol = user();
    stack.add_user(&carol).await;
    let expired = forged_link(CURRENT_KEY, &stack, &carol, -1);
    assert!(matches!(
        redeem(&stack, &carol, &expired).await,
        Step::Refused(_)
    ));
    let rotated = forged_link(PREVIOUS_KEY, &stack, &carol, 600);
    redeem(&stack, &carol, &rotated).await.id_token();
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn a_second_link_inside_the_cooldown_is_refused_without_an_email() {
    let stack = provision(
        &aws().await,
        "magicLink",
        &[(vars::MIN_INTERVAL_SECONDS, "60")],
    )
    .await;
    let dave = user();
    stack.add_user(&dave).await;
    assert_eq!(request_link(&stack, &dave).await["step"], "LINK_SENT");
    let second = request_link(&stack, &dave).await;
    assert_eq!(second["step"], "COOLDOWN");
    let retry: u64 = second["retryAfterSeconds"].parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(stack.emails_to(&dave).len(), 1);
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn an_email_code_signs_in() {
    let stack = provision(&aws().await, "emailOtp", &[(vars::OTP_LENGTH, "8")]).await;
    let erin = user();
    stack.add_user(&erin).await;
    let (session, shown) = stack.initiate(&erin).await.challenge();
    assert_eq!(shown["step"], "CODE_SENT");
    let (subject, text) = stack.emails_to(&erin).pop().expect("one email");
    assert_eq!(subject, "Your sign-in code for Test App");
    let code = code_in(&text, 8);
    let id_token = stack.respond(&erin, &session, &code, &[]).await.id_token();
    assert_eq!(stack.verified_claims(&id_token)["email"], erin.as_str());
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn wrong_codes_up_to_the_attempt_limit_end_the_sign_in() {
    let stack = provision(&aws().await, "emailOtp", &[(vars::ATTEMPT_LIMIT, "2")]).await;
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
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn an_sms_code_signs_in() {
    let stack = provision(&aws().await, "smsOtp", &[]).await;
    let digits: String = unique()
        .chars()
        .filter(char::is_ascii_digit)
        .chain("1234567".chars())
        .take(7)
        .collect();
    let phone = format!("+1555{digits}");
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
}

/// ministack answers CUSTOM_AUTH for an unknown user with UserNotFoundException before any
/// trigger runs (real Cognito, with PreventUserExistenceErrors, invokes the triggers with
/// userNotFound=true). So this drives the deployed function directly with both events.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn an_unknown_user_gets_the_same_answer_and_no_email() {
    let stack = provision(
        &aws().await,
        "magicLink",
        &[(vars::MIN_INTERVAL_SECONDS, "0")],
    )
    .await;
    let known = user();
    let unknown = user();
    stack.add_user(&known).await;
    let event = |username: &str, not_found: bool| {
        json!({
            "version": "1", "triggerSource": "CreateAuthChallenge_Authentication", "region": "us-east-1",
            "userPoolId": stack.pool_id, "userName": username,
            "callerContext": {"awsSdkVersion": "test", "clientId": stack.client_id},
            "request": {
                "userAttributes": if not_found { json!({}) } else { json!({"email": username}) },
                "challengeName": "CUSTOM_CHALLENGE",
                "session": [{"challengeName": "CUSTOM_CHALLENGE", "challengeResult": false, "challengeMetadata": "{\"kind\":\"provideAuthParameters\"}"}],
                "clientMetadata": {"action": "request"},
                "userNotFound": not_found
            },
            "response": {}
        })
    };
    let for_known = stack.invoke(&event(&known, false)).await;
    let for_unknown = stack.invoke(&event(&unknown, true)).await;
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
}

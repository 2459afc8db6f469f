//! Property tests: events, tokens and client metadata as an attacker (or a broken client)
//! would send them, generated and mutated. The trigger must answer or refuse, never panic, and
//! never let anyone in who did not hold the genuine link or code.
//!
//! `PWP_PROPTEST_CASES` sets the cases per property (default 2000, `make fuzz` 20000); each
//! property prints how many it ran (`--nocapture` shows it).

use std::sync::atomic::{AtomicU64, Ordering};

use aws_lambda_events::event::cognito::CognitoEventUserPoolsVerifyAuthChallenge;
use proptest::prelude::*;
use proptest::test_runner::{Config as Cases, TestRunner};
use serde_json::{Map, Value, json};

use super::testing::{Fake, Outbox, fixture, keyset, ports};
use super::{PRIVATE_ROUND, Round};
use crate::config::tests::config;
use crate::dispatch::handle;
use crate::token::{Audience, LinkClaims, code_mac, destination_hash, sign, verify};

const NOW: u64 = 1_700_000_000;
const POOL: &str = "us-east-1_TestPool";
const ALICE: &str = "alice@example.com";
const SOURCES: [&str; 7] = [
    "DefineAuthChallenge_Authentication",
    "CreateAuthChallenge_Authentication",
    "VerifyAuthChallengeResponse_Authentication",
    "PreSignUp_SignUp",
    "PostAuthentication_Authentication",
    passwordless_contract::probe::TRIGGER_SOURCE,
    "CustomMessage_SignUp",
];
/// Keys the trigger reads, so generated objects reach past the first missing field.
const KEYS: [&str; 14] = [
    "session",
    "challengeName",
    "challengeResult",
    "challengeMetadata",
    "challengeAnswer",
    "privateChallengeParameters",
    "round",
    "clientMetadata",
    "action",
    "redirectUrl",
    "userAttributes",
    "email",
    "phone_number",
    "userNotFound",
];

fn cases() -> u32 {
    std::env::var("PWP_PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000)
}

/// The trigger's own flavour: one thread, as in `main`.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Runs `property` over `strategy` for [`cases`] cases on one single-threaded runtime, and
/// prints the count.
fn check<S: Strategy>(
    name: &str,
    strategy: S,
    property: impl Fn(&tokio::runtime::Runtime, S::Value) -> Result<(), TestCaseError>,
) {
    let runtime = runtime();
    let ran = AtomicU64::new(0);
    let mut runner = TestRunner::new(Cases {
        cases: cases(),
        failure_persistence: None,
        ..Cases::default()
    });
    runner
        .run(&strategy, |value| {
            ran.fetch_add(1, Ordering::Relaxed);
            property(&runtime, value)
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    println!(
        "{name}: {} cases run, none failed",
        ran.load(Ordering::Relaxed)
    );
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z@._-]{0,12}",
        any::<String>(),
        "\\PC{0,40}",
        Just("e30.e30".to_owned()),
        (1usize..3000).prop_map(|n| "\u{1F600}".repeat(n)),
    ]
}

/// Any JSON, its object keys often ones the trigger reads.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            proptest::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
            text()
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn event() -> impl Strategy<Value = Value> {
    let source = prop_oneof![
        proptest::sample::select(SOURCES.to_vec()).prop_map(str::to_owned),
        text()
    ];
    (source, json_value(), json_value(), json_value()).prop_map(
        |(source, user, request, response)| {
            json!({
                "version": "1",
                "triggerSource": source,
                "region": "us-east-1",
                "userPoolId": POOL,
                "userName": user,
                "callerContext": {"clientId": "testclient"},
                "request": request,
                "response": response,
            })
        },
    )
}

/// Tokens are issued only on Cognito's word that the last round was answered right.
fn issued_only_after_a_right_answer(event: &Value, answer: &Value) -> bool {
    if answer.pointer("/response/issueTokens") != Some(&Value::Bool(true)) {
        return true;
    }
    let last = event
        .pointer("/request/session")
        .and_then(Value::as_array)
        .and_then(|rounds| rounds.iter().rev().find(|r| !r.is_null()));
    last.and_then(|r| r.get("challengeResult")) == Some(&Value::Bool(true))
}

#[test]
fn any_event_is_answered_or_refused_never_with_a_panic_or_a_grant() {
    check("arbitrary events", event(), |runtime, event| {
        for strategy in ["magicLink", "emailOtp", "smsOtp"] {
            let outbox = Outbox::default();
            let fake = Fake {
                outbox: &outbox,
                now: NOW,
                byte: 7,
            };
            let answer = runtime.block_on(handle(&config(strategy), &ports(&fake), event.clone()));
            if let Ok(answer) = answer {
                prop_assert!(
                    answer.pointer("/response/answerCorrect") != Some(&Value::Bool(true)),
                    "{strategy}: {answer}"
                );
                prop_assert!(
                    issued_only_after_a_right_answer(&event, &answer),
                    "{strategy}: {answer}"
                );
                prop_assert!(
                    outbox.sent() <= 1,
                    "{strategy}: one event, at most one message"
                );
            }
        }
        Ok(())
    });
}

/// A genuine link for Alice, signed with the current key.
fn genuine_link() -> String {
    let keys = keyset();
    let key = keys.current();
    sign(
        key,
        &LinkClaims {
            kid: key.id.clone(),
            sub: ALICE.to_owned(),
            pool: POOL.to_owned(),
            client: "testclient".to_owned(),
            iat: NOW - 10,
            exp: NOW + 600,
            nonce: "MTIzNDU2Nzg5MDEyMzQ1Ng".to_owned(),
            dest: destination_hash(key, ALICE),
        },
    )
}

/// `original` changed somewhere: a byte replaced, inserted or removed, or cut short.
fn altered(original: String) -> impl Strategy<Value = String> {
    let len = original.len();
    (0..=len, any::<u8>(), 0u8..4).prop_filter_map("unchanged", move |(at, byte, how)| {
        let mut bytes = original.clone().into_bytes();
        let at = at.min(bytes.len());
        match how {
            0 if at < bytes.len() => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
        let s = String::from_utf8_lossy(&bytes).into_owned();
        (s != original).then_some(s)
    })
}

/// Verify's answer to `answer` in a round of `round`, for the strategy.
fn answered(
    runtime: &tokio::runtime::Runtime,
    strategy: &str,
    round: &Round,
    answer: &str,
) -> bool {
    let mut event: CognitoEventUserPoolsVerifyAuthChallenge = fixture("verify_link");
    event.request.challenge_answer = Some(Value::String(answer.to_owned()));
    event
        .request
        .private_challenge_parameters
        .insert(PRIVATE_ROUND.to_owned(), round.encode());
    let outbox = Outbox::default();
    let fake = Fake {
        outbox: &outbox,
        now: NOW,
        byte: 7,
    };
    runtime
        .block_on(super::verify::verify(
            &config(strategy),
            &ports(&fake),
            event,
        ))
        .map(|e| e.response.answer_correct)
        .unwrap_or(false)
}

#[test]
fn a_link_altered_anywhere_is_refused() {
    let runtime = runtime();
    let link = genuine_link();
    assert!(
        answered(&runtime, "magicLink", &Round::ProvideAuthParameters, &link),
        "the genuine link signs in"
    );
    let keys = keyset();
    let audience = Audience {
        username: ALICE,
        pool: POOL,
        client: "testclient",
    };
    check("altered links", altered(link), |runtime, forged| {
        prop_assert!(verify(keys.current(), &forged, &audience, NOW).is_err());
        prop_assert!(!answered(
            runtime,
            "magicLink",
            &Round::ProvideAuthParameters,
            &forged
        ));
        Ok(())
    });
}

#[test]
fn any_answer_but_the_code_is_refused() {
    let runtime = runtime();
    let keys = keyset();
    let round = Round::Code {
        kid: keys.current().id.clone(),
        exp: NOW + 300,
        mac: code_mac(keys.current(), ALICE, "123456"),
        link: false,
        dest: destination_hash(keys.current(), ALICE),
        hardened: false,
    };
    assert!(
        answered(&runtime, "emailOtp", &round, "123456"),
        "the code signs in"
    );
    let answers = prop_oneof![text(), altered("123456".to_owned()), "[0-9]{6}"];
    check("wrong codes", answers, |runtime, answer| {
        // Surrounding whitespace is a typing slip, trimmed on purpose (`code_matches`).
        prop_assume!(answer.trim() != "123456");
        prop_assert!(
            !answered(runtime, "emailOtp", &round, &answer),
            "{answer:?}"
        );
        Ok(())
    });
}

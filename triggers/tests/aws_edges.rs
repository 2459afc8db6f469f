//! The trigger's AWS edges against the test bed's emulators: the state table's conditional
//! writes (cooldown, the failure record replaced only over what was read, single use), the
//! failure budget under parallel wrong answers through the Verify flow, and the signing keys'
//! secret.
//! `make test` runs these (`--include-ignored`) with the test bed's environment.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use aws_lambda_events::event::cognito::CognitoEventUserPoolsVerifyAuthChallenge;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use passwordless_contract::table::PARTITION_KEY;
use passwordless_triggers::config::{Config, vars};
use passwordless_triggers::delivery::aws::{DynamoStore, Lazy, Sdk, SecretsManagerKeys};
use passwordless_triggers::delivery::system::{OsEntropy, SystemClock};
use passwordless_triggers::delivery::{
    Clock, DeliveryError, Directory, Failures, Mailer, SecretSource, SendPermit, SendRecord,
    SmsSender, StateStore, Verified,
};
use passwordless_triggers::flows::verify::verify;
use passwordless_triggers::flows::{PRIVATE_ROUND, Round};
use passwordless_triggers::keys::{KeyRing, parse};
use passwordless_triggers::latency::SendLatency;
use passwordless_triggers::ports::Wired;
use passwordless_triggers::template::Email;
use passwordless_triggers::token::{code_mac, destination_hash, user_hash};
use serde_json::json;

const KEYS: &str = "k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The test bed's AWS configuration; refuses anything but a loopback endpoint.
async fn testbed() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("needs the test bed's ministack (AWS_ENDPOINT_URL); run by `make test`");
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "the test bed is on loopback only: {endpoint}"
    );
    aws_config::load_from_env().await
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The test bed's two DynamoDB emulators, both behind the model check: ministack (what the
/// deployed triggers use) and moto (whose condition expressions follow DynamoDB's closely).
async fn emulators() -> Vec<(&'static str, aws_config::SdkConfig)> {
    let ministack = testbed().await;
    let moto = std::env::var("PWP_MOTO_ENDPOINT_URL")
        .expect("needs the test bed's moto (PWP_MOTO_ENDPOINT_URL); run by `make test`");
    let moto = aws_config::from_env().endpoint_url(moto).load().await;
    vec![("ministack", ministack), ("moto", moto)]
}

/// A new state table, as the operator makes it (partition key `pk`).
async fn state_table(aws: &aws_config::SdkConfig) -> String {
    let table = unique("pwp-trigger-edges");
    aws_sdk_dynamodb::Client::new(aws)
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(PARTITION_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(PARTITION_KEY)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    table
}

async fn drop_table(aws: &aws_config::SdkConfig, table: &str) {
    aws_sdk_dynamodb::Client::new(aws)
        .delete_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
}

fn store(aws: &aws_config::SdkConfig, table: &str) -> DynamoStore {
    DynamoStore {
        client: Lazy::new(&Sdk::loaded(aws.clone()), aws_sdk_dynamodb::Client::new),
        table: table.to_owned(),
    }
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn the_state_table_cools_down_replaces_only_what_was_read_and_spends_once() {
    for (emulator, aws) in emulators().await {
        let table = state_table(&aws).await;
        let store = store(&aws, &table);

        // Cooldown: one send per interval, the refusal says how long to wait.
        let a = SendRecord {
            request: "a",
            round: "round-of-a",
        };
        let b = SendRecord {
            request: "b",
            round: "round-of-b",
        };
        assert_eq!(
            store.permit_send("u1", 1000, 60, &a).await.unwrap(),
            SendPermit::Granted,
            "{emulator}"
        );
        assert_eq!(
            store.permit_send("u1", 1030, 60, &b).await.unwrap(),
            SendPermit::CoolingDown {
                retry_after_seconds: 30
            },
            "{emulator}"
        );
        // Cognito retrying request a (the first invocation never answered): the retry made a
        // round of its own, and gets the first's again, no cooldown.
        let a_retried = SendRecord {
            request: "a",
            round: "round-of-the-retry",
        };
        assert_eq!(
            store.permit_send("u1", 1005, 60, &a_retried).await.unwrap(),
            SendPermit::Repeat {
                round: "round-of-a".into()
            },
            "{emulator}"
        );
        // The store's own retry of the first write (it went through, its answer was lost):
        // still granted, the send still to make.
        assert_eq!(
            store.permit_send("u1", 1000, 60, &a).await.unwrap(),
            SendPermit::Granted,
            "{emulator}"
        );
        // Once answered, the same request (a new round) is a person starting again.
        store.mark_answered("u1", "a").await.unwrap();
        assert_eq!(
            store.permit_send("u1", 1006, 60, &a_retried).await.unwrap(),
            SendPermit::CoolingDown {
                retry_after_seconds: 54
            },
            "{emulator}"
        );
        assert_eq!(
            store.permit_send("u1", 1060, 60, &a_retried).await.unwrap(),
            SendPermit::Granted,
            "{emulator}"
        );
        // Without a cooldown, a retry is still told apart from a new request.
        let c = SendRecord {
            request: "c",
            round: "round-of-c",
        };
        assert_eq!(
            store.permit_send("u2", 2000, 0, &c).await.unwrap(),
            SendPermit::Granted,
            "{emulator}"
        );
        let c_retried = SendRecord {
            request: "c",
            round: "round-of-the-retry-of-c",
        };
        assert_eq!(
            store.permit_send("u2", 2003, 0, &c_retried).await.unwrap(),
            SendPermit::Repeat {
                round: "round-of-c".into()
            },
            "{emulator}"
        );
        assert_eq!(
            store.permit_send("u2", 2004, 0, &b).await.unwrap(),
            SendPermit::Granted,
            "{emulator}"
        );

        // Failures: a record is written only over exactly the record read.
        let none = Failures::default();
        let at = |count, last_at| Failures { count, last_at };
        assert_eq!(store.failures("u1").await.unwrap(), none, "{emulator}");
        // (seen, next, written)
        let steps = [
            (none, Some(at(1, 2000)), true),
            (none, Some(at(1, 2001)), false),
            (at(1, 1999), Some(at(2, 2001)), false),
            (at(2, 2000), Some(at(2, 2001)), false),
            (at(1, 2000), Some(at(2, 2001)), true),
            (at(1, 2000), None, false),
            (at(2, 2001), Some(at(3, 2002)), true),
        ];
        for (seen, next, written) in steps {
            assert_eq!(
                store
                    .replace_failures("u1", seen, next, 86_400)
                    .await
                    .unwrap(),
                written,
                "{emulator}: {seen:?} -> {next:?}"
            );
        }
        assert_eq!(
            store.failures("u1").await.unwrap(),
            at(3, 2002),
            "{emulator}"
        );
        // Cleared only over what was read, too.
        assert!(
            !store
                .replace_failures("u1", at(2, 2001), None, 86_400)
                .await
                .unwrap()
        );
        assert!(
            store
                .replace_failures("u1", at(3, 2002), None, 86_400)
                .await
                .unwrap()
        );
        assert_eq!(store.failures("u1").await.unwrap(), none, "{emulator}");

        // Single use.
        assert!(store.consume_nonce("n1", 5000).await.unwrap(), "{emulator}");
        assert!(
            !store.consume_nonce("n1", 5000).await.unwrap(),
            "{emulator}"
        );

        drop_table(&aws, &table).await;
    }
}

/// The signing keys' secret, for the flow below: a constant.
struct StaticKeys;
impl SecretSource for StaticKeys {
    async fn secret_string(&self) -> Result<String, DeliveryError> {
        Ok(KEYS.to_owned())
    }
}

/// Verify never sends or touches the directory.
struct Nothing;
impl Mailer for Nothing {
    async fn send_email(&self, _: &str, _: &Email) -> Result<(), DeliveryError> {
        Err(DeliveryError::Email("Verify does not send".to_owned()))
    }
}
impl SmsSender for Nothing {
    async fn send_sms(&self, _: &str, _: &str) -> Result<(), DeliveryError> {
        Err(DeliveryError::Sms("Verify does not send".to_owned()))
    }
}
impl Directory for Nothing {
    async fn mark_verified(&self, _: &str, _: &str, _: Verified) -> Result<(), DeliveryError> {
        Err(DeliveryError::Directory(
            "AdminUpdateUserAttributes",
            "unused".to_owned(),
        ))
    }
}

/// Many sessions answer wrong codes for one user at the same moment, through the Verify flow
/// and the real state table: the answers are settled one at a time, so exactly `maxFailures`
/// of them are checked (and counted) and every other one is refused unchecked. Then even the
/// right code is refused: the budget is spent.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn parallel_wrong_answers_spend_the_budget_and_nothing_past_it() {
    const POOL: &str = "us-east-1_EdgePool";
    const USER: &str = "alice@example.com";
    const PARALLEL: usize = 24;
    for (emulator, aws) in emulators().await {
        let table = state_table(&aws).await;
        let config = Arc::new(
            Config::from_lookup(|name| {
                let value = match name {
                    vars::STRATEGY => "emailOtp",
                    vars::SENDER_ADDRESS => "no-reply@example.com",
                    vars::SIGNING_KEYS_SECRET => "unused: the keys are StaticKeys",
                    vars::MAX_FAILURES => "5",
                    vars::TABLE_NAME => table.as_str(),
                    _ => return None,
                };
                Some(value.to_owned())
            })
            .unwrap(),
        );
        let ports = Arc::new(Wired {
            mailer: Nothing,
            sms: Nothing,
            store: store(&aws, &table),
            directory: Nothing,
            clock: SystemClock,
            entropy: OsEntropy,
            keys: KeyRing::new(StaticKeys),
            send_latency: SendLatency::default(),
            outcomes: passwordless_triggers::outcomes::Outcomes::default(),
        });
        let keys = parse(KEYS).unwrap();
        let key = keys.current();
        let now = SystemClock.now();
        let round = Round::Code {
            kid: key.id.clone(),
            exp: now + 300,
            mac: code_mac(key, USER, "123456"),
            link: false,
            dest: destination_hash(key, USER),
            hardened: false,
        };
        let answer = |code: &str| {
            serde_json::from_value::<CognitoEventUserPoolsVerifyAuthChallenge>(json!({
                "version": "1",
                "triggerSource": "VerifyAuthChallengeResponse_Authentication",
                "region": "us-east-1",
                "userPoolId": POOL,
                "userName": USER,
                "callerContext": {"clientId": "edgeclient"},
                "request": {
                    "userAttributes": {"email": USER},
                    "privateChallengeParameters": {PRIVATE_ROUND: round.encode()},
                    "challengeAnswer": code,
                    "userNotFound": false
                },
                "response": {}
            }))
            .unwrap()
        };
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..PARALLEL {
            let (config, ports, event) = (config.clone(), ports.clone(), answer("000000"));
            tasks.spawn(async move { verify(&config, &*ports, event).await.unwrap() });
        }
        for out in tasks.join_all().await {
            assert!(!out.response.answer_correct, "{emulator}");
        }
        let user = user_hash(key, POOL, USER);
        let spent = ports.store.failures(&user).await.unwrap().count;
        assert_eq!(
            spent, config.max_failures,
            "{emulator}: {PARALLEL} wrong answers at once, each counted only if checked"
        );
        let right = verify(&config, &*ports, answer("123456")).await.unwrap();
        assert!(
            !right.response.answer_correct,
            "{emulator}: the budget is spent, so even the right code is refused"
        );
        drop_table(&aws, &table).await;
    }
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn the_keys_secret_is_read_and_errors_carry_only_the_aws_code() {
    let aws = testbed().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let name = unique("pwp-trigger-keys");
    let created = secrets
        .create_secret()
        .name(&name)
        .secret_string(KEYS)
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_owned();

    let sdk = Sdk::loaded(aws.clone());
    let source = SecretsManagerKeys::new(&sdk, arn);
    assert_eq!(source.secret_string().await.unwrap(), KEYS);
    let keys = passwordless_triggers::keys::parse(&source.secret_string().await.unwrap()).unwrap();
    assert_eq!(keys.current().id, "k2");

    let missing = SecretsManagerKeys::new(&sdk, unique("pwp-no-such-secret"));
    let err = missing.secret_string().await.unwrap_err();
    assert_eq!(err.to_string(), "ResourceNotFoundException");

    secrets
        .delete_secret()
        .secret_id(&name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
}

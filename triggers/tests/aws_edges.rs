//! The trigger's AWS edges against the test bed's ministack: the state table's conditional and
//! atomic writes (cooldown, failure count, its reset and clearing) and the signing keys' secret.
//! `make test` runs these (`--include-ignored`) with the test bed's environment.

#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use passwordless_contract::table::PARTITION_KEY;
use passwordless_triggers::delivery::aws::{DynamoStore, Lazy, Sdk, SecretsManagerKeys};
use passwordless_triggers::delivery::{Failures, SecretSource, SendPermit, StateStore};

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

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn the_state_table_counts_cools_down_resets_and_clears() {
    let aws = testbed().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let sdk = Sdk::loaded(aws.clone());
    let table = unique("pwp-trigger-edges");
    client
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
    let store = DynamoStore {
        client: Lazy::new(&sdk, aws_sdk_dynamodb::Client::new),
        table: table.clone(),
    };

    // Cooldown: one send per interval, the refusal says how long to wait.
    assert_eq!(
        store.permit_send("u1", 1000, 60).await.unwrap(),
        SendPermit::Granted
    );
    assert_eq!(
        store.permit_send("u1", 1030, 60).await.unwrap(),
        SendPermit::CoolingDown {
            retry_after_seconds: 30
        }
    );
    assert_eq!(
        store.permit_send("u1", 1060, 60).await.unwrap(),
        SendPermit::Granted
    );

    // Failures: none, then counted atomically, read back, forgotten when stale, cleared.
    assert_eq!(store.failures("u1").await.unwrap(), Failures::default());
    for (i, now) in [(1, 2000), (2, 2001), (3, 2002)] {
        assert_eq!(
            store.record_failure("u1", now, 86_400).await.unwrap(),
            Failures {
                count: i,
                last_at: now
            }
        );
    }
    assert_eq!(
        store.failures("u1").await.unwrap(),
        Failures {
            count: 3,
            last_at: 2002
        }
    );
    // Concurrent wrong answers are each counted: the increment is atomic.
    let shared = std::sync::Arc::new(DynamoStore {
        client: Lazy::new(&sdk, aws_sdk_dynamodb::Client::new),
        table: table.clone(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = shared.clone();
        tasks.spawn(async move { store.record_failure("u2", 3000, 86_400).await.unwrap() });
    }
    let mut counts: Vec<u32> = tasks.join_all().await.iter().map(|f| f.count).collect();
    counts.sort();
    assert_eq!(counts, (1..=8).collect::<Vec<_>>());
    assert_eq!(store.failures("u2").await.unwrap().count, 8);
    // A day after the last one, the count starts again.
    assert_eq!(
        store
            .record_failure("u1", 2002 + 86_400, 86_400)
            .await
            .unwrap(),
        Failures {
            count: 1,
            last_at: 2002 + 86_400
        }
    );
    store.clear_failures("u1").await.unwrap();
    assert_eq!(store.failures("u1").await.unwrap(), Failures::default());

    // Single use.
    assert!(store.consume_nonce("n1", 5000).await.unwrap());
    assert!(!store.consume_nonce("n1", 5000).await.unwrap());

    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
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

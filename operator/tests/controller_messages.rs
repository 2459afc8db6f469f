//! A pool with messages in other languages through the controller, on the test bed: its cache
//! leaves the messages out, so each comparison with AWS reads the pool whole, and the pool's
//! own package is deployed; a changed message is deployed too. Run by `make test`.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::cluster::{self, apply_pool, delete_pool, eventually, gone, ready_pool};
use passwordless_contract::env as vars;
use passwordless_operator::aws::Clients;
use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::names::{DEFAULT_CLUSTER_ID, StackNames};
use passwordless_operator::trigger_code::TriggerCode;

const READY_WITHIN: Duration = Duration::from_secs(90);

fn pool(ns: &str, subject: &str) -> PasswordlessPool {
    serde_yaml::from_str(&format!(
        "apiVersion: passwordless-operator.dev/v1alpha1
kind: PasswordlessPool
metadata: {{name: lang, namespace: {ns}}}
spec:
  strategy: emailOtp
  sender: {{address: no-reply@example.com}}
  email:
    localized:
      de: {{subject: '{subject}'}}
      fr: {{subject: 'Votre code'}}
"
    ))
    .unwrap()
}

/// (CodeSha256, PWP_LOCALES) of the pool's function.
async fn deployed(c: &Clients, function: &str) -> (String, Option<String>) {
    let config = c
        .lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .unwrap();
    let locales = config
        .environment()
        .and_then(|e| e.variables())
        .and_then(|v| v.get(vars::LOCALES).cloned());
    (config.code_sha256().unwrap().to_owned(), locales)
}

#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up); run by `make test`"]
async fn messages_in_other_languages_reach_the_trigger_through_the_controller() {
    let (admin, ns, _op) = cluster::with_operator("lang", 600).await;
    apply_pool(&admin, &pool(&ns, "Ihr Anmeldecode")).await;
    ready_pool(&admin, &ns, "lang", READY_WITHIN).await;
    let c = Clients::from_env(None).await.unwrap();
    let function = StackNames::new(DEFAULT_CLUSTER_ID, &ns, "lang").function;
    let shared = TriggerCode::from_file(&common::trigger_zip()).unwrap();
    let (first, locales) = deployed(&c, &function).await;
    assert_eq!(locales.as_deref(), Some("de,fr"));
    assert_ne!(first, shared.sha256(), "the pool's own package");

    // A changed message: a new generation, read whole, deployed.
    apply_pool(&admin, &pool(&ns, "Ihr neuer Anmeldecode")).await;
    ready_pool(&admin, &ns, "lang", READY_WITHIN).await;
    let (second, _) = eventually("the new package", Duration::from_secs(30), || async {
        let now = deployed(&c, &function).await;
        (now.0 != first).then_some(now)
    })
    .await
    .0;
    assert_ne!(second, shared.sha256());
    delete_pool(&admin, &ns, "lang").await;
    gone(&admin, &ns, "lang", READY_WITHIN).await;
}

//! The CRD and the examples against the test bed's real kube-apiserver (v1.20).
//! Run by `make test`, which brings the test bed up; `cargo test` alone skips these.

mod common;

use std::path::Path;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::core::ApiResource;
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, CustomResourceExt};
use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::crdgen::custom_resource_definition;
use passwordless_operator::validate::cross_field_rules;

const NEEDS_TESTBED: &str = "needs the test bed (scripts/testbed up kube); run by `make test`";

async fn client() -> Client {
    assert!(
        std::env::var_os("KUBECONFIG").is_some(),
        "KUBECONFIG is unset: {NEEDS_TESTBED}"
    );
    Client::try_default()
        .await
        .expect("the test bed's kubeconfig works")
}

/// Installs the generated CRD (idempotent) and waits until it is Established. On 1.20 a CRD
/// that carries CEL goes in by create or replace, as `kubectl apply --validate=false` sends it:
/// server-side apply refuses the field 1.20's schema does not know, a plain write drops it.
async fn install_crd(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut crd = custom_resource_definition();
    let name = PasswordlessPool::crd_name();
    // The tests of this file run in parallel: a write that lost the race reads and tries again.
    for attempt in 1.. {
        let written = match crds.get_opt(name).await.expect("reading the CRD works") {
            None => crds.create(&PostParams::default(), &crd).await,
            Some(existing) => {
                crd.metadata.resource_version = existing.metadata.resource_version;
                crds.replace(name, &PostParams::default(), &crd).await
            }
        };
        match written {
            Err(kube::Error::Api(status)) if status.code == 409 && attempt < 10 => continue,
            other => {
                other.expect("the apiserver accepts the generated CRD");
                break;
            }
        }
    }
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(crds, name, conditions::is_crd_established()),
    )
    .await
    .expect("CRD Established within 30 s")
    .expect("watching the CRD works");
}

async fn dry_run_create(client: &Client, path: &Path) -> Result<(), kube::Error> {
    common::dry_run_create(client, &ApiResource::erase::<PasswordlessPool>(&()), path).await
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn generated_crd_installs_and_becomes_established() {
    let client = client().await;
    install_crd(&client).await;
    // Installing twice is a no-op, as it is for `kubectl apply` in a GitOps loop.
    install_crd(&client).await;
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn every_example_is_accepted_by_the_apiserver() {
    let client = client().await;
    install_crd(&client).await;
    let files = common::yaml_files("examples");
    assert!(files.len() >= 4);
    for path in files {
        if let Err(e) = dry_run_create(&client, &path).await {
            panic!("{} was refused: {e}", path.display());
        }
    }
}

/// A 1.20 apiserver enforces the schema but ignores CEL: an invalid example whose every
/// expected reason is a cross-field (CEL) rule passes there, and the controller refuses it with
/// an `InvalidSpec` condition instead. `crd_current.rs` proves the CEL on a current apiserver.
#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn every_schema_invalid_example_is_refused_with_422_by_1_20() {
    let client = client().await;
    install_crd(&client).await;
    let rules = cross_field_rules();
    // A sentence opening a CEL message is CEL's reason; so is a rule's field path next to one.
    let cel_message = |e: &str| e.contains(' ') && rules.iter().any(|r| r.message.starts_with(e));
    let cel_field = |e: &str| rules.iter().any(|r| r.field == e);
    let files = common::yaml_files("examples/invalid");
    assert!(files.len() >= 15);
    let mut refused = 0;
    for path in files {
        let expected = common::expected_refusals(&common::read(&path));
        let cel_only = expected.iter().any(|e| cel_message(e))
            && expected.iter().all(|e| cel_message(e) || cel_field(e));
        match dry_run_create(&client, &path).await {
            Err(kube::Error::Api(status)) if status.code == 422 && !cel_only => refused += 1,
            Ok(()) if cel_only => {}
            other => panic!(
                "{}: expected {}, got {other:?}",
                path.display(),
                if cel_only {
                    "acceptance (CEL-only)"
                } else {
                    "a 422"
                }
            ),
        }
    }
    assert!(refused >= 15, "only {refused} refused by the schema");
}

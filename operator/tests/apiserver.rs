//! The CRD and the examples against the test bed's real kube-apiserver (v1.20).
//! Run by `make test`, which brings the test bed up; `cargo test` alone skips these.

mod common;

use std::path::Path;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, CustomResourceExt};
use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::crdgen::custom_resource_definition;

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

/// Installs the generated CRD (idempotent, server-side apply) and waits until it is Established.
async fn install_crd(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = custom_resource_definition();
    let name = PasswordlessPool::crd_name();
    crds.patch(
        name,
        &PatchParams::apply("passwordless-operator-tests").force(),
        &Patch::Apply(&crd),
    )
    .await
    .expect("the apiserver accepts the generated CRD");
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(crds, name, conditions::is_crd_established()),
    )
    .await
    .expect("CRD Established within 30 s")
    .expect("watching the CRD works");
}

/// Server-side dry-run create of one manifest file, as `kubectl apply --dry-run=server` does.
async fn dry_run_create(client: &Client, path: &Path) -> Result<(), kube::Error> {
    let text = common::read(path);
    let object: DynamicObject = serde_yaml::from_str(&text).expect("the manifest is YAML");
    let namespace = object
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &namespace,
        &ApiResource::erase::<PasswordlessPool>(&()),
    );
    api.create(
        &PostParams {
            dry_run: true,
            ..Default::default()
        },
        &object,
    )
    .await
    .map(drop)
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

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn every_invalid_example_is_refused_with_422() {
    let client = client().await;
    install_crd(&client).await;
    let files = common::yaml_files("examples/invalid");
    assert!(files.len() >= 15);
    for path in files {
        match dry_run_create(&client, &path).await {
            Err(kube::Error::Api(status)) if status.code == 422 => {}
            other => panic!("{} should get a 422, got {other:?}", path.display()),
        }
    }
}

//! The generated CRD and the examples against a CURRENT apiserver: the test bed's
//! apiextensions-apiserver v1.36 (`scripts/testbed up crd`), which enforces CEL
//! `x-kubernetes-validations` and speaks today's validation messages. The v1.20 kube-apiserver
//! (tests/apiserver.rs) ignores CEL rules, so this is where they are proven.
//!
//! Every `examples/*.yaml` must be accepted (server-side dry-run create), and every
//! `examples/invalid/*.yaml` must be refused with 422, with a message that contains each
//! `# Expect: <text>` line of the file's header comment (a plain substring match; a file may
//! have several, and must have at least one). The apiserver's message for each file is printed
//! and written to `$CARGO_TARGET_TMPDIR/crd_current-messages.txt`, to compare by eye.
//!
//! Run by `make test`, which brings the test bed up; `cargo test` alone skips these. By hand:
//! `scripts/testbed up crd && eval "$(scripts/testbed env)" &&
//!  cargo test -p passwordless-operator --test crd_current -- --include-ignored --show-output`

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersion};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config};

const CRD_FILE: &str = "crds/passwordlesspools.yaml";
const MANAGER: &str = "passwordless-operator-tests";

/// A client for the v1.36 server, from the kubeconfig `scripts/testbed env` exports.
async fn client() -> Client {
    let path = std::env::var("PWP_CRD_KUBECONFIG").unwrap_or_else(|_| {
        panic!(
            "PWP_CRD_KUBECONFIG is unset: these tests need the test bed's apiextensions-apiserver \
             (scripts/testbed up crd; eval \"$(scripts/testbed env)\"); `make test` does both"
        )
    });
    let kubeconfig = Kubeconfig::read_from(&path)
        .unwrap_or_else(|e| panic!("reading PWP_CRD_KUBECONFIG={path}: {e}"));
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("PWP_CRD_KUBECONFIG={path} is not a usable kubeconfig: {e}"));
    let client = Client::try_from(config).expect("a client from the CRD kubeconfig");
    let version = client.apiserver_version().await.unwrap_or_else(|e| {
        panic!("the apiextensions-apiserver behind PWP_CRD_KUBECONFIG={path} does not answer: {e}")
    });
    println!(
        "apiserver /version: {} ({}, {}, built {})",
        version.git_version, version.go_version, version.platform, version.build_date
    );
    client
}

/// The CRD file as committed (what users `kubectl apply`), not the in-process generator.
fn crd_from_file() -> CustomResourceDefinition {
    serde_yaml::from_str(&common::read(&common::repo_file(CRD_FILE)))
        .unwrap_or_else(|e| panic!("{CRD_FILE} is not a CustomResourceDefinition: {e}"))
}

/// Applies the CRD file (server-side apply, idempotent) and waits until it is Established.
async fn install_crd(client: &Client) -> CustomResourceDefinition {
    let crd = crd_from_file();
    let name = crd.metadata.name.clone().expect("the CRD has a name");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let before = crds
        .get_opt(&name)
        .await
        .expect("reading the installed CRD")
        .and_then(|c| c.metadata.generation);
    let applied = crds
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("the v1.36 apiserver refuses {CRD_FILE}: {e}"));
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(crds, &name, conditions::is_crd_established()),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} not Established within 30 s"))
    .expect("watching the CRD works");
    if before.is_some() && before != applied.metadata.generation {
        // The CRD changed under a running server (an earlier run applied an older file). The
        // custom-resource handler swaps in the new schema when its informer sees the update;
        // give it a moment so the checks below never run against the old rules.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    crd
}

/// Where objects of this apiVersion/kind are served, from the CRD's own names.
fn api_resource(
    crd: &CustomResourceDefinition,
    object: &DynamicObject,
    path: &Path,
) -> ApiResource {
    let types = object
        .types
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no apiVersion/kind", path.display()));
    let gv: GroupVersion = types
        .api_version
        .parse()
        .unwrap_or_else(|e| panic!("{}: apiVersion {}: {e}", path.display(), types.api_version));
    ApiResource::from_gvk_with_plural(&gv.with_kind(&types.kind), &crd.spec.names.plural)
}

async fn dry_run_create(
    client: &Client,
    crd: &CustomResourceDefinition,
    path: &Path,
) -> Result<(), kube::Error> {
    let object: DynamicObject = serde_yaml::from_str(&common::read(path))
        .unwrap_or_else(|e| panic!("{}: not a Kubernetes object: {e}", path.display()));
    // The apiextensions-apiserver has no Namespace API (and runs without the NamespaceLifecycle
    // admission plugin), so a namespaced path needs no Namespace object.
    common::dry_run_create(client, &api_resource(crd, &object, path), path).await
}

fn file_name(path: &Path) -> String {
    path.strip_prefix(common::repo_file(""))
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Writes the report next to the test's other scratch files and says where.
fn write_report(name: &str, report: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, report).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up crd); run by `make test`"]
async fn current_apiserver_accepts_the_crd_and_every_example() {
    let client = client().await;
    let crd = install_crd(&client).await;
    // Twice is a no-op, as `kubectl apply` in a GitOps loop.
    install_crd(&client).await;
    let files = common::yaml_files("examples");
    assert!(files.len() >= 4, "expected the examples, found {files:?}");
    let mut refused = Vec::new();
    for path in &files {
        match dry_run_create(&client, &crd, path).await {
            Ok(()) => println!("accepted: {}", file_name(path)),
            Err(e) => {
                println!("REFUSED:  {}: {e}", file_name(path));
                refused.push(format!("{}: {e}", file_name(path)));
            }
        }
    }
    assert!(
        refused.is_empty(),
        "the v1.36 apiserver refuses {} example(s):\n  {}",
        refused.len(),
        refused.join("\n  ")
    );
}

/// A pool's stack lives in its region: the apiserver refuses moving it (a changed, added or
/// removed `spec.region`) and takes every other change.
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up crd); run by `make test`"]
async fn current_apiserver_refuses_changing_the_region_of_a_pool() {
    let client = client().await;
    let crd = install_crd(&client).await;
    let pool = |name: &str, region: Option<&str>, min_interval: u32| {
        let region = region
            .map(|r| format!(", \"region\": \"{r}\""))
            .unwrap_or_default();
        serde_json::from_str::<DynamicObject>(&format!(
            r#"{{"apiVersion": "passwordless-operator.dev/v1alpha1", "kind": "PasswordlessPool",
                "metadata": {{"name": "{name}", "namespace": "default"}},
                "spec": {{"strategy": "smsOtp", "limits": {{"minIntervalSeconds": {min_interval}}}{region}}}}}"#
        ))
        .unwrap()
    };
    let path = Path::new("examples/sms-otp.yaml");
    let resource = api_resource(&crd, &pool("x", None, 60), path);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);
    let params = PatchParams::apply(MANAGER).force();
    for (name, from, to) in [
        ("region-moves", Some("eu-west-1"), Some("eu-central-1")),
        ("region-appears", None, Some("eu-west-1")),
        ("region-goes", Some("eu-west-1"), None),
    ] {
        let _ = api.delete(name, &Default::default()).await;
        api.patch(name, &params, &Patch::Apply(&pool(name, from, 60)))
            .await
            .unwrap_or_else(|e| panic!("{name}: creating it: {e}"));
        // Any other change is taken.
        api.patch(name, &params, &Patch::Apply(&pool(name, from, 30)))
            .await
            .unwrap_or_else(|e| panic!("{name}: a change that keeps the region: {e}"));
        let refused = api
            .patch(name, &params, &Patch::Apply(&pool(name, to, 30)))
            .await;
        match refused {
            Err(kube::Error::Api(status)) if status.code == 422 => assert!(
                status
                    .message
                    .contains(passwordless_operator::validate::REGION_STAYS),
                "{name}: {}",
                status.message
            ),
            other => panic!("{name}: expected a 422 naming the rule, got {other:?}"),
        }
        api.delete(name, &Default::default()).await.unwrap();
    }
}

#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up crd); run by `make test`"]
async fn current_apiserver_refuses_every_invalid_example_with_its_expected_message() {
    let client = client().await;
    let crd = install_crd(&client).await;
    let files = common::yaml_files("examples/invalid");
    assert!(
        files.len() >= 15,
        "expected the invalid examples, found {files:?}"
    );
    let mut report = String::new();
    let mut failures = Vec::new();
    for path in &files {
        let name = file_name(path);
        let expects = common::expected_refusals(&common::read(path));
        let outcome = dry_run_create(&client, &crd, path).await;
        // What the apiserver said, then everything wrong with it, so one run shows it all.
        let mut problems = Vec::new();
        if expects.is_empty() {
            problems.push("has no `# Expect: <text>` line in its header comment".to_owned());
        }
        match &outcome {
            Ok(()) => {
                writeln!(report, "{name}: ACCEPTED").expect("writing to a String");
                problems.push("ACCEPTED (expected a 422)".to_owned());
            }
            Err(kube::Error::Api(status)) => {
                writeln!(
                    report,
                    "{name}: {} {}: {}",
                    status.code, status.reason, status.message
                )
                .expect("writing to a String");
                if status.code != 422 {
                    problems.push(format!(
                        "got {} {}, expected 422",
                        status.code, status.reason
                    ));
                }
                let missing: Vec<&String> = expects
                    .iter()
                    .filter(|e| !status.message.contains(e.as_str()))
                    .collect();
                if !missing.is_empty() {
                    problems.push(format!("message lacks {missing:?}"));
                }
            }
            Err(e) => {
                writeln!(report, "{name}: no answer: {e}").expect("writing to a String");
                problems.push(format!("failed without an apiserver answer: {e}"));
            }
        }
        for expect in &expects {
            writeln!(report, "    # Expect: {expect}").expect("writing to a String");
        }
        if problems.is_empty() {
            writeln!(report, "    ok").expect("writing to a String");
        } else {
            let problems = problems.join("; ");
            writeln!(report, "    FAIL: {problems}").expect("writing to a String");
            failures.push(format!("{name}: {problems}"));
        }
    }
    print!("{report}");
    let saved = write_report("crd_current-messages.txt", &report);
    println!("(these messages are also in {})", saved.display());
    assert!(
        failures.is_empty(),
        "{} of {} invalid example(s) fail on the v1.36 apiserver (messages above and in {}):\n  {}",
        failures.len(),
        files.len(),
        saved.display(),
        failures.join("\n  ")
    );
}

#[test]
fn expect_lines_are_read_from_the_header_comment_only() {
    let text = "# Invalid: something.\n# Expect: first thing\n#   Expect:  second: thing \n\
                apiVersion: v1\n# Expect: not in the header\n";
    assert_eq!(
        common::expected_refusals(text),
        vec!["first thing".to_owned(), "second: thing".to_owned()]
    );
    assert!(common::expected_refusals("# Invalid: no expectation.\nkind: X\n").is_empty());
}

/// A status the operator cannot parse, written through the v1.36 status subresource (anyone
/// with status access can), does not fail the operator's list: the typed list a restart starts
/// from returns every pool, the poisoned field absent and the innocent pool's kept. (The
/// controller's part, reconciling beside it on 1.20, is `controller_tenants`.)
#[tokio::test]
#[ignore = "needs the test bed (scripts/testbed up crd); run by `make test`"]
async fn current_apiserver_stores_an_unreadable_status_and_the_operators_list_goes_on() {
    use passwordless_operator::crd::PasswordlessPool;
    let client = client().await;
    let crd = install_crd(&client).await;
    let namespace = "poisoned-status";
    let pool = |name: &str| {
        serde_json::from_str::<DynamicObject>(&format!(
            r#"{{"apiVersion": "passwordless-operator.dev/v1alpha1", "kind": "PasswordlessPool",
                "metadata": {{"name": "{name}", "namespace": "{namespace}"}},
                "spec": {{"strategy": "smsOtp"}}}}"#
        ))
        .unwrap()
    };
    let resource = api_resource(&crd, &pool("x"), Path::new("examples/sms-otp.yaml"));
    let raw: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let params = PatchParams::apply(MANAGER).force();
    let condition = |time: &str| {
        serde_json::json!({"status": {"conditions": [{"type": "Ready", "status": "True",
            "reason": "Ready", "message": "", "lastTransitionTime": time}]}})
    };
    for (name, time) in [
        ("innocent", "2024-01-01T00:00:00Z"),
        ("poisoned", "2024-01-01T00:00:00_1Z"),
    ] {
        raw.patch(name, &params, &Patch::Apply(&pool(name)))
            .await
            .unwrap_or_else(|e| panic!("{name}: creating it: {e}"));
        raw.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&condition(time)),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: the status write is refused: {e}"));
    }
    let stored = raw.get("poisoned").await.unwrap();
    assert_eq!(
        stored.data["status"]["conditions"][0]["lastTransitionTime"], "2024-01-01T00:00:00_1Z",
        "the current apiserver stores what the operator cannot parse"
    );

    let typed: Api<PasswordlessPool> = Api::namespaced(client.clone(), namespace);
    let listed = typed
        .list(&Default::default())
        .await
        .expect("the list goes on");
    let conditions = |name: &str| {
        let pool = listed
            .items
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name));
        pool.unwrap().status.as_ref().map(|s| s.conditions.len())
    };
    assert_eq!(conditions("innocent"), Some(1));
    assert_eq!(
        conditions("poisoned"),
        Some(0),
        "the unreadable condition reads as absent"
    );
    for name in ["innocent", "poisoned"] {
        raw.delete(name, &Default::default()).await.unwrap();
    }
}

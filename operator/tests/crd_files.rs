//! The committed CRD YAML and the examples, checked without any server.

mod common;

use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::crdgen::custom_resource_definition_yaml;
use passwordless_operator::validate::validate;

#[test]
fn committed_crds_match_the_rust_types() {
    let generated = custom_resource_definition_yaml();
    for copy in [
        "crds/passwordlesspools.yaml",
        "charts/passwordless-operator/crds/passwordlesspools.yaml",
    ] {
        let committed = common::read(&common::repo_file(copy));
        assert!(
            committed == generated,
            "{copy} has drifted from operator/src/crd.rs: run `make crds`"
        );
    }
}

#[test]
fn there_is_one_example_per_strategy_and_each_is_valid() {
    let mut strategies = Vec::new();
    for path in common::yaml_files("examples") {
        let text = common::read(&path);
        let pool: PasswordlessPool = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        validate(&pool.spec).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        strategies.push(pool.spec.strategy);
    }
    for strategy in passwordless_operator::crd::Strategy::ALL {
        assert!(
            strategies.contains(&strategy),
            "no example for strategy {}",
            strategy.as_str()
        );
    }
}

#[test]
fn every_invalid_example_says_why_and_there_are_at_least_fifteen() {
    let files = common::yaml_files("examples/invalid");
    assert!(files.len() >= 15, "only {} invalid examples", files.len());
    for path in files {
        let text = common::read(&path);
        assert!(
            text.starts_with("# Invalid: "),
            "{} must open with '# Invalid: <why>'",
            path.display()
        );
    }
}

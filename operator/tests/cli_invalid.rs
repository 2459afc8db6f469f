//! The CLI refuses every manifest of `examples/invalid/` before any AWS call, for the reason
//! the file's `# Expect:` lines give (the same text the apiserver's refusal carries, checked by
//! `crd_current.rs`), and writes nothing.

mod common;

use std::process::Command;

/// An endpoint where nothing listens: any AWS call would fail with a connection error, which
/// the assertions below would see instead of the validation message.
const NO_AWS: &str = "http://127.0.0.1:9";

#[test]
fn plan_refuses_the_whole_invalid_corpus_without_calling_aws() {
    let files = common::yaml_files("examples/invalid");
    let dir = std::env::temp_dir().join(format!("pwp-invalid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for path in &files {
        let expected = common::expected_refusals(&common::read(path));
        assert!(
            !expected.is_empty(),
            "{} has no '# Expect:' line",
            path.display()
        );
        let state = dir.join("state.json");
        let out = Command::new(env!("CARGO_BIN_EXE_passwordless-operator"))
            .arg("plan")
            .arg("-f")
            .arg(path)
            .arg("--state")
            .arg(&state)
            .env("AWS_ENDPOINT_URL", NO_AWS)
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .env("PWP_TRIGGER_ZIP", dir.join("no-such.zip"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = path.file_name().unwrap().to_string_lossy();
        println!("{name}: {}", stderr.trim());
        assert!(!out.status.success(), "{name} was accepted");
        for text in &expected {
            assert!(
                stderr.contains(text.as_str()),
                "{name}: the refusal does not say {text:?}:\n{stderr}"
            );
        }
        assert!(
            !stderr.contains("dispatch failure") && !stderr.contains("Connection refused"),
            "{name}: an AWS call was attempted:\n{stderr}"
        );
        assert!(!state.exists(), "{name}: a state file was written");
    }
    std::fs::remove_dir_all(&dir).ok();
    println!("{} invalid manifests refused by the CLI", files.len());
}

//! Switches the test bed's real-AWS behaviours (scripts/testbed.d/behaviours.py) on and off for
//! one resource, through the model check in front of the emulators.

use std::process::Command;

fn endpoint() -> String {
    let aws = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (scripts/testbed env)");
    format!("{}/_behaviours", aws.trim_end_matches('/'))
}

fn post(change: &serde_json::Value) -> serde_json::Value {
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", "-X", "POST", "--data-binary"])
        .arg(change.to_string())
        .arg(endpoint())
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "the model check refused {change}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Switches `kind` on for the resource named `target`, with its options (e.g. `times`).
pub fn switch_on(kind: &str, target: &str, options: serde_json::Value) {
    let mut add = serde_json::json!({"kind": kind, "target": target});
    if let serde_json::Value::Object(extra) = options {
        add.as_object_mut().unwrap().extend(extra);
    }
    post(&serde_json::json!({ "add": add }));
}

/// What the behaviour on `target` did so far (its counts by what), empty when it is off.
pub fn done(target: &str) -> serde_json::Value {
    let all = post(&serde_json::json!({}));
    all["behaviours"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["target"] == target)
        .map(|b| b["done"].clone())
        .unwrap_or_default()
}

pub fn switch_off(target: &str) {
    post(&serde_json::json!({ "remove": target }));
}

/// A behaviour switched on until the guard drops, so a failing test leaves no behaviour behind
/// in a test bed that runs on.
pub struct On(String);

impl Drop for On {
    fn drop(&mut self) {
        switch_off(&self.0);
    }
}

/// Switches `kind` on for `target` (see [`switch_on`]) until the guard drops.
#[must_use = "the behaviour is switched off when the guard drops"]
pub fn on(kind: &str, target: &str, options: serde_json::Value) -> On {
    switch_on(kind, target, options);
    On(target.to_owned())
}

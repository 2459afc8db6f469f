//! What the trigger printed: its CloudWatch Logs group (`/aws/lambda/<function>`), where ministack
//! writes a function's output as Lambda does, read through the model check.

use std::process::Command;

/// Every message in the function's log group in `region`, oldest first (empty before any).
pub fn function_log(region: &str, function: &str) -> Vec<String> {
    let aws = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (scripts/testbed env)");
    let body = serde_json::json!({"logGroupName": format!("/aws/lambda/{function}")});
    // Unsigned but scoped: the emulator keys logs by the credential's region.
    let scope = format!("Credential=test/20260101/{region}/logs/aws4_request");
    let out = Command::new("curl")
        .args(["-sS", "-X", "POST", "--data-binary"])
        .arg(body.to_string())
        .args(["-H", "X-Amz-Target: Logs_20140328.FilterLogEvents"])
        .args(["-H", "Content-Type: application/x-amz-json-1.1"])
        .args(["-H"])
        .arg(format!(
            "Authorization: AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"
        ))
        .arg(format!("{}/", aws.trim_end_matches('/')))
        .output()
        .expect("curl runs");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    answer["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().map(str::to_owned))
        .collect()
}

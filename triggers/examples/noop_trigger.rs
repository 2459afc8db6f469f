//! The benchmark's baseline: a trigger that decides nothing and sends nothing, built the same
//! way as `bootstrap` (same runtime crates, same release profile). Any answer "ok" is correct.
//! Only `make bench-triggers` builds it; it is never deployed.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let mut e = event.payload;
        let answered = e["request"]["session"].as_array().is_some_and(|s| !s.is_empty());
        e["response"] = match e["triggerSource"].as_str().unwrap_or_default() {
            "DefineAuthChallenge_Authentication" if answered => json!({"issueTokens": true, "failAuthentication": false}),
            "DefineAuthChallenge_Authentication" => json!({"challengeName": "CUSTOM_CHALLENGE", "issueTokens": false, "failAuthentication": false}),
            "CreateAuthChallenge_Authentication" => json!({"publicChallengeParameters": {"step": "CODE_SENT"}, "privateChallengeParameters": {}, "challengeMetadata": "noop"}),
            "VerifyAuthChallengeResponse_Authentication" => json!({"answerCorrect": e["request"]["challengeAnswer"] == "ok"}),
            _ => e["response"].clone(),
        };
        Ok::<Value, Error>(e)
    }))
    .await
}

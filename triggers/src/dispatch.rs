//! One entry point for every trigger: route on `triggerSource`, answer with the same event and
//! its `response` filled in.

use passwordless_contract::probe;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::Config;
use crate::flows::{FlowError, create, define, signup, verify};
use crate::ports::Ports;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("event has no triggerSource")]
    NoTriggerSource,
    #[error("trigger {0} is not served by this function")]
    Unsupported(String),
    /// The serde message names the field, never its value.
    #[error("malformed {trigger} event: {reason}")]
    Malformed { trigger: String, reason: String },
    #[error("{trigger}: {source}")]
    Flow { trigger: String, source: FlowError },
    /// The probe's answer when the signing keys cannot be had: the reason names the AWS error
    /// code or the fault, never a value.
    #[error("{prefix}{var}: {reason}", prefix = probe::REFUSED_PREFIX, var = passwordless_contract::env::SIGNING_KEYS_SECRET)]
    KeysRefused { reason: crate::keys::KeyError },
    #[error("the {0} response could not be serialized")]
    Reply(String),
}

fn parse<T: DeserializeOwned>(trigger: &str, event: Value) -> Result<T, DispatchError> {
    serde_json::from_value(event).map_err(|e| DispatchError::Malformed {
        trigger: trigger.to_owned(),
        // Position and field only: serde_json's messages do not quote input strings for
        // type errors, but "unknown variant `...`" would; keep the classification alone.
        reason: format!("{:?} error at field path", e.classify()),
    })
}

fn reply<T: Serialize>(trigger: &str, event: T) -> Result<Value, DispatchError> {
    serde_json::to_value(event).map_err(|_| DispatchError::Reply(trigger.to_owned()))
}

pub async fn handle(
    config: &Config,
    ports: &impl Ports,
    event: Value,
) -> Result<Value, DispatchError> {
    let trigger = event
        .get("triggerSource")
        .and_then(Value::as_str)
        .ok_or(DispatchError::NoTriggerSource)?
        .to_owned();
    let flow_error = |source| DispatchError::Flow {
        trigger: trigger.clone(),
        source,
    };
    match trigger.as_str() {
        // The configuration was read at start-up, so answering at all proves it was accepted;
        // the keys are read now (afresh), so a healthy answer proves they load too.
        probe::TRIGGER_SOURCE => match ports.keys().reload(ports.clock()).await {
            Ok(_) => Ok(serde_json::json!({
                "healthy": true,
                "strategy": format!("{:?}", config.strategy),
            })),
            Err(reason) => Err(DispatchError::KeysRefused { reason }),
        },
        "DefineAuthChallenge_Authentication" => {
            reply(&trigger, define::define(config, parse(&trigger, event)?))
        }
        "CreateAuthChallenge_Authentication" => {
            let out = create::create(config, ports, parse(&trigger, event)?).await;
            out.map_err(flow_error).and_then(|e| reply(&trigger, e))
        }
        "VerifyAuthChallengeResponse_Authentication" => {
            let out = verify::verify(config, ports, parse(&trigger, event)?).await;
            out.map_err(flow_error).and_then(|e| reply(&trigger, e))
        }
        "PreSignUp_SignUp" | "PreSignUp_AdminCreateUser" | "PreSignUp_ExternalProvider" => {
            let out = signup::pre_sign_up(config, parse(&trigger, event)?);
            out.map_err(flow_error).and_then(|e| reply(&trigger, e))
        }
        "PostAuthentication_Authentication" => {
            let out =
                signup::post_authentication(config, ports.directory(), parse(&trigger, event)?)
                    .await;
            out.map_err(flow_error).and_then(|e| reply(&trigger, e))
        }
        _ => Err(DispatchError::Unsupported(trigger)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;
    use crate::flows::testing::{Fake, Outbox, ports};

    async fn run_with(
        outbox: &Outbox,
        strategy: &str,
        event: Value,
    ) -> Result<Value, DispatchError> {
        let fake = Fake {
            outbox,
            now: 1000,
            byte: 7,
        };
        handle(&config(strategy), &ports(&fake), event).await
    }

    async fn run(event: Value) -> Result<Value, DispatchError> {
        run_with(&Outbox::default(), "emailOtp", event).await
    }

    fn fixture(name: &str) -> Value {
        crate::flows::testing::fixture(name)
    }

    #[tokio::test]
    async fn unexpected_and_malformed_events_are_errors_not_panics() {
        assert!(matches!(
            run(serde_json::json!({})).await,
            Err(DispatchError::NoTriggerSource)
        ));
        assert!(matches!(
            run(serde_json::json!({"triggerSource": "CustomMessage_SignUp"})).await,
            Err(DispatchError::Unsupported(_))
        ));
        let malformed = serde_json::json!({"triggerSource": "DefineAuthChallenge_Authentication", "request": {"session": "secret-ish"}});
        let err = run(malformed).await.unwrap_err();
        assert!(matches!(err, DispatchError::Malformed { .. }));
        assert!(!err.to_string().contains("secret-ish"));
    }

    #[tokio::test]
    async fn hostile_events_never_panic() {
        let sources = [
            "DefineAuthChallenge_Authentication",
            "CreateAuthChallenge_Authentication",
            "VerifyAuthChallengeResponse_Authentication",
            "PreSignUp_SignUp",
            "PostAuthentication_Authentication",
            probe::TRIGGER_SOURCE,
        ];
        let long = "\u{1F600}".repeat(10_000);
        let hostile_requests = [
            serde_json::json!(null),
            serde_json::json!({}),
            serde_json::json!({"session": [null, {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": true, "challengeMetadata": "{\"kind\":\"code\"}"}]}),
            serde_json::json!({"session": [{"challengeName": "CUSTOM_CHALLENGE", "challengeResult": false, "challengeMetadata": long}]}),
            serde_json::json!({"challengeAnswer": {"nested": [1, 2]}, "privateChallengeParameters": {"round": "{\"kind\":\"code\",\"kid\":\"\\u0000\",\"exp\":18446744073709551615,\"mac\":\"\",\"link\":true,\"dest\":\"\"}"}}),
            serde_json::json!({"challengeAnswer": format!("{long}.{long}"), "clientMetadata": {"action": "redeem", "redirectUrl": long}}),
            serde_json::json!({"challengeAnswer": "e30.e30e30e30e30e30e30e30e30e30e30e30e30e30e30e30", "userAttributes": {"email": "", "phone_number": long}}),
            serde_json::json!({"userAttributes": {"email": "@@@"}, "clientMetadata": {"action": "request"}, "userNotFound": true}),
            serde_json::json!({"userAttributes": {"email": 5}}),
        ];
        for source in sources {
            for request in &hostile_requests {
                for user in [
                    serde_json::json!("alice@example.com"),
                    serde_json::json!(""),
                    serde_json::json!(long),
                    serde_json::json!(null),
                ] {
                    let event = serde_json::json!({
                        "version": "1",
                        "triggerSource": source,
                        "region": "us-east-1",
                        "userPoolId": "us-east-1_TestPool",
                        "userName": user,
                        "callerContext": {"clientId": "testclient"},
                        "request": request,
                        "response": {},
                    });
                    for strategy in ["magicLink", "emailOtp", "smsOtp"] {
                        // An answer or an error; a panic fails the test.
                        let _ = run_with(&Outbox::default(), strategy, event.clone()).await;
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn the_operator_probe_reads_the_keys_and_names_what_is_wrong_but_never_a_value() {
        let outbox = Outbox::default();
        let probe_event = || serde_json::json!({"triggerSource": probe::TRIGGER_SOURCE});
        let out = run_with(&outbox, "emailOtp", probe_event()).await.unwrap();
        assert_eq!(out["healthy"], true);
        assert_eq!(out["strategy"], "EmailOtp");
        assert_eq!(outbox.secret_reads(), 1);
        let cases = [
            (
                Err("AccessDeniedException"),
                "GetSecretValue failed: AccessDeniedException",
            ),
            (
                Err("ResourceNotFoundException"),
                "GetSecretValue failed: ResourceNotFoundException",
            ),
            (Ok("k1:c2hvcnQ="), "a key is shorter than 256 bits"),
            (Ok(""), "no key of 256 bits"),
            (
                Ok("k1=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
                "expected kid:base64key entries",
            ),
        ];
        for (secret, reason) in cases {
            let outbox = Outbox::default();
            outbox.set_secret(secret);
            let err = run_with(&outbox, "magicLink", probe_event())
                .await
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(probe::REFUSED_PREFIX), "{err}");
            assert_eq!(
                err,
                format!("{}PWP_SIGNING_KEYS_SECRET: {reason}", probe::REFUSED_PREFIX)
            );
            assert!(!err.contains("c2hvcnQ") && !err.contains("MDEy"), "{err}");
        }
    }

    #[tokio::test]
    async fn define_pre_sign_up_and_post_authentication_never_read_the_keys() {
        let outbox = Outbox::default();
        for name in [
            "define_first_round",
            "define_after_one_wrong",
            "pre_sign_up",
            "post_authentication_unverified",
            "create_first_round",
        ] {
            // PreSignUp refuses (sign-up is disabled here): an answer all the same.
            let _ = run_with(&outbox, "magicLink", fixture(name)).await;
        }
        assert_eq!(outbox.secret_reads(), 0);
        // The first invocation that needs a key reads them; the next ones use the process's copy.
        let fake = Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        let p = ports(&fake);
        let c = config("emailOtp");
        handle(&c, &p, fixture("create_first_round")).await.unwrap();
        handle(&c, &p, fixture("verify_link")).await.unwrap();
        assert_eq!(outbox.secret_reads(), 1);
    }

    #[tokio::test]
    async fn a_define_event_round_trips_with_its_response_filled() {
        let out = run(fixture("define_first_round")).await.unwrap();
        assert_eq!(out["response"]["challengeName"], "CUSTOM_CHALLENGE");
        assert_eq!(out["userPoolId"], "us-east-1_TestPool");
    }
}

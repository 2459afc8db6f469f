//! One entry point for every trigger: route on `triggerSource`, answer with the same event and
//! its `response` filled in.

use passwordless_contract::probe;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::Config;
use crate::delivery::{Clock, Directory, Entropy, Mailer, Ports, SmsSender, StateStore};
use crate::flows::{FlowError, create, define, signup, verify};

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
}

fn parse<T: DeserializeOwned>(trigger: &str, event: Value) -> Result<T, DispatchError> {
    serde_json::from_value(event).map_err(|e| DispatchError::Malformed {
        trigger: trigger.to_owned(),
        // Position and field only: serde_json's messages do not quote input strings for
        // type errors, but "unknown variant `...`" would; keep the classification alone.
        reason: format!("{:?} error at field path", e.classify()),
    })
}

fn reply<T: Serialize>(event: T) -> Value {
    serde_json::to_value(event).expect("Cognito events serialize")
}

pub async fn handle(
    config: &Config,
    ports: &Ports<
        impl Mailer,
        impl SmsSender,
        impl StateStore,
        impl Directory,
        impl Clock,
        impl Entropy,
    >,
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
        // The configuration was read at start-up, so answering at all proves it was accepted.
        probe::TRIGGER_SOURCE => Ok(serde_json::json!({
            "healthy": true,
            "strategy": format!("{:?}", config.strategy),
        })),
        "DefineAuthChallenge_Authentication" => {
            Ok(reply(define::define(config, parse(&trigger, event)?)))
        }
        "CreateAuthChallenge_Authentication" => {
            create::create(config, ports, parse(&trigger, event)?)
                .await
                .map(reply)
                .map_err(flow_error)
        }
        "VerifyAuthChallengeResponse_Authentication" => {
            verify::verify(config, ports, parse(&trigger, event)?)
                .await
                .map(reply)
                .map_err(flow_error)
        }
        "PreSignUp_SignUp" | "PreSignUp_AdminCreateUser" | "PreSignUp_ExternalProvider" => {
            signup::pre_sign_up(config, parse(&trigger, event)?)
                .map(reply)
                .map_err(flow_error)
        }
        "PostAuthentication_Authentication" => {
            signup::post_authentication(config, &ports.directory, parse(&trigger, event)?)
                .await
                .map(reply)
                .map_err(flow_error)
        }
        _ => Err(DispatchError::Unsupported(trigger)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;
    use crate::flows::testing::{Fake, Outbox, ports};

    async fn run(event: Value) -> Result<Value, DispatchError> {
        let outbox = Outbox::default();
        let fake = Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        handle(&config("emailOtp"), &ports(&fake), event).await
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
    async fn the_operator_probe_is_answered_without_any_port() {
        let out = run(serde_json::json!({"triggerSource": probe::TRIGGER_SOURCE}))
            .await
            .unwrap();
        assert_eq!(out["healthy"], true);
        assert_eq!(out["strategy"], "EmailOtp");
    }

    #[tokio::test]
    async fn a_define_event_round_trips_with_its_response_filled() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/define_first_round.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let out = run(serde_json::from_str(&text).unwrap()).await.unwrap();
        assert_eq!(out["response"]["challengeName"], "CUSTOM_CHALLENGE");
        assert_eq!(out["userPoolId"], "us-east-1_TestPool");
    }
}

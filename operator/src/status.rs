//! The PasswordlessPool status and its conditions, from what a reconcile found.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::crd::{PasswordlessPoolStatus, SenderStatus};
use crate::reconcile::Outputs;

/// Condition types and reasons: one place, used by the CLI, the controller and the tests.
pub mod reasons {
    pub const READY: &str = "Ready";
    pub const PROVISIONING: &str = "Provisioning";
    pub const SENDER_NOT_VERIFIED: &str = "SenderNotVerified";
    pub const AWS_ERROR: &str = "AwsError";
    pub const INVALID_SPEC: &str = "InvalidSpec";
    pub const DELETING: &str = "Deleting";
}

/// The status after a successful apply.
pub fn status_of(outputs: &Outputs, generation: Option<i64>, now: Time) -> PasswordlessPoolStatus {
    let (ok, reason, message) = match (&outputs.sender, outputs.ready()) {
        (_, true) => (
            true,
            reasons::READY,
            "every AWS resource exists and matches the spec".to_owned(),
        ),
        (Some(sender), false) if !sender.verified() => (
            false,
            reasons::SENDER_NOT_VERIFIED,
            format!(
                "SES identity {} is {}: confirm the verification email (or publish the DKIM records) to let sign-in email go out",
                sender.identity, sender.verification_status
            ),
        ),
        _ => (
            false,
            reasons::PROVISIONING,
            "AWS resources are being created".to_owned(),
        ),
    };
    PasswordlessPoolStatus {
        observed_generation: generation,
        conditions: vec![Condition {
            type_: reasons::READY.to_owned(),
            status: if ok { "True" } else { "False" }.to_owned(),
            reason: reason.to_owned(),
            message,
            last_transition_time: now,
            observed_generation: generation,
        }],
        user_pool_id: outputs.ids.user_pool_id.clone(),
        user_pool_arn: outputs.ids.user_pool_arn.clone(),
        client_id: outputs.ids.client_id.clone(),
        region: Some(outputs.region.clone()),
        issuer_url: outputs.issuer_url.clone(),
        jwks_url: outputs.jwks_url.clone(),
        sender: outputs.sender.as_ref().map(|s| SenderStatus {
            identity: s.identity.clone(),
            verification_status: s.verification_status.clone(),
        }),
        trigger_function_arns: outputs.ids.function_arn.clone().into_iter().collect(),
        secret_name: Some(outputs.secret_name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::{ObservedIds, SenderObserved};

    fn outputs(sender_status: &str) -> Outputs {
        Outputs {
            region: "eu-west-1".into(),
            ids: ObservedIds {
                user_pool_id: Some("p".into()),
                client_id: Some("c".into()),
                ..Default::default()
            },
            sender: Some(SenderObserved {
                identity: "no-reply@example.com".into(),
                verification_status: sender_status.into(),
            }),
            secret_name: "x-cognito".into(),
            ..Default::default()
        }
    }

    fn now() -> Time {
        Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn an_unverified_sender_keeps_ready_false_with_an_actionable_reason() {
        let s = status_of(&outputs("Pending"), Some(3), now());
        let ready = &s.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", reasons::SENDER_NOT_VERIFIED)
        );
        assert!(ready.message.contains("no-reply@example.com is Pending"));
        assert_eq!(s.observed_generation, Some(3));
        // The other resources are reported all the same.
        assert_eq!(s.user_pool_id.as_deref(), Some("p"));
    }

    #[test]
    fn a_verified_sender_and_both_ids_make_the_pool_ready() {
        let s = status_of(&outputs("Success"), None, now());
        assert_eq!(
            (
                s.conditions[0].status.as_str(),
                s.conditions[0].reason.as_str()
            ),
            ("True", reasons::READY)
        );
    }
}

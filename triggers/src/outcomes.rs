//! What became of each send, for the platform team and never for the client: a CloudWatch
//! embedded-metric-format line per outcome (sent, failed by reason, cooldown, during a lock,
//! stood in for an unknown user, Cognito's retry), per user pool. CloudWatch turns the lines
//! the function prints into the `PasswordlessOperator` namespace's `Deliveries` metric; no
//! address, code or token is ever in them.

use std::sync::Mutex;

/// The CloudWatch namespace of the trigger's metrics.
pub const NAMESPACE: &str = "PasswordlessOperator";
/// The metric: one per outcome.
pub const METRIC: &str = "Deliveries";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Sent during a lock: a hardened code.
    SentDuringLock,
    /// SES or SNS refused or failed (the AWS error code, e.g. `MessageRejected` from the SES
    /// sandbox); the client was answered as if sent.
    Failed(String),
    Cooldown,
    /// An unknown user: nothing sent, the answer as for a known one.
    StandIn,
    /// Cognito's retry of a request already answered: nothing sent again.
    Retried,
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::SentDuringLock => "sent_during_lock",
            Self::Failed(_) => "failed",
            Self::Cooldown => "cooldown",
            Self::StandIn => "unknown_user",
            Self::Retried => "retried",
        }
    }
}

/// One embedded-metric-format line: the outcome counted once for `pool`; a failure carries
/// its reason as a third dimension.
pub fn emf_line(pool: &str, outcome: &Outcome, timestamp_ms: u64) -> String {
    let mut dimensions = vec!["UserPoolId", "Outcome"];
    let mut line = serde_json::json!({
        "UserPoolId": pool,
        "Outcome": outcome.label(),
        METRIC: 1,
    });
    if let Outcome::Failed(reason) = outcome {
        dimensions.push("Reason");
        line["Reason"] = reason.as_str().into();
    }
    line["_aws"] = serde_json::json!({
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [dimensions],
            "Metrics": [{"Name": METRIC, "Unit": "Count"}],
        }],
    });
    line.to_string()
}

/// Where outcomes go: printed (the function's log is CloudWatch's input), and kept for tests.
#[derive(Debug, Default)]
pub struct Outcomes {
    print: bool,
    seen: Mutex<Vec<String>>,
}

impl Outcomes {
    /// Lines printed to standard output, as Lambda sends them to CloudWatch.
    pub fn printed() -> Self {
        Self {
            print: true,
            ..Self::default()
        }
    }

    pub fn record(&self, pool: &str, outcome: &Outcome, timestamp_ms: u64) {
        let line = emf_line(pool, outcome, timestamp_ms);
        if self.print {
            println!("{line}");
        }
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(line);
        }
    }

    /// The lines recorded so far.
    pub fn lines(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_is_one_metric_line_per_pool_and_a_failure_names_its_reason() {
        for (outcome, dimensions) in [
            (Outcome::Sent, vec!["UserPoolId", "Outcome"]),
            (Outcome::Cooldown, vec!["UserPoolId", "Outcome"]),
            (
                Outcome::Failed("MessageRejected".into()),
                vec!["UserPoolId", "Outcome", "Reason"],
            ),
        ] {
            let line: serde_json::Value =
                serde_json::from_str(&emf_line("us-east-1_P", &outcome, 1_700_000_000_000))
                    .unwrap();
            let meta = &line["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(meta["Namespace"], NAMESPACE);
            assert_eq!(meta["Metrics"][0]["Name"], METRIC);
            assert_eq!(meta["Dimensions"][0], serde_json::json!(dimensions));
            assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000u64);
            assert_eq!(line[METRIC], 1);
            assert_eq!(line["UserPoolId"], "us-east-1_P");
            assert_eq!(line["Outcome"], outcome.label());
            // Every dimension is a member of the line, as EMF requires.
            for d in dimensions {
                assert!(line[d].is_string(), "{d}");
            }
        }
    }
}

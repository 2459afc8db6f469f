//! Reading fields that anyone with status write access may have written: a value that does not
//! parse is treated as absent for that object alone, so one bad status can never fail the
//! initial list (and with it every tenant's reconciles and deletions). The operator rewrites
//! its own status on the object's next reconcile.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The field's value, or its default (absent) when it does not parse.
pub fn or_absent<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let value = Value::deserialize(d)?;
    Ok(T::deserialize(value).unwrap_or_else(|e| {
        unreadable(&e);
        T::default()
    }))
}

/// The list's items that parse; the others are dropped. Not a list at all: empty.
pub fn each_or_dropped<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let Value::Array(items) = Value::deserialize(d)? else {
        return Ok(Vec::new());
    };
    Ok(items
        .into_iter()
        .filter_map(|item| T::deserialize(item).inspect_err(unreadable).ok())
        .collect())
}

/// Once per field read, never its value: serde's message can quote the value (a tenant's
/// megabyte string), so only the kind of error and its position are logged.
fn unreadable(e: &serde_json::Error) {
    tracing::warn!(kind = ?e.classify(), line = e.line(), column = e.column(), "a status field this operator cannot read is treated as absent; the next reconcile rewrites it");
}

#[cfg(test)]
mod tests {
    use crate::crd::PasswordlessPool;

    fn pool(status: &str) -> PasswordlessPool {
        serde_json::from_str(&format!(
            r#"{{"apiVersion": "passwordless-operator.dev/v1alpha1", "kind": "PasswordlessPool",
                "metadata": {{"name": "web", "namespace": "shop"}}, "spec": {{"strategy": "smsOtp"}},
                "status": {status}}}"#
        ))
        .expect("a pool with any status still parses")
    }

    #[test]
    fn an_unreadable_status_field_is_absent_and_the_rest_is_kept() {
        let ok = r#"{"type": "Ready", "status": "True", "reason": "Ready", "message": "", "lastTransitionTime": "2024-01-01T00:00:00Z"}"#;
        let bad = r#"{"type": "Stalled", "status": "False", "reason": "x", "message": "", "lastTransitionTime": "2024-01-01T00:00:00_1Z"}"#;
        let p = pool(&format!(
            r#"{{"userPoolId": "eu-west-1_A", "observedGeneration": "two", "conditions": [{ok}, {bad}],
                 "sender": {{"identity": 7}}, "triggerFunctionArns": "f", "clientId": "c"}}"#
        ));
        let status = p.status.unwrap();
        assert_eq!(status.user_pool_id.as_deref(), Some("eu-west-1_A"));
        assert_eq!(status.client_id.as_deref(), Some("c"));
        assert_eq!(status.observed_generation, None);
        assert_eq!(status.sender, None);
        assert!(status.trigger_function_arns.is_empty());
        let types: Vec<&str> = status.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            types,
            ["Ready"],
            "the unreadable condition alone is dropped"
        );
        assert_eq!(pool("{}").status.unwrap(), Default::default());
    }
}

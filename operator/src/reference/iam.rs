//! The operator's IAM policy and the trigger roles' boundary, as `iam-policy` prints them with
//! no tenancy file, in the standard partition.

use super::generated_from;
use super::markdown::{cell, code, finish, table};
use crate::desired::{TriggerBoundary, trigger_boundary_policy};
use crate::iam_policy::{Scope, operator_policy};
use crate::partition::Partition;

/// A JSON value as one table cell.
fn listed(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Array(items) => items.iter().map(listed).collect::<Vec<_>>().join(", "),
        serde_json::Value::String(s) => code(s),
        other => code(&other.to_string()),
    }
}

fn statements(policy: &serde_json::Value) -> String {
    let rows: Vec<Vec<String>> = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let resource = s.get("Resource").or_else(|| s.get("NotResource"));
            let not = if s.get("NotResource").is_some() {
                "not "
            } else {
                ""
            };
            vec![
                s.get("Sid")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned(),
                listed(&s["Action"]),
                format!("{not}{}", resource.map(listed).unwrap_or_default()),
                s.get("Condition")
                    .map(|c| cell(&code(&c.to_string())))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    table(&["statement", "actions", "resources", "condition"], &rows)
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value serializes")
}

pub fn page() -> String {
    let partition = Partition::standard();
    let boundary = TriggerBoundary::default();
    let policy = operator_policy(&Scope::default(), &boundary, &partition);
    let trigger = trigger_boundary_policy(&partition);
    let mut out = generated_from("`operator/src/iam_policy/` (`passwordless-operator iam-policy`)");
    out.push_str("# Operator IAM policy\n\n");
    out.push_str(
        "The least-privilege policy of the operator's own role: every call a pool's life makes, \
         and nothing more (a test replays a pool's lifecycle against it). Print it for your \
         installation with `passwordless-operator iam-policy`: with `--tenancy-config` it adds \
         `sts:AssumeRole` on the roles namespaces are mapped to and the adoptable pools; \
         `--partition` or `--region` writes it for China or GovCloud; `--boundary` prints the \
         trigger roles' permissions boundary, and `-f POOL.yaml` one pool's trigger-role policy. \
         Below: no tenancy file, the standard partition, the default boundary name.\n\n",
    );
    out.push_str("## Statements\n\n");
    out.push_str(&statements(&policy));
    out.push_str("\n## The document\n\n```json\n");
    out.push_str(&pretty(&policy));
    out.push_str("\n```\n\n## The trigger roles' permissions boundary\n\n");
    out.push_str(
        "Every trigger role the operator makes carries this managed policy as its permissions \
         boundary; the platform team creates it, under the same path and name, in every \
         account the operator makes roles in (`passwordless-operator iam-policy --boundary`). \
         The operator may create a role only with it.\n\n",
    );
    out.push_str(&statements(&trigger));
    out.push_str("\n```json\n");
    out.push_str(&pretty(&trigger));
    out.push_str("\n```\n");
    finish(out)
}

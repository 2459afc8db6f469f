//! The Helm values reference: each value's path, type and bounds from `values.schema.json`,
//! its default from `values.yaml`, and its description from the comment above it there.

use serde_json::Value;

use super::generated_from;
use super::markdown::{cell, code, finish, table};

const SCHEMA: &str = include_str!("../../../charts/passwordless-operator/values.schema.json");
const VALUES: &str = include_str!("../../../charts/passwordless-operator/values.yaml");

/// `path -> comment` for every key of `values.yaml` that has a comment block right above it.
fn comments(values: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for line in values.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(comment) = trimmed.strip_prefix('#') {
            pending.push(comment.strip_prefix(' ').unwrap_or(comment).to_owned());
            continue;
        }
        let key = trimmed
            .split_once(':')
            .map(|(k, _)| k)
            .filter(|k| !k.is_empty() && !k.starts_with('-') && !k.contains(' '));
        let Some(key) = key else {
            pending.clear();
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let path = stack
            .iter()
            .map(|(_, k)| k.as_str())
            .chain([key])
            .collect::<Vec<_>>()
            .join(".");
        if !pending.is_empty() {
            out.push((path.clone(), pending.join(" ")));
            pending.clear();
        }
        stack.push((indent, key.to_owned()));
    }
    out
}

fn kind(schema: &Value) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let listed: Vec<String> = values.iter().map(|v| code(&v.to_string())).collect();
        return format!("one of {}", listed.join(", "));
    }
    let mut parts = vec![match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        Some(Value::String(t)) => t.clone(),
        _ => "any".to_owned(),
    }];
    for (key, said, unit) in [
        ("minimum", "at least", ""),
        ("maximum", "at most", ""),
        ("minLength", "at least", " characters"),
        ("maxLength", "at most", " characters"),
    ] {
        if let Some(n) = schema.get(key) {
            parts.push(format!("{said} {n}{unit}"));
        }
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        parts.push(format!("matching {}", code(pattern)));
    }
    parts.join("; ")
}

/// Every leaf of the schema (an object without declared properties counts as one).
fn leaves(path: &str, schema: &Value, out: &mut Vec<(String, Value)>) {
    match schema.get("properties").and_then(Value::as_object) {
        Some(props) => {
            for (name, child) in props {
                let child_path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                leaves(&child_path, child, out);
            }
        }
        None => out.push((path.to_owned(), schema.clone())),
    }
}

fn default_of(values: &serde_yaml::Value, path: &str) -> Option<String> {
    let mut at = values;
    for part in path.split('.') {
        at = at.get(part)?;
    }
    let json = serde_json::to_value(at).ok()?;
    Some(json.to_string())
}

pub fn page() -> String {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the chart's schema is JSON");
    let values: serde_yaml::Value = serde_yaml::from_str(VALUES).expect("values.yaml is YAML");
    let comments = comments(VALUES);
    let mut all = Vec::new();
    leaves("", &schema, &mut all);
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|(path, s)| {
            let said = comments
                .iter()
                .filter(|(p, _)| path == p || path.starts_with(&format!("{p}.")))
                .map(|(_, c)| c.as_str())
                .next_back()
                .or_else(|| s.get("description").and_then(Value::as_str))
                .unwrap_or("");
            vec![
                code(path),
                cell(&kind(s)),
                default_of(&values, path)
                    .map(|d| code(&d))
                    .unwrap_or_default(),
                cell(said),
            ]
        })
        .collect();
    let mut out =
        generated_from("`charts/passwordless-operator/values.schema.json` and `values.yaml`");
    out.push_str("# Helm values\n\n");
    out.push_str(
        "Every value of the chart. `helm install` refuses an unknown key or a value outside \
         its type or bounds (the chart's `values.schema.json`), so a mistake fails at install \
         time, not in the operator. Descriptions are the comments of the chart's `values.yaml`.\n\n",
    );
    out.push_str(&table(&["value", "type", "default", "description"], &rows));
    finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_found_under_their_key_path() {
        let yaml = "# top\na: 1\nb:\n  # inner\n  c: x\n  d: y\n# e's\ne: []\n";
        assert_eq!(
            comments(yaml),
            [
                ("a".to_owned(), "top".to_owned()),
                ("b.c".to_owned(), "inner".to_owned()),
                ("e".to_owned(), "e's".to_owned()),
            ]
        );
    }
}

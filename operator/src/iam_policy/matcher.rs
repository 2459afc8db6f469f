//! Whether one IAM policy allows everything another allows (a trigger role's policy within its
//! permissions boundary). Small on purpose: Action and Resource globs (`*`, `?`), NotResource,
//! and `StringEquals` conditions held against known facts. What it does not understand (a Deny
//! in the boundary, NotAction, another condition operator) counts as not allowed, so it can
//! only err towards refusing.

use std::collections::BTreeMap;

use serde_json::Value;

/// Where a statement acts.
enum Target<'a> {
    In(Vec<&'a str>),
    NotIn(Vec<&'a str>),
}

/// `Ok` when `boundary` allows everything `policy` allows; else every `action on resource` it
/// does not. `facts`: condition keys known to hold for every request `policy` allows (e.g. its
/// resources' tags, as `aws:ResourceTag/KEY`).
pub fn within(
    boundary: &Value,
    policy: &Value,
    facts: &BTreeMap<String, String>,
) -> Result<(), Vec<String>> {
    let bounds = statements(boundary);
    if bounds.iter().any(|b| b["Effect"] != "Allow") {
        return Err(vec![
            "the boundary has a statement other than Allow".to_owned(),
        ]);
    }
    let mut outside = Vec::new();
    // A Deny in `policy` only takes away: leaving it out can only refuse more.
    for s in statements(policy)
        .into_iter()
        .filter(|s| s["Effect"] == "Allow")
    {
        let (Some(actions), Some(target)) = (strings(s.get("Action")), target_of(s)) else {
            outside.push(format!("a statement this check cannot read: {s}"));
            continue;
        };
        for action in actions {
            // The boundary's statements that allow this action, their conditions holding.
            let allowing: Vec<&Value> = bounds
                .iter()
                .copied()
                .filter(|b| {
                    let acts = strings(b.get("Action")).unwrap_or_default();
                    acts.iter()
                        .any(|a| includes(&a.to_lowercase(), &action.to_lowercase()))
                        && holds(b.get("Condition"), facts)
                })
                .collect();
            match &target {
                Target::In(resources) => {
                    for r in resources {
                        let covered = allowing.iter().any(|b| match target_of(b) {
                            Some(Target::In(ps)) => ps.iter().any(|p| includes(p, r)),
                            _ => false,
                        });
                        if !covered {
                            outside.push(format!("{action} on {r}"));
                        }
                    }
                }
                // Everything but `excluded` lies within everything but what the boundary
                // excludes when each of its exclusions lies within one of ours.
                Target::NotIn(excluded) => {
                    let covered = allowing.iter().any(|b| match target_of(b) {
                        Some(Target::In(ps)) => ps.contains(&"*"),
                        Some(Target::NotIn(theirs)) => theirs
                            .iter()
                            .all(|t| excluded.iter().any(|e| includes(e, t))),
                        None => false,
                    });
                    if !covered {
                        outside.push(format!("{action} on all but {excluded:?}"));
                    }
                }
            }
        }
    }
    if outside.is_empty() {
        Ok(())
    } else {
        Err(outside)
    }
}

fn statements(doc: &Value) -> Vec<&Value> {
    match &doc["Statement"] {
        Value::Array(list) => list.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    }
}

/// A string or a list of strings.
fn strings(v: Option<&Value>) -> Option<Vec<&str>> {
    match v? {
        Value::String(s) => Some(vec![s]),
        Value::Array(list) => list.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

fn target_of(s: &Value) -> Option<Target<'_>> {
    match (strings(s.get("Resource")), strings(s.get("NotResource"))) {
        (Some(r), None) => Some(Target::In(r)),
        (None, Some(n)) => Some(Target::NotIn(n)),
        _ => None,
    }
}

/// Every operator is `StringEquals`, and each of its keys is a fact with one of its values.
fn holds(condition: Option<&Value>, facts: &BTreeMap<String, String>) -> bool {
    let Some(condition) = condition else {
        return true;
    };
    let Some(operators) = condition.as_object() else {
        return false;
    };
    operators.iter().all(|(operator, keys)| {
        operator == "StringEquals"
            && keys.as_object().is_some_and(|keys| {
                keys.iter().all(|(key, wanted)| {
                    let fact = facts.get(key).map(String::as_str);
                    strings(Some(wanted)).is_some_and(|w| fact.is_some_and(|f| w.contains(&f)))
                })
            })
    })
}

/// Whether glob `pattern` matches every string glob `subject` matches: as a match of `subject`
/// itself, where its `*` can only be taken by a `*` of `pattern`, and its `?` by a `?` or `*`.
fn includes(pattern: &str, subject: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.split_first(), s.split_first()) {
            (None, None) => true,
            (Some((b'*', rest)), _) => go(rest, s) || (!s.is_empty() && go(p, &s[1..])),
            (Some((pc, p_rest)), Some((sc, s_rest))) => {
                let one = match (pc, sc) {
                    (_, b'*') => false,
                    (b'?', _) => true,
                    _ => pc == sc,
                };
                one && go(p_rest, s_rest)
            }
            _ => false,
        }
    }
    go(pattern.as_bytes(), subject.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_glob_includes_what_it_matches_and_only_wider_wildcards() {
        for (pattern, subject, included) in [
            ("table/pwp-*", "table/pwp-a-1", true),
            ("table/pwp-*", "table/pwp-*", true),
            ("table/pwp-*", "table/*", false),
            ("table/pwp-*", "table/other", false),
            ("secret:a/*", "secret:a/b-??????", true),
            ("secret:a/b-??????", "secret:a/b-AbCdEf", true),
            ("secret:a/b-??????", "secret:a/b-AbCdE", false),
            // A `?` stands for one character, never for what a `*` may be.
            ("a?c", "a*c", false),
            ("a*c", "a?c", true),
            ("*", "", true),
            ("", "", true),
            ("a", "", false),
            ("log-group:x*", "log-group:x:*", true),
        ] {
            assert_eq!(
                includes(pattern, subject),
                included,
                "{pattern} ⊇ {subject}"
            );
        }
    }

    fn facts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn doc(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    #[test]
    fn a_policy_lies_within_a_boundary_only_where_every_grant_does() {
        let boundary = doc(json!([
            {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
             "Resource": "arn:aws:dynamodb:*:*:table/pwp-*"},
            {"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:*"},
            {"Effect": "Allow", "Action": "cognito-idp:Admin*",
             "Resource": "arn:aws:cognito-idp:*:*:userpool/*",
             "Condition": {"StringEquals": {"aws:ResourceTag/owner": "us"}}},
        ]));
        let ours = facts(&[("aws:ResourceTag/owner", "us")]);
        let table = "arn:aws:dynamodb:eu-west-1:1:table/pwp-a";
        let pool = "arn:aws:cognito-idp:eu-west-1:1:userpool/eu-west-1_A";
        for (statement, facts, outside) in [
            (json!({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}), &ours, vec![]),
            // Actions compare without case, as IAM does.
            (json!({"Effect": "Allow", "Action": "DynamoDB:getitem", "Resource": table}), &ours, vec![]),
            (json!({"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": table}), &ours,
             vec![format!("dynamodb:Scan on {table}")]),
            (json!({"Effect": "Allow", "Action": "dynamodb:*", "Resource": table}), &ours,
             vec![format!("dynamodb:* on {table}")]),
            (json!({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:*:*:table/*"}),
             &ours, vec!["dynamodb:GetItem on arn:aws:dynamodb:*:*:table/*".to_owned()]),
            (json!({"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:*"}), &ours, vec![]),
            // Publishing to every topic but one is more than to no topic at all.
            (json!({"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:secret"}), &ours,
             vec![r#"sns:Publish on all but ["arn:aws:sns:*:*:secret"]"#.to_owned()]),
            (json!({"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:*:*:t"}), &ours,
             vec!["sns:Publish on arn:aws:sns:*:*:t".to_owned()]),
            (json!({"Effect": "Allow", "Action": "cognito-idp:AdminUpdateUserAttributes", "Resource": pool}),
             &ours, vec![]),
            // The boundary's condition must be known to hold.
            (json!({"Effect": "Allow", "Action": "cognito-idp:AdminUpdateUserAttributes", "Resource": pool}),
             &facts(&[("aws:ResourceTag/owner", "them")]),
             vec![format!("cognito-idp:AdminUpdateUserAttributes on {pool}")]),
            (json!({"Effect": "Allow", "Action": "cognito-idp:AdminUpdateUserAttributes", "Resource": pool}),
             &BTreeMap::new(), vec![format!("cognito-idp:AdminUpdateUserAttributes on {pool}")]),
            // What only takes away lies within anything.
            (json!({"Effect": "Deny", "Action": "*", "Resource": "*"}), &ours, vec![]),
            (json!({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), &ours,
             vec![r#"a statement this check cannot read: {"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#.to_owned()]),
        ] {
            let found = within(&boundary, &doc(json!([statement])), facts);
            let want = if outside.is_empty() { Ok(()) } else { Err(outside) };
            assert_eq!(found, want, "{statement}");
        }
    }

    #[test]
    fn a_boundary_it_cannot_fully_read_allows_nothing() {
        let everything = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
        let other_operator = doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringLike": {"aws:ResourceTag/owner": "*"}}}]));
        let facts = facts(&[("aws:ResourceTag/owner", "us")]);
        let policy = doc(
            json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/k"}]),
        );
        assert!(within(&doc(json!([everything.clone()])), &policy, &facts).is_ok());
        assert!(within(&other_operator, &policy, &facts).is_err());
        let with_deny =
            doc(json!([everything, {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]));
        assert!(within(&with_deny, &policy, &facts).is_err());
    }
}

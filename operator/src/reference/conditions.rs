//! The conditions reference and one troubleshooting page per reason, from `reasons.rs`.

use super::markdown::{cell, code, finish, table};
use super::{Page, generated_from};
use crate::reasons::{ALL, CONDITION_TYPES, Reason, Stalls};

const SOURCE: &str = "`operator/src/reasons.rs`";

fn stalls(s: Stalls) -> String {
    match s {
        Stalls::Never => "no".to_owned(),
        Stalls::Always => "yes".to_owned(),
        Stalls::When(case) => format!("when {case}"),
    }
}

/// The troubleshooting page of a reason, relative to `docs/src/`.
fn reason_path(r: &Reason) -> String {
    format!("troubleshooting/reasons/{}.md", r.name)
}

pub fn page() -> String {
    let mut out = generated_from(SOURCE);
    out.push_str("# Conditions and reasons\n\n");
    out.push_str(
        "A `PasswordlessPool`'s status carries these conditions. `kubectl describe pwp NAME` shows them; \
         Argo CD and `kubectl wait --for=condition=Ready` read them.\n\n",
    );
    let types: Vec<Vec<String>> = CONDITION_TYPES
        .iter()
        .map(|c| vec![code(c.name), cell(c.meaning)])
        .collect();
    out.push_str(&table(&["condition", "meaning"], &types));
    out.push_str("\n## Reasons\n\n");
    out.push_str(
        "Stalled: whether the reason comes with `Stalled=True` (the operator waits for a change, \
         re-checking at each resync) rather than `Reconciling=True` (it works on, or retries with \
         backoff). Each reason's page says what to do.\n\n",
    );
    let rows: Vec<Vec<String>> = ALL
        .iter()
        .map(|r| {
            vec![
                format!("[{}](../{})", r.name, reason_path(r)),
                format!("{}={}", r.condition, r.status),
                cell(&stalls(r.stalls)),
                cell(r.meaning),
            ]
        })
        .collect();
    out.push_str(&table(
        &["reason", "condition", "stalled", "meaning"],
        &rows,
    ));
    finish(out)
}

/// One page per reason, and their index.
pub fn reason_pages() -> Vec<Page> {
    let mut index = generated_from(SOURCE);
    index.push_str("# Reasons, one by one\n\n");
    index.push_str(
        "The reason of a condition is in `kubectl get pwp NAME -o jsonpath='{.status.conditions}'` \
         and in `kubectl describe`. Each page says what it means and what to do.\n\n",
    );
    let mut pages = Vec::new();
    for r in &ALL {
        index.push_str(&format!(
            "- [{}](reasons/{}.md): {}\n",
            r.name,
            r.name,
            cell(r.meaning)
        ));
        let mut page = generated_from(SOURCE);
        page.push_str(&format!("# {}\n\n", r.name));
        page.push_str(&format!(
            "Condition: `{}={}`. Stalled: {}.\n\n",
            r.condition,
            r.status,
            stalls(r.stalls)
        ));
        page.push_str(&format!("## What it means\n\n{}\n\n", r.meaning));
        page.push_str(&format!("## What to do\n\n{}\n\n", r.remedy));
        page.push_str(
            "See also: [a pool is not Ready](../not-ready.md), [all conditions](../../reference/conditions.md).\n",
        );
        pages.push(Page::new(reason_path(r), finish(page)));
    }
    pages.push(Page::new("troubleshooting/reasons.md", finish(index)));
    pages
}

/// The lines `SUMMARY.md` must hold for the reason pages (under the index's entry).
pub fn summary_lines() -> Vec<String> {
    ALL.iter()
        .map(|r| format!("    - [{}]({})", r.name, reason_path(r)))
        .collect()
}

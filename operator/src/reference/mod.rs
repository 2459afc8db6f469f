//! The book's reference pages, generated from the code that defines what they describe: the
//! API from the CRD schema, the conditions and reasons from `reasons.rs`, the annotations from `annotations.rs`, the IAM policy from
//! `iam_policy`, the trigger's environment from the contract, the metrics from `metrics.rs`
//! and the Helm values from the chart. The CLI's page is the binary's (its arguments live
//! there). `passwordless-operator reference` writes them; a test fails when a committed page
//! differs. Pure: text in, text out.

mod annotations;
mod api;
mod conditions;
mod helm;
mod iam;
mod markdown;
mod metrics;
mod trigger_env;

/// One generated file, by its path under `docs/src/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub path: String,
    pub text: String,
}

impl Page {
    fn new(path: impl Into<String>, text: String) -> Self {
        Self {
            path: path.into(),
            text,
        }
    }
}

/// The first line of every generated page: where it comes from, and not to edit it.
fn generated_from(source: &str) -> String {
    format!(
        "<!-- Generated from {source} by `make docs-reference`; a test fails when it drifts. Do not edit. -->\n\n"
    )
}

/// Every page this crate generates (all but the CLI's).
pub fn pages() -> Vec<Page> {
    let mut pages = vec![
        Page::new("reference/api.md", api::page()),
        Page::new("reference/conditions.md", conditions::page()),
        Page::new("reference/annotations.md", annotations::page()),
        Page::new("reference/iam-policy.md", iam::page()),
        Page::new("reference/trigger-environment.md", trigger_env::page()),
        Page::new("reference/metrics.md", metrics::page()),
        Page::new("reference/helm-values.md", helm::page()),
    ];
    pages.extend(conditions::reason_pages());
    pages
}

/// The lines the hand-written `SUMMARY.md` must hold so that every generated page is in the
/// book (mdBook renders only the pages it lists).
pub fn summary_lines() -> Vec<String> {
    conditions::summary_lines()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_says_it_is_generated_and_paths_are_unique() {
        let all = pages();
        let mut paths: Vec<&str> = all.iter().map(|p| p.path.as_str()).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), all.len());
        for page in &all {
            assert!(
                page.text.starts_with("<!-- Generated from"),
                "{}",
                page.path
            );
            assert!(
                page.text.ends_with('\n') && !page.text.ends_with("\n\n"),
                "{}",
                page.path
            );
        }
    }
}

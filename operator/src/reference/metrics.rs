//! The metrics reference, from `metrics::FAMILIES`.

use super::generated_from;
use super::markdown::{cell, code, finish, table};
use crate::controller::Error as ControllerError;
use crate::metrics::{FAMILIES, PREFIX};
use crate::reconcile_error::Error as ReconcileError;

pub fn page() -> String {
    let mut out = generated_from("`operator/src/metrics.rs`");
    out.push_str("# Metrics\n\n");
    out.push_str(
        "The operator serves Prometheus text at `/metrics` on its HTTP port (the chart's \
         ServiceMonitor scrapes it). Every replica serves them; `leader` tells which one \
         reconciles, and only that one reports the pools (`pools`, `pool_not_ready_seconds`). \
         The chart's alerts and dashboard read these: see [monitoring](../guides/monitoring.md).\n\n",
    );
    let rows: Vec<Vec<String>> = FAMILIES
        .iter()
        .map(|f| {
            vec![
                code(&format!("{PREFIX}_{}", f.name)),
                f.kind.to_owned(),
                f.labels
                    .iter()
                    .map(|l| code(l))
                    .collect::<Vec<_>>()
                    .join(", "),
                cell(f.help),
            ]
        })
        .collect();
    out.push_str(&table(&["metric", "type", "labels", "meaning"], &rows));
    out.push_str("\n## The `error` label\n\n");
    out.push_str("`reconcile_errors_total` counts failures by a stable label.\n\n");
    let labels: Vec<Vec<String>> = ReconcileError::METRIC_LABELS
        .iter()
        .chain(&ControllerError::METRIC_LABELS)
        .map(|(label, meaning)| vec![code(label), cell(meaning)])
        .collect();
    out.push_str(&table(&["label", "meaning"], &labels));
    finish(out)
}

//! The annotations reference, from `annotations::ALL`.

use super::generated_from;
use super::markdown::{cell, code, finish, table};
use crate::annotations::ALL;

pub fn page() -> String {
    let mut out = generated_from("`operator/src/annotations.rs`");
    out.push_str("# Annotations\n\n");
    out.push_str(
        "Annotations a team sets on a `PasswordlessPool` to ask something of the operator, e.g. \
         `kubectl annotate pwp NAME KEY=VALUE --overwrite`. The operator never writes them, so \
         they stay out of the way of Argo CD and Helm (set them with `kubectl`, or in the \
         manifest). A value over 253 characters is ignored.\n\n",
    );
    let rows: Vec<Vec<String>> = ALL
        .iter()
        .map(|a| vec![code(a.name), cell(a.value), cell(a.effect)])
        .collect();
    out.push_str(&table(&["annotation", "value", "effect"], &rows));
    out.push_str(
        "\nGuides: [pause and reconcile-now](../guides/pause-and-reconcile.md), \
         [signing-key rotation](../guides/key-rotation.md), \
         [managed login and passkeys](../guides/managed-login.md).\n",
    );
    finish(out)
}

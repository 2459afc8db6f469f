//! The trigger's environment, from the contract (`passwordless_contract::env::ALL`).

use passwordless_contract::env::ALL;

use super::generated_from;
use super::markdown::{cell, code, finish, table};

pub fn page() -> String {
    let mut out = generated_from("`contract/src/lib.rs` (`env::ALL`)");
    out.push_str("# Trigger environment\n\n");
    out.push_str(
        "The operator sets these variables on each pool's trigger function, from the pool's \
         spec; the trigger reads them at start and refuses to run with a value outside its \
         range (the operator's probe then reports `TriggerUnhealthy`). They are the operator's \
         half of the contract crate, which both sides build from. No signing key, code or token \
         is ever among them.\n\n",
    );
    let rows: Vec<Vec<String>> = ALL
        .iter()
        .map(|v| vec![code(v.name), cell(v.from), cell(v.meaning)])
        .collect();
    out.push_str(&table(&["variable", "set from", "meaning"], &rows));
    out.push_str(
        "\nLambda limits a function's environment to 4 KB, measured as JSON: a spec whose \
         templates would exceed it is refused with `InvalidSpec`.\n",
    );
    finish(out)
}

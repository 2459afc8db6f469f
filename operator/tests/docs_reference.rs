//! The book's generated pages, checked against what the code generates (as `crds/` is): the
//! binary's `reference --check` names every page that drifted and every reason page the
//! book's table of contents does not list.

mod common;

use std::process::Command;

#[test]
fn generated_book_pages_match_the_code() {
    let out = Command::new(env!("CARGO_BIN_EXE_passwordless-operator"))
        .args(["reference", "--check", "--out"])
        .arg(common::repo_file("docs/src"))
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

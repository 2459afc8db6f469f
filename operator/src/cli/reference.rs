//! `passwordless-operator reference`: writes the book's generated pages (the library's, and the
//! CLI's from these argument definitions), or with `--check` says which committed ones differ.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use clap::CommandFactory;
use passwordless_operator::reference::{self, Page};

use super::args::{Cli, ReferenceArgs};

/// The CLI reference: each command's `--help`, as the binary prints it.
fn cli_page() -> Page {
    // Environment values are the reader's, not the generator's.
    let mut cli = Cli::command().mut_args(|a| a.hide_env_values(true));
    let mut text = String::from(
        "<!-- Generated from the argument definitions in `operator/src/cli/args.rs` by `make docs-reference`; a test fails when it drifts. Do not edit. -->\n\n# CLI\n\n",
    );
    text.push_str(
        "One binary: `run` is the in-cluster controller; `plan`, `apply`, `delete` and `signin` \
         manage a pool from a manifest file with no cluster at all (against AWS, or an emulator \
         through `AWS_ENDPOINT_URL`); `crd` and `iam-policy` print what the platform team \
         installs. Every flag with an environment twin shows it as `[env: NAME]`.\n\n",
    );
    text.push_str(&format!(
        "## passwordless-operator\n\n```text\n{}\n```\n",
        cli.render_long_help().to_string().trim_end()
    ));
    let subcommands: Vec<clap::Command> = cli
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .cloned()
        .collect();
    for sub in subcommands {
        let name = sub.get_name().to_owned();
        let mut sub = sub
            .mut_args(|a| a.hide_env_values(true))
            .bin_name(format!("passwordless-operator {name}"));
        text.push_str(&format!(
            "\n## passwordless-operator {name}\n\n```text\n{}\n```\n",
            sub.render_long_help().to_string().trim_end()
        ));
    }
    Page {
        path: "reference/cli.md".to_owned(),
        text,
    }
}

fn all_pages() -> Vec<Page> {
    let mut pages = reference::pages();
    pages.push(cli_page());
    pages
}

pub fn run(args: &ReferenceArgs) -> Result<()> {
    let root = &args.out;
    let mut drifted = Vec::new();
    for page in all_pages() {
        let path = root.join(&page.path);
        if args.check {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != page.text {
                drifted.push(page.path);
            }
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, &page.text).with_context(|| format!("writing {}", path.display()))?;
    }
    let missing = missing_from_summary(root)?;
    if !drifted.is_empty() || !missing.is_empty() {
        bail!(
            "generated pages differ from {} (run `make docs-reference`): {}{}",
            root.display(),
            drifted.join(", "),
            if missing.is_empty() {
                String::new()
            } else {
                format!("; SUMMARY.md lacks these lines: {}", missing.join(" / "))
            }
        );
    }
    Ok(())
}

/// The lines `SUMMARY.md` must list for every generated page to be rendered.
fn missing_from_summary(root: &Path) -> Result<Vec<String>> {
    let path = root.join("SUMMARY.md");
    let summary =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let listed: Vec<&str> = summary.lines().collect();
    Ok(reference::summary_lines()
        .into_iter()
        .filter(|line| !listed.contains(&line.as_str()))
        .collect())
}

//! The `passwordless-operator` command line: `run` (the in-cluster controller), `crd`, and
//! `plan` / `apply` / `delete` / `signin` against AWS (or an emulator, through
//! `AWS_ENDPOINT_URL`) with no cluster at all. Parses, then hands over to `cli`.

mod cli;

use anyhow::Result;
use clap::Parser;

use cli::args::{Cli, Command, LogFormat};

/// See the workspace Cargo.toml: memory returns to the OS after upload peaks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Run(args) => cli::run::run(args).await,
        Command::Crd => {
            print!(
                "{}",
                passwordless_operator::crdgen::custom_resource_definition_yaml()
            );
            Ok(())
        }
        Command::IamPolicy(args) => cli::iam_policy::print(&args),
        Command::Plan(args) => cli::pool::plan(&args).await,
        Command::Apply(args) => cli::pool::apply(&args).await,
        Command::Delete(args) => cli::pool::delete(&args).await,
        Command::Signin(args) => cli::signin::signin(args).await,
        Command::Reference(args) => cli::reference::run(&args),
    }
}

/// Logs go to stderr, as text or JSON lines, filtered by RUST_LOG (default: info). Text is
/// coloured on a terminal only: a log file or `kubectl logs` gets no escape codes.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

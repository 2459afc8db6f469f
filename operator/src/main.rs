//! The `passwordless-operator` command line.

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "Passwordless sign-in on AWS Cognito from one PasswordlessPool resource"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the PasswordlessPool CustomResourceDefinition as YAML.
    Crd,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Crd => print!(
            "{}",
            passwordless_operator::crdgen::custom_resource_definition_yaml()
        ),
    }
    Ok(())
}

//! The `passwordless-operator` command line: `crd`, and `plan` / `apply` / `delete` against AWS
//! (or an emulator, through `AWS_ENDPOINT_URL`) with no cluster at all.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use passwordless_operator::aws::Clients;
use passwordless_operator::crd::{PasswordlessPool, Strategy};
use passwordless_operator::observed::ObservedIds;
use passwordless_operator::reconcile::{self, Deleted, IdSink, Request};
use passwordless_operator::signin::{self, Mailbox};
use passwordless_operator::state::{self, State};
use passwordless_operator::status::status_of;

#[derive(Parser)]
#[command(
    version,
    about = "Passwordless sign-in on AWS Cognito from one PasswordlessPool resource"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct PoolArgs {
    /// The PasswordlessPool manifest.
    #[arg(short = 'f', long = "filename")]
    file: PathBuf,
    /// The state file holding signing keys and AWS IDs
    /// [default: $XDG_STATE_HOME/passwordless-operator/<namespace>/<name>.json].
    #[arg(long)]
    state: Option<PathBuf>,
    /// The trigger zip (`make triggers`).
    #[arg(
        long,
        env = "PWP_TRIGGER_ZIP",
        default_value = "target/lambda/bootstrap.zip"
    )]
    zip: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Yaml,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Print the PasswordlessPool CustomResourceDefinition as YAML.
    Crd,
    /// Show what `apply` would create, update or delete in AWS, field by field. Writes nothing.
    Plan(PoolArgs),
    /// Converge AWS to the manifest; print the status and the Secret data the controller writes.
    Apply {
        #[command(flatten)]
        pool: PoolArgs,
        #[arg(short = 'o', long, value_enum, default_value = "yaml")]
        output: Format,
        /// Make a new signing key current first; the previous one stays accepted.
        #[arg(long)]
        rotate_signing_key: bool,
    },
    /// Delete the pool's AWS resources, or keep them under `deletionPolicy: Retain`.
    Delete(PoolArgs),
    /// Sign a user in to an applied pool: the link or code comes from the emulator's mailbox
    /// (`--from-emulator`) or is pasted. Prints the ID token's claims.
    Signin {
        #[command(flatten)]
        pool: PoolArgs,
        /// The email address (or phone number) to sign in.
        #[arg(long)]
        username: String,
        /// Create the user first through SignUp (the pool must allow sign-up).
        #[arg(long)]
        sign_up: bool,
        /// Read the link or code from the emulator at AWS_ENDPOINT_URL instead of stdin.
        #[arg(long)]
        from_emulator: bool,
    },
}

/// Records IDs in the state file the moment AWS assigns them.
struct StateFile {
    path: PathBuf,
    state: State,
}

impl IdSink for StateFile {
    fn record(&mut self, ids: &ObservedIds) -> Result<(), String> {
        let before = self.state.clone();
        if ids.user_pool_id.is_some() {
            self.state.user_pool_id = ids.user_pool_id.clone();
        }
        if ids.client_id.is_some() {
            self.state.client_id = ids.client_id.clone();
        }
        if self.state == before {
            return Ok(());
        }
        self.state.save(&self.path).map_err(|e| e.to_string())
    }
}

struct Loaded {
    pool: PasswordlessPool,
    state: StateFile,
    zip: Vec<u8>,
    clients: Clients,
}

async fn load(args: &PoolArgs) -> Result<Loaded> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let pool: PasswordlessPool = serde_yaml::from_str(&text)
        .with_context(|| format!("{} is not a PasswordlessPool", args.file.display()))?;
    let namespace = pool
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let Some(name) = pool.metadata.name.clone() else {
        bail!("{} has no metadata.name", args.file.display())
    };
    let path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_path(&namespace, &name));
    let state = State::load(&path)?;
    let zip = if pool.spec.strategy == Strategy::Native {
        Vec::new()
    } else {
        std::fs::read(&args.zip).with_context(|| {
            format!(
                "reading the trigger zip {} (build it with `make triggers`)",
                args.zip.display()
            )
        })?
    };
    let clients = Clients::from_env(pool.spec.region.as_deref()).await?;
    Ok(Loaded {
        pool,
        state: StateFile { path, state },
        zip,
        clients,
    })
}

/// The reconcile request for a pool, with the keys and IDs its state file holds.
fn request<'a>(
    pool: &'a PasswordlessPool,
    zip: &'a [u8],
    state: &State,
) -> Result<Request<'a>, reconcile::Error> {
    let known = ObservedIds {
        user_pool_id: state.user_pool_id.clone(),
        client_id: state.client_id.clone(),
        ..Default::default()
    };
    Request::for_pool(pool, zip, state.signing_keys_env(), known)
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

fn calls_line(clients: &Clients, started: Instant) -> String {
    format!(
        "AWS calls: {} reads, {} writes; {:.2}s",
        clients.calls.reads(),
        clients.calls.writes(),
        started.elapsed().as_secs_f64()
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Crd => print!(
            "{}",
            passwordless_operator::crdgen::custom_resource_definition_yaml()
        ),
        Command::Plan(args) => {
            let started = Instant::now();
            let mut l = load(&args).await?;
            l.state.state.ensure_key(0);
            let req = request(&l.pool, &l.zip, &l.state.state)?;
            let plan = reconcile::plan_changes(&l.clients, &req).await?;
            print!("{plan}");
            eprintln!("{}", calls_line(&l.clients, started));
        }
        Command::Apply {
            pool: args,
            output,
            rotate_signing_key,
        } => {
            let started = Instant::now();
            let mut l = load(&args).await?;
            let unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs();
            if rotate_signing_key {
                l.state.state.rotate_key(unix);
                l.state.state.save(&l.state.path)?;
            } else if l.state.state.ensure_key(unix) {
                l.state.state.save(&l.state.path)?;
            }
            let req = request(&l.pool, &l.zip, &l.state.state)?;
            let applied = reconcile::apply(&l.clients, &req, &mut l.state).await?;
            for pass in &applied.changes {
                eprint!("{pass}");
            }
            let report = serde_json::json!({
                "status": status_of(&applied.outputs, l.pool.metadata.generation, now()),
                "secretName": applied.outputs.secret_name,
                "secretData": applied.outputs.secret_data(),
            });
            match output {
                Format::Yaml => print!("{}", serde_yaml::to_string(&report)?),
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            }
            eprintln!("{}", calls_line(&l.clients, started));
        }
        Command::Delete(args) => {
            let started = Instant::now();
            let l = load(&args).await?;
            let req = request(&l.pool, &l.zip, &l.state.state)?;
            match reconcile::delete(&l.clients, &req).await? {
                Deleted::Retained => println!("deletionPolicy is Retain: AWS resources kept."),
                Deleted::Removed(plan) => {
                    print!("{plan}");
                    // The keys sign nothing any more; the IDs point at nothing.
                    if l.state.path.exists() {
                        std::fs::remove_file(&l.state.path)?;
                    }
                }
            }
            eprintln!("{}", calls_line(&l.clients, started));
        }
        Command::Signin {
            pool: args,
            username,
            sign_up,
            from_emulator,
        } => {
            let l = load(&args).await?;
            let Some(client_id) = l.state.state.client_id.clone() else {
                bail!(
                    "no app client recorded in {}: run `apply` first",
                    l.state.path.display()
                )
            };
            let mailbox = if from_emulator {
                Mailbox::Emulator(
                    l.clients
                        .endpoint
                        .clone()
                        .context("--from-emulator needs AWS_ENDPOINT_URL")?,
                )
            } else {
                Mailbox::Stdin
            };
            if sign_up {
                signin::ensure_user(&l.clients, &client_id, &username).await?;
            }
            let claims = match l.pool.spec.strategy {
                Strategy::MagicLink => {
                    signin::magic_link(&l.clients, &client_id, &username, &mailbox, |link| {
                        eprintln!("magic link: {link}")
                    })
                    .await?
                }
                Strategy::EmailOtp | Strategy::SmsOtp => {
                    signin::code(&l.clients, &client_id, &username, &mailbox).await?
                }
                Strategy::Native => bail!(
                    "native pools sign in through Cognito's USER_AUTH flow, which this command does not drive"
                ),
            };
            println!("{}", serde_json::to_string_pretty(&claims)?);
        }
    }
    Ok(())
}

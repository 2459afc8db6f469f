//! The `passwordless-operator` command line: `run` (the in-cluster controller), `crd`, and
//! `plan` / `apply` / `delete` / `signin` against AWS (or an emulator, through
//! `AWS_ENDPOINT_URL`) with no cluster at all.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use passwordless_operator::aws::Clients;
use passwordless_operator::crd::{PasswordlessPool, Strategy};
use passwordless_operator::keys::{self, Rotation};
use passwordless_operator::reconcile::{self, Deleted};
use passwordless_operator::recorded::{self, RecordStore, RecordingSink};
use passwordless_operator::signin::{self, Mailbox};
use passwordless_operator::state::{self, State};
use passwordless_operator::status::{now, status_of};

/// See the workspace Cargo.toml: memory returns to the OS after upload peaks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Passwordless sign-in on AWS Cognito from one PasswordlessPool resource"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log as text or as one JSON object per line. Filter with RUST_LOG (default: info).
    #[arg(
        long,
        global = true,
        env = "PWP_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Namespaces to watch, comma-separated [default: all namespaces].
    #[arg(long, env = "PWP_NAMESPACES", value_delimiter = ',')]
    namespaces: Vec<String>,
    /// The operator's own namespace: signing-key Secrets and the leader Lease live there.
    #[arg(long, env = "POD_NAMESPACE", default_value = "passwordless-operator")]
    operator_namespace: String,
    /// How often an in-sync pool is compared with AWS again, to undo drift.
    #[arg(long, env = "PWP_RESYNC_SECONDS", default_value_t = 300)]
    resync_seconds: u64,
    /// Pools reconciled at once.
    #[arg(long, env = "PWP_CONCURRENCY", default_value_t = 8)]
    concurrency: usize,
    /// Where /healthz, /readyz and /metrics are served (0.0.0.0:8080 in a pod).
    #[arg(long, env = "PWP_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    http_addr: std::net::SocketAddr,
    /// The leader-election Lease, in the operator namespace.
    #[arg(long, env = "PWP_LEASE_NAME", default_value = "passwordless-operator")]
    lease_name: String,
    /// How long a leader that stopped renewing keeps the Lease: the worst-case failover time.
    #[arg(long, env = "PWP_LEASE_SECONDS", default_value_t = 15)]
    lease_seconds: u64,
    /// This replica's name in the Lease and in events [default: <hostname>-<pid>].
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    #[command(flatten)]
    trigger: TriggerZip,
}

#[derive(clap::Args)]
struct TriggerZip {
    /// The trigger zip deployed to each pool's Lambda function (`make triggers`).
    #[arg(
        long,
        env = "PWP_TRIGGER_ZIP",
        default_value = "target/lambda/bootstrap.zip"
    )]
    zip: PathBuf,
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
    #[command(flatten)]
    trigger: TriggerZip,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Yaml,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller: reconcile PasswordlessPools in the cluster (with leader election).
    Run(RunArgs),
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
        /// The app client to sign in to, e.g. from the controller's output Secret
        /// [default: the client recorded in the state file].
        #[arg(long)]
        client_id: Option<String>,
    },
}

/// The state file: IDs are written to it the moment AWS assigns them.
struct StateFile {
    path: PathBuf,
}

impl RecordStore<State> for StateFile {
    async fn write(&mut self, state: &State) -> Result<(), String> {
        state.save(&self.path).map_err(|e| e.to_string())
    }
}

struct Loaded {
    pool: PasswordlessPool,
    state: State,
    path: PathBuf,
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
        std::fs::read(&args.trigger.zip).with_context(|| {
            format!(
                "reading the trigger zip {} (build it with `make triggers`)",
                args.trigger.zip.display()
            )
        })?
    };
    let clients = Clients::from_env(pool.spec.region.as_deref()).await?;
    Ok(Loaded {
        pool,
        state,
        path,
        zip,
        clients,
    })
}

fn calls_line(clients: &Clients, started: Instant) -> String {
    format!(
        "AWS calls: {} reads, {} writes; {:.2}s",
        clients.calls.reads(),
        clients.calls.writes(),
        started.elapsed().as_secs_f64()
    )
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

/// Resolves on SIGTERM (what Kubernetes sends) or Ctrl-C.
async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Leader election, then the controllers, until SIGTERM (the Lease is handed back) or until the
/// Lease is lost (the process exits, so two replicas never reconcile at once).
async fn run(args: RunArgs) -> Result<()> {
    use futures::FutureExt;
    use passwordless_operator::controller::{self, leader};
    use passwordless_operator::{http, metrics::Metrics};
    use std::sync::Arc;

    let zip = std::fs::read(&args.trigger.zip).with_context(|| {
        format!(
            "reading the trigger zip {} (build it with `make triggers`, or set PWP_TRIGGER_ZIP)",
            args.trigger.zip.display()
        )
    })?;
    let client = kube::Client::try_default()
        .await
        .context("connecting to Kubernetes")?;
    let metrics = Arc::new(Metrics::default());
    let listener = tokio::net::TcpListener::bind(args.http_addr)
        .await
        .with_context(|| format!("listening on {}", args.http_addr))?;
    tokio::spawn(http::serve(listener, metrics.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopping = stopped.map(|_| ()).shared();
    tokio::spawn(async move {
        termination().await;
        tracing::info!("termination signal: finishing reconciles in flight");
        let _ = stop.send(());
    });
    let identity = args.identity.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "passwordless-operator".into());
        format!("{host}-{}", std::process::id())
    });
    let lease = leader::Leader::new(
        client.clone(),
        leader::LeaseSettings {
            name: args.lease_name.clone(),
            namespace: args.operator_namespace.clone(),
            identity: identity.clone(),
            duration: Duration::from_secs(args.lease_seconds.max(2)),
        },
    );
    tracing::info!(%identity, lease = %args.lease_name, "waiting for the leader lease");
    tokio::select! {
        () = lease.acquire(|| metrics.set_ready(true)) => {}
        () = stopping.clone() => return Ok(()),
    }
    metrics.set_leader(true);
    tracing::info!(
        %identity,
        namespaces = %if args.namespaces.is_empty() { "all".to_owned() } else { args.namespaces.join(",") },
        "leading: reconciling PasswordlessPools"
    );
    let ctx = Arc::new(controller::Context::new(
        client,
        controller::Settings {
            namespaces: args.namespaces,
            keys_namespace: args.operator_namespace,
            resync: Duration::from_secs(args.resync_seconds.max(1)),
            concurrency: args.concurrency.max(1),
            identity,
        },
        zip,
        metrics.clone(),
    ));
    tokio::select! {
        () = controller::run(ctx, stopping) => {}
        () = lease.keep() => {
            metrics.set_leader(false);
            bail!("lost the leader lease; exiting so that only one replica reconciles");
        }
    }
    metrics.set_leader(false);
    match lease.release().await {
        Ok(()) => tracing::info!("stopped; leader lease released"),
        Err(e) => {
            tracing::warn!(error = %e, "releasing the leader lease failed; it expires on its own")
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Run(args) => run(args).await?,
        Command::Crd => print!(
            "{}",
            passwordless_operator::crdgen::custom_resource_definition_yaml()
        ),
        Command::Plan(args) => {
            let started = Instant::now();
            let mut l = load(&args).await?;
            // A plan writes nothing: with no key stored yet, a stand-in made "at time 0" (so
            // nothing is retired or pruned) shows that one will be set.
            keys::advance(
                &mut l.state,
                Rotation::Keep,
                0,
                l.pool.spec.link_lifetime_seconds(),
            );
            let req = recorded::request(&l.pool, &l.zip, &l.state, &l.state)?;
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
            let rotation = if rotate_signing_key {
                Rotation::Now
            } else {
                Rotation::Keep
            };
            if keys::advance(
                &mut l.state,
                rotation,
                state::unix_now(),
                l.pool.spec.link_lifetime_seconds(),
            ) {
                l.state.save(&l.path)?;
            }
            let req = recorded::request(&l.pool, &l.zip, &l.state, &l.state)?;
            let mut sink = RecordingSink {
                record: l.state.clone(),
                store: StateFile { path: l.path },
            };
            let applied = reconcile::apply(&l.clients, &req, &mut sink).await?;
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
            let req = recorded::request(&l.pool, &l.zip, &l.state, &l.state)?;
            match reconcile::delete(&l.clients, &req).await? {
                Deleted::Retained => println!("deletionPolicy is Retain: AWS resources kept."),
                Deleted::Removed(plan) => {
                    print!("{plan}");
                    // The keys sign nothing any more; the IDs point at nothing.
                    if l.path.exists() {
                        std::fs::remove_file(&l.path)?;
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
            client_id,
        } => {
            let l = load(&args).await?;
            let Some(client_id) = client_id.or_else(|| l.state.client_id.clone()) else {
                bail!(
                    "no app client recorded in {}: run `apply` first",
                    l.path.display()
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

//! The command line's shape: every subcommand, flag and environment twin.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    version,
    about = "Passwordless sign-in on AWS Cognito from one PasswordlessPool resource"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log as text (coloured on a terminal only) or as one JSON object per line. Filter with
    /// RUST_LOG (default: info).
    #[arg(
        long,
        global = true,
        env = "PWP_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// Namespaces to watch, comma-separated [default: all namespaces].
    #[arg(long, env = "PWP_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// The operator's own namespace: the leader Lease lives there.
    #[arg(long, env = "POD_NAMESPACE", default_value = "passwordless-operator")]
    pub operator_namespace: String,
    /// Where the signing-key Secrets live [default: the operator namespace]. The chart gives
    /// them a namespace of their own, so the operator needs no Secret access where it runs.
    #[arg(long, env = "PWP_KEYS_NAMESPACE")]
    pub keys_namespace: Option<String>,
    /// Moves each signing-key Secret found in this namespace (where an older chart kept them)
    /// into the keys namespace on its first read, so an upgrade keeps the keys.
    #[arg(long, env = "PWP_KEYS_MIGRATE_FROM")]
    pub keys_migrate_from: Option<String>,
    /// How often an in-sync pool is compared with AWS again, to undo drift.
    #[arg(long, env = "PWP_RESYNC_SECONDS", default_value_t = 300)]
    pub resync_seconds: u64,
    /// Pools reconciled at once.
    #[arg(long, env = "PWP_CONCURRENCY", default_value_t = passwordless_operator::controller::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Where /healthz, /readyz and /metrics are served (0.0.0.0:8080 in a pod).
    #[arg(long, env = "PWP_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: std::net::SocketAddr,
    /// The leader-election Lease, in the operator namespace.
    #[arg(long, env = "PWP_LEASE_NAME", default_value = "passwordless-operator")]
    pub lease_name: String,
    /// How long a leader that stopped renewing keeps the Lease: the worst-case failover time.
    #[arg(long, env = "PWP_LEASE_SECONDS", default_value_t = 15)]
    pub lease_seconds: u64,
    /// This replica's name in the Lease and in events [default: <hostname>-<pid>].
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    #[command(flatten)]
    pub trigger: TriggerZip,
    #[command(flatten)]
    pub platform: PlatformArgs,
}

/// A `--cluster-id` AWS takes in its names and tags, as the chart's schema states it.
fn cluster_id(id: &str) -> Result<String, passwordless_operator::names::NotAClusterId> {
    passwordless_operator::names::check_cluster_id(id).map(|()| id.to_owned())
}

/// The platform team's settings: the cluster's id and the rules per namespace.
#[derive(clap::Args)]
pub struct PlatformArgs {
    /// Names this cluster in every AWS name and owner tag, so clusters sharing an AWS account
    /// never share a resource. Changing it later renames the resources: set it once.
    #[arg(long, env = "PWP_CLUSTER_ID", default_value = passwordless_operator::names::DEFAULT_CLUSTER_ID, value_parser = cluster_id)]
    pub cluster_id: String,
    /// The tenancy rules (YAML): allowed senders, adoptable pools and the AWS account per
    /// namespace. Without it the controller allows no sender and no adoption; the CLI trusts
    /// its user.
    #[arg(long, env = "PWP_TENANCY_CONFIG")]
    pub tenancy_config: Option<PathBuf>,
    #[command(flatten)]
    pub boundary: BoundaryArg,
}

/// The trigger roles' permissions boundary, as `run`, the CLI and `iam-policy` name it.
#[derive(clap::Args)]
pub struct BoundaryArg {
    /// The managed policy every trigger role carries as its permissions boundary, by
    /// [PATH/]NAME. The platform team creates it (`iam-policy --boundary`) in each account pools
    /// live in; its ARN is derived from the account the role is made in.
    #[arg(
        long = "trigger-permissions-boundary",
        env = "PWP_TRIGGER_PERMISSIONS_BOUNDARY",
        default_value = passwordless_operator::desired::DEFAULT_TRIGGER_BOUNDARY
    )]
    pub policy: passwordless_operator::desired::TriggerBoundary,
}

#[derive(clap::Args)]
pub struct TriggerZip {
    /// The trigger zip deployed to each pool's Lambda function (`make triggers`).
    #[arg(
        long,
        env = "PWP_TRIGGER_ZIP",
        default_value = "target/lambda/bootstrap.zip"
    )]
    pub zip: PathBuf,
}

#[derive(clap::Args)]
pub struct PoolArgs {
    /// The PasswordlessPool manifest.
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// The state file holding signing keys and AWS IDs
    /// [default: $XDG_STATE_HOME/passwordless-operator/<namespace>/<name>.json].
    #[arg(long)]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub trigger: TriggerZip,
    #[command(flatten)]
    pub platform: PlatformArgs,
}

impl PlatformArgs {
    /// Reads the tenancy file; without one, `default` applies.
    pub fn platform(
        &self,
        default: passwordless_operator::tenancy::Tenancy,
    ) -> Result<
        passwordless_operator::tenancy::Platform,
        passwordless_operator::tenancy::TenancyFileError,
    > {
        let tenancy = match &self.tenancy_config {
            Some(path) => passwordless_operator::tenancy::Tenancy::load(path)?,
            None => default,
        };
        Ok(passwordless_operator::tenancy::Platform {
            cluster_id: self.cluster_id.clone(),
            tenancy,
            trigger_boundary: self.boundary.policy.clone(),
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the controller: reconcile PasswordlessPools in the cluster (with leader election).
    Run(RunArgs),
    /// Print the PasswordlessPool CustomResourceDefinition as YAML.
    Crd,
    /// Print the least-privilege IAM policy the operator itself needs (JSON), with
    /// `sts:AssumeRole` on the roles a tenancy file maps namespaces to; with -f, the policy it
    /// writes for a pool's trigger role; with --boundary, the trigger roles' permissions
    /// boundary.
    IamPolicy(IamPolicyArgs),
    /// Show what `apply` would create, update or delete in AWS, field by field. Writes nothing.
    Plan(PoolArgs),
    /// Converge AWS to the manifest; print the status and the Secret data the controller writes.
    Apply(ApplyArgs),
    /// Delete the pool's AWS resources, or keep them under `deletionPolicy: Retain`.
    Delete(PoolArgs),
    /// Sign a user in to an applied pool: the link or code comes from the emulator's mailbox
    /// (`--from-emulator`) or is pasted. Prints the ID token's claims.
    Signin(SigninArgs),
    /// Write the book's generated reference pages under DIR (`make docs-reference`).
    #[command(hide = true)]
    Reference(ReferenceArgs),
}

#[derive(clap::Args)]
pub struct ReferenceArgs {
    /// The book's source folder.
    #[arg(long, default_value = "docs/src")]
    pub out: PathBuf,
    /// Write nothing: fail, naming them, if the pages there differ from what the code
    /// generates.
    #[arg(long)]
    pub check: bool,
}

#[derive(clap::Args)]
pub struct IamPolicyArgs {
    /// The tenancy rules the operator will run with (ignored with -f).
    #[arg(long, env = "PWP_TENANCY_CONFIG")]
    pub tenancy_config: Option<PathBuf>,
    /// The AWS partition the ARNs are written in (aws, aws-cn, aws-us-gov, ...)
    /// [default: the region's, else aws].
    #[arg(long)]
    pub partition: Option<passwordless_operator::partition::Partition>,
    /// The region whose partition applies; with -f, where the pool lives unless its
    /// spec.region says otherwise.
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Print instead the trigger role's policy the operator writes for this PasswordlessPool.
    #[arg(short = 'f', long = "filename")]
    pub pool: Option<PathBuf>,
    /// Print instead the permissions boundary every trigger role carries: the policy the
    /// platform team creates, under the name --trigger-permissions-boundary gives, in each
    /// account pools live in.
    #[arg(long, conflicts_with = "pool")]
    pub boundary: bool,
    /// The boundary the operator's policy requires on every role it creates or writes.
    #[command(flatten)]
    pub trigger_boundary: BoundaryArg,
    /// With -f: print the trigger role's trust policy.
    #[arg(long, requires = "pool")]
    pub trust: bool,
    /// With -f: the account the pool lives in [default: *, any].
    #[arg(long, requires = "pool")]
    pub account_id: Option<String>,
    /// With -f: the user pool's id, once it exists (its users' attributes are the trigger's to
    /// update).
    #[arg(long, requires = "pool")]
    pub user_pool_id: Option<String>,
    /// With -f: the cluster's id, part of every AWS name.
    #[arg(long, env = "PWP_CLUSTER_ID", default_value = passwordless_operator::names::DEFAULT_CLUSTER_ID, value_parser = cluster_id)]
    pub cluster_id: String,
}

#[derive(clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub pool: PoolArgs,
    #[arg(short = 'o', long, value_enum, default_value = "yaml")]
    pub output: Format,
    /// Make a new signing key current first; the previous one stays accepted.
    #[arg(long)]
    pub rotate_signing_key: bool,
}

#[derive(clap::Args)]
pub struct SigninArgs {
    #[command(flatten)]
    pub pool: PoolArgs,
    /// The email address (or phone number) to sign in.
    #[arg(long)]
    pub username: String,
    /// Create the user first through SignUp (the pool must allow sign-up).
    #[arg(long)]
    pub sign_up: bool,
    /// Read the link or code from the emulator at AWS_ENDPOINT_URL instead of stdin.
    #[arg(long)]
    pub from_emulator: bool,
    /// The app client to sign in to, e.g. from the controller's output Secret
    /// [default: the client recorded in the state file].
    #[arg(long)]
    pub client_id: Option<String>,
}

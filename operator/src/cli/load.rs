//! What `plan`, `apply`, `delete` and `signin` start from: the manifest, its state file (signing
//! keys and the IDs AWS assigned), the trigger zip, and AWS clients for the pool's region.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use passwordless_operator::aws::Clients;
use passwordless_operator::crd::{PasswordlessPool, Strategy};
use passwordless_operator::reconcile::{self, Purpose, RecordError, Request};
use passwordless_operator::recorded::{self, RecordStore};
use passwordless_operator::state::{self, State};
use passwordless_operator::tenancy::Platform;
use passwordless_operator::tenancy::Tenancy;
use passwordless_operator::trigger_code::TriggerCode;
use passwordless_operator::validate::{parse_manifest, validate, warnings};

use super::args::PoolArgs;

pub struct Loaded {
    pub pool: PasswordlessPool,
    pub state: State,
    /// Where `state` is kept.
    pub path: PathBuf,
    pub code: TriggerCode,
    pub clients: Clients,
    pub platform: Platform,
}

impl Loaded {
    /// The request for the CLI's plan, apply and delete alike: the spec checked in full (the CLI
    /// refuses an invalid manifest, deletion included). The state file holds both the keys and
    /// the recorded IDs.
    pub fn request(&self) -> Result<Request<'_>, reconcile::Error> {
        let (pool, platform, code) = (&self.pool, &self.platform, &self.code);
        recorded::request(
            Purpose::Apply,
            pool,
            platform,
            code,
            &self.state,
            &self.state,
        )
    }
}

pub async fn load(args: &PoolArgs) -> Result<Loaded> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    // Before the state file, the zip or any AWS client: a bad manifest changes nothing.
    let refused = || format!("{} is refused", args.file.display());
    let pool = parse_manifest(&text).with_context(refused)?;
    let spec = validate(&pool.spec).with_context(refused)?;
    for warning in warnings(&spec) {
        eprintln!("warning: {}", warning.message);
    }
    let namespace = pool
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let platform = args.platform.platform(Tenancy::trusting())?;
    platform
        .tenancy
        .check(&namespace, &spec)
        .with_context(refused)?;
    let Some(name) = pool.metadata.name.clone() else {
        bail!("{} has no metadata.name", args.file.display())
    };
    let path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_path(&namespace, &name));
    let state = State::load(&path)?;
    let code = if pool.spec.strategy == Strategy::Native {
        TriggerCode::none()
    } else {
        TriggerCode::from_file(&args.trigger.zip).with_context(|| {
            format!(
                "reading the trigger zip {} (build it with `make triggers`)",
                args.trigger.zip.display()
            )
        })?
    };
    let account = platform.tenancy.account(&namespace)?;
    let clients = Clients::for_account(pool.spec.region.as_deref(), &account).await?;
    Ok(Loaded {
        pool,
        state,
        path,
        code,
        clients,
        platform,
    })
}

/// The state file as the place AWS IDs are recorded the moment they are assigned.
pub struct StateFile {
    pub path: PathBuf,
}

impl RecordStore<State> for StateFile {
    async fn write(&mut self, state: &State) -> Result<(), RecordError> {
        state.save(&self.path).map_err(|e| RecordError(e.into()))
    }
}

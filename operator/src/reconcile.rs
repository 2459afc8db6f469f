//! observe → desired (pure) → plan (pure) → apply (I/O) → outputs, for one PasswordlessPool.
//!
//! Crash-safe: every create is find-or-create by name (owner-tagged), IDs are handed to the
//! caller's [`IdSink`] the moment AWS assigns them, and a new pass starts from observation, so a
//! run killed at any point resumes without duplicates. The CLI and the controller share this.

use std::collections::BTreeMap;

use crate::aws::{self, AwsError, Clients};
use crate::crd::{DeletionPolicy, PasswordlessPool, PasswordlessPoolSpec};
use crate::desired::{Context, DesiredError, DesiredStack, desired_stack};
use crate::diff::{Action, Plan, Resource, deletion_plan, plan};
use crate::names::{OWNER_TAG, StackNames};
use crate::observed::{ObservedIds, ObservedStack, SenderObserved};
use crate::validate::{InvalidSpec, validate};

/// Passes before giving up: a first apply needs two (the role's policy can name the pool only
/// once the pool exists); a third means something keeps changing under us.
const MAX_PASSES: usize = 3;
/// Test-only switch: abort the process right after the named step of an apply (crash tests).
pub const CRASH_AFTER_ENV: &str = "PWP_TEST_CRASH_AFTER";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidSpec(#[from] InvalidSpec),
    #[error(transparent)]
    Desired(#[from] DesiredError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{0}")]
    Conflict(String),
    #[error("AWS did not settle after {MAX_PASSES} passes; still pending: {0}")]
    NotConverged(String),
    #[error("recording IDs failed: {0}")]
    Record(String),
}

impl Error {
    /// A stable label for metrics and conditions.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::InvalidSpec(_) | Self::Desired(_) => "invalid_spec",
            Self::Aws(e) if e.is_transient() => "aws_transient",
            Self::Aws(_) => "aws_error",
            Self::Conflict(_) => "conflict",
            Self::NotConverged(_) => "not_converged",
            Self::Record(_) => "record_failed",
        }
    }

    /// Whether waiting and retrying may help; otherwise wait for a change of spec.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Aws(e) => e.is_transient(),
            Self::NotConverged(_) | Self::Record(_) => true,
            _ => false,
        }
    }
}

/// Where IDs go as soon as AWS assigns them: the CLI's state file, the controller's status.
pub trait IdSink: Send {
    fn record(
        &mut self,
        ids: &ObservedIds,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

/// What one pool needs besides its spec.
pub struct Request<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub spec: &'a PasswordlessPoolSpec,
    pub zip: &'a [u8],
    /// base64(sha256(zip)), as Lambda reports it.
    pub code_sha256: String,
    pub signing_keys: String,
    /// IDs recorded by an earlier run.
    pub known: ObservedIds,
}

impl<'a> Request<'a> {
    pub fn for_pool(
        pool: &'a PasswordlessPool,
        zip: &'a [u8],
        signing_keys: String,
        known: ObservedIds,
    ) -> Result<Self, Error> {
        let namespace = pool.metadata.namespace.as_deref().unwrap_or("default");
        let name = pool
            .metadata
            .name
            .as_deref()
            .ok_or_else(|| Error::Conflict("the manifest has no metadata.name".into()))?;
        Ok(Self {
            namespace,
            name,
            spec: &pool.spec,
            zip,
            code_sha256: code_sha256(zip),
            signing_keys,
            known,
        })
    }

    fn names(&self) -> StackNames {
        StackNames::new(self.namespace, self.name)
    }
}

/// Lambda's CodeSha256 of a zip: base64 of its SHA-256.
pub fn code_sha256(zip: &[u8]) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

/// Everything the status and the output Secret report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs {
    pub region: String,
    pub ids: ObservedIds,
    pub issuer_url: Option<String>,
    pub jwks_url: Option<String>,
    pub sender: Option<SenderObserved>,
    pub secret_name: String,
}

impl Outputs {
    /// Ready means usable: the pool and client exist and the sender (if any) may send.
    pub fn ready(&self) -> bool {
        self.ids.user_pool_id.is_some()
            && self.ids.client_id.is_some()
            && self.sender.as_ref().is_none_or(SenderObserved::verified)
    }

    /// The output Secret's data: documented keys plus env-style aliases for `envFrom`.
    pub fn secret_data(&self) -> BTreeMap<String, String> {
        let mut data = BTreeMap::new();
        let mut put = |keys: [&str; 2], value: &Option<String>| {
            if let Some(v) = value {
                for k in keys {
                    data.insert(k.to_owned(), v.clone());
                }
            }
        };
        put(
            ["userPoolId", "COGNITO_USER_POOL_ID"],
            &self.ids.user_pool_id,
        );
        put(["clientId", "COGNITO_CLIENT_ID"], &self.ids.client_id);
        put(["region", "COGNITO_REGION"], &Some(self.region.clone()));
        put(["issuerUrl", "COGNITO_ISSUER_URL"], &self.issuer_url);
        put(["jwksUrl", "COGNITO_JWKS_URL"], &self.jwks_url);
        data
    }
}

/// What `apply` did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub outputs: Outputs,
    /// The changes made, pass by pass.
    pub changes: Vec<Plan>,
}

fn crash_point(step: &str) {
    if std::env::var(CRASH_AFTER_ENV).is_ok_and(|s| s == step) {
        eprintln!("{CRASH_AFTER_ENV}={step}: aborting on purpose");
        std::process::abort();
    }
}

/// Reads the pool's AWS resources. Costs only reads.
pub async fn observe(
    c: &Clients,
    req: &Request<'_>,
) -> Result<(ObservedStack, Context, DesiredStack), Error> {
    validate(req.spec)?;
    let names = req.names();
    let mut ctx = Context {
        region: c.region.clone(),
        account_id: req.known.account_id.clone(),
        code_sha256: req.code_sha256.clone(),
        signing_keys: req.signing_keys.clone(),
        user_pool_id: None,
    };
    let mut observed = ObservedStack::default();
    let draft = desired_stack(req.spec, &names, &ctx)?;
    if let Some(sender) = &draft.sender {
        observed.sender = aws::ses::observe(c, &sender.identity).await?;
    }
    if let Some((arn, role)) = aws::iam::observe(c, &names.role, &names.role_policy).await? {
        ctx.account_id = ctx.account_id.or_else(|| aws::iam::account_of(&arn));
        observed.role = Some(role);
    }
    observed.table = aws::table::observe(c, &names.table).await?;
    if let Some((arn, function)) = aws::lambda::observe(c, &names.function).await? {
        ctx.account_id = ctx.account_id.or_else(|| aws::iam::account_of(&arn));
        observed.ids.function_arn = Some(arn);
        observed.function = Some(function);
        observed.permission = aws::lambda::observe_permission(
            c,
            &names.function,
            crate::desired::PERMISSION_STATEMENT,
        )
        .await?;
    }
    let adopted = req.spec.adopt.as_ref().map(|a| a.user_pool_id.clone());
    let pool_id = match req.known.user_pool_id.clone().or(adopted.clone()) {
        Some(id) => Some(id),
        None => aws::cognito::find_pool(c, &names.user_pool).await?,
    };
    if let Some(id) = &pool_id {
        let draft = desired_stack(
            req.spec,
            &names,
            &Context {
                user_pool_id: Some(id.clone()),
                ..ctx.clone()
            },
        )?;
        if let Some((arn, pool)) = aws::cognito::observe_pool(c, id, &draft.user_pool).await? {
            let owner = pool.tags.get(OWNER_TAG);
            if adopted.is_none() && owner.is_some_and(|o| *o != names.owner) {
                return Err(Error::Conflict(format!(
                    "user pool {id} ({}) belongs to {}, not {}",
                    names.user_pool,
                    owner.map(String::as_str).unwrap_or("?"),
                    names.owner
                )));
            }
            ctx.account_id = ctx.account_id.or_else(|| aws::iam::account_of(&arn));
            ctx.user_pool_id = Some(id.clone());
            observed.ids.user_pool_id = Some(id.clone());
            observed.ids.user_pool_arn = Some(arn);
            observed.user_pool = Some(pool);
        }
    }
    if ctx.account_id.is_none() {
        ctx.account_id = Some(account_id(c).await?);
    }
    observed.ids.account_id = ctx.account_id.clone();
    let desired = desired_stack(req.spec, &names, &ctx)?;
    if let Some(pool) = &observed.ids.user_pool_id {
        let client_id = match &req.known.client_id {
            Some(id) => Some(id.clone()),
            None => aws::cognito::find_client(c, pool, &names.client).await?,
        };
        if let Some(id) = client_id {
            observed.client = aws::cognito::observe_client(c, pool, &id, &desired.client).await?;
            if observed.client.is_some() {
                observed.ids.client_id = Some(id);
            }
        }
    }
    if let (Some(observed_pool), true) = (&observed.user_pool, adopted.is_none()) {
        if observed_pool.username_attributes != desired.user_pool.username_attributes {
            return Err(Error::Conflict(format!(
                "the user pool signs in by {:?} and the spec needs {:?}; Cognito cannot change that: create a new PasswordlessPool",
                observed_pool.username_attributes, desired.user_pool.username_attributes
            )));
        }
    }
    Ok((observed, ctx, desired))
}

async fn account_id(c: &Clients) -> Result<String, AwsError> {
    let out = c
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws::call_error("sts:GetCallerIdentity", e))?;
    out.account()
        .map(str::to_owned)
        .ok_or_else(|| AwsError::Unexpected("GetCallerIdentity returned no account".into()))
}

/// What `plan` prints: the changes the next apply would start with.
pub async fn plan_changes(c: &Clients, req: &Request<'_>) -> Result<Plan, Error> {
    let (observed, _, desired) = observe(c, req).await?;
    Ok(plan(&observed, &desired))
}

fn outputs(c: &Clients, req: &Request<'_>, observed: &ObservedStack) -> Outputs {
    let issuer = observed
        .ids
        .user_pool_id
        .as_ref()
        .map(|id| format!("https://cognito-idp.{}.amazonaws.com/{id}", c.region));
    let jwks = observed
        .ids
        .user_pool_id
        .as_ref()
        .map(|id| match &c.endpoint {
            // An emulator serves the keys itself.
            Some(endpoint) => format!(
                "{}/{id}/.well-known/jwks.json",
                endpoint.trim_end_matches('/')
            ),
            None => format!(
                "https://cognito-idp.{}.amazonaws.com/{id}/.well-known/jwks.json",
                c.region
            ),
        });
    Outputs {
        region: c.region.clone(),
        ids: observed.ids.clone(),
        issuer_url: issuer,
        jwks_url: jwks,
        sender: observed.sender.clone(),
        secret_name: req
            .spec
            .secret_name
            .clone()
            .unwrap_or_else(|| format!("{}-cognito", req.name)),
    }
}

/// Converges AWS to the spec. An in-sync pool costs reads only.
pub async fn apply(
    c: &Clients,
    req: &Request<'_>,
    sink: &mut impl IdSink,
) -> Result<Applied, Error> {
    let mut changes = Vec::new();
    for _ in 0..MAX_PASSES {
        let (observed, ctx, desired) = observe(c, req).await?;
        sink.record(&observed.ids).await.map_err(Error::Record)?;
        let pass = plan(&observed, &desired);
        if pass.is_empty() {
            return Ok(Applied {
                outputs: outputs(c, req, &observed),
                changes,
            });
        }
        apply_pass(c, req, &pass, &observed, ctx, sink).await?;
        changes.push(pass);
    }
    let (observed, _, desired) = observe(c, req).await?;
    let pending = plan(&observed, &desired);
    if pending.is_empty() {
        return Ok(Applied {
            outputs: outputs(c, req, &observed),
            changes,
        });
    }
    Err(Error::NotConverged(
        pending
            .changes
            .iter()
            .map(|c| format!("{} {}", c.resource.label(), c.name))
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

async fn apply_pass(
    c: &Clients,
    req: &Request<'_>,
    pass: &Plan,
    observed: &ObservedStack,
    mut ctx: Context,
    sink: &mut impl IdSink,
) -> Result<(), Error> {
    let names = req.names();
    let mut ids = observed.ids.clone();
    for change in &pass.changes {
        // IDs created earlier in this pass feed the later resources.
        let desired = desired_stack(req.spec, &names, &ctx)?;
        let tags = &desired.tags;
        match (change.resource, change.action) {
            (Resource::SenderIdentity, _) => {
                if let Some(sender) = &desired.sender {
                    aws::ses::create(c, &sender.identity, tags).await?;
                }
            }
            (Resource::ExecutionRole, Action::Create) => {
                if let Some(role) = &desired.role {
                    aws::iam::create(c, role, tags).await?;
                }
            }
            (Resource::ExecutionRole, Action::Update) => {
                if let (Some(before), Some(role)) = (&observed.role, &desired.role) {
                    aws::iam::update(c, before, role).await?;
                }
            }
            (Resource::ExecutionRole, Action::Delete) => {
                aws::iam::delete(c, &names.role, &names.role_policy).await?
            }
            (Resource::StateTable, Action::Create) => {
                if let Some(table) = &desired.table {
                    aws::table::create(c, table, tags).await?;
                }
            }
            (Resource::StateTable, Action::Update) => {
                if let Some(table) = &desired.table {
                    aws::table::set_ttl(c, table).await?;
                }
            }
            (Resource::StateTable, Action::Delete) => aws::table::delete(c, &names.table).await?,
            (Resource::TriggerFunction, Action::Create) => {
                if let Some(function) = &desired.function {
                    ids.function_arn = Some(aws::lambda::create(c, function, req.zip, tags).await?);
                }
            }
            (Resource::TriggerFunction, Action::Update) => {
                if let (Some(before), Some(function)) = (&observed.function, &desired.function) {
                    aws::lambda::update(c, before, function, req.zip).await?;
                }
            }
            (Resource::TriggerFunction, Action::Delete) => {
                aws::lambda::delete(c, &names.function).await?
            }
            (Resource::UserPool, Action::Create) => {
                let (id, arn) = aws::cognito::create_pool(c, &desired.user_pool).await?;
                ids.user_pool_id = Some(id.clone());
                ids.user_pool_arn = Some(arn);
                ctx.user_pool_id = Some(id);
                sink.record(&ids).await.map_err(Error::Record)?;
            }
            (Resource::UserPool, Action::Update) => {
                if let Some(id) = &ids.user_pool_id {
                    aws::cognito::update_pool(c, id, &desired.user_pool).await?;
                }
            }
            (Resource::InvokePermission, action) => {
                if action != Action::Create {
                    aws::lambda::remove_permission(
                        c,
                        &names.function,
                        crate::desired::PERMISSION_STATEMENT,
                    )
                    .await?;
                }
                if let (Some(permission), true) = (&desired.permission, action != Action::Delete) {
                    aws::lambda::add_permission(c, &names.function, permission).await?;
                }
            }
            (Resource::AppClient, Action::Create) => {
                if let Some(pool) = &ids.user_pool_id {
                    ids.client_id =
                        Some(aws::cognito::create_client(c, pool, &desired.client).await?);
                    sink.record(&ids).await.map_err(Error::Record)?;
                }
            }
            (Resource::AppClient, Action::Update) => {
                if let (Some(pool), Some(id)) = (&ids.user_pool_id, &ids.client_id) {
                    aws::cognito::update_client(c, pool, id, &desired.client).await?;
                }
            }
            (Resource::UserPool | Resource::AppClient, Action::Delete) => {}
        }
        crash_point(change.resource.label());
    }
    Ok(())
}

/// What `delete` did.
#[derive(Debug, Clone)]
pub enum Deleted {
    /// `deletionPolicy: Retain`: nothing was touched.
    Retained,
    Removed(Plan),
}

/// Removes the pool's AWS resources, or keeps them under `Retain`. Already gone counts as done.
pub async fn delete(c: &Clients, req: &Request<'_>) -> Result<Deleted, Error> {
    if req.spec.deletion_policy == DeletionPolicy::Retain {
        return Ok(Deleted::Retained);
    }
    let (observed, _, desired) = observe(c, req).await?;
    let names = req.names();
    let removal = deletion_plan(&observed, &desired);
    for change in &removal.changes {
        match change.resource {
            Resource::AppClient => {
                if let (Some(pool), Some(id)) =
                    (&observed.ids.user_pool_id, &observed.ids.client_id)
                {
                    aws::cognito::delete_client(c, pool, id).await?;
                }
            }
            Resource::InvokePermission => {
                aws::lambda::remove_permission(
                    c,
                    &names.function,
                    crate::desired::PERMISSION_STATEMENT,
                )
                .await?
            }
            Resource::UserPool => {
                if let (Some(id), Some(pool)) = (&observed.ids.user_pool_id, &observed.user_pool) {
                    if pool.deletion_protection == "ACTIVE" {
                        // Retain was switched to Delete without an apply in between.
                        let mut unprotected = desired.user_pool.clone();
                        unprotected.deletion_protection = "INACTIVE".into();
                        aws::cognito::update_pool(c, id, &unprotected).await?;
                    }
                    aws::cognito::delete_pool(c, id).await?;
                }
            }
            Resource::TriggerFunction => aws::lambda::delete(c, &names.function).await?,
            Resource::StateTable => aws::table::delete(c, &names.table).await?,
            Resource::ExecutionRole => aws::iam::delete(c, &names.role, &names.role_policy).await?,
            Resource::SenderIdentity => {}
        }
    }
    Ok(Deleted::Removed(removal))
}

//! observe → desired (pure) → plan (pure) → apply (I/O) → outputs, for one PasswordlessPool.
//!
//! Crash-safe: every create is find-or-create by name (owner-tagged), IDs are handed to the
//! caller's [`IdSink`] the moment AWS assigns them, and a new pass starts from observation, so a
//! run killed at any point resumes without duplicates. The CLI and the controller share this.

use std::collections::BTreeMap;

use crate::aws::sandbox::{self, Channel};
use crate::aws::{self, Clients};
use crate::crd::{AuthFactor, DeletionPolicy, ManagedLoginStatus, PasswordlessPool, Strategy};
use crate::desired::DOMAIN_ACTIVE;
use crate::desired::{
    DesiredStack, Facts, desired_stack, keep_adopted_settings, mark_operator_domains,
};
use crate::diff::{Action, Plan, deletion_plan, hold_for_sender, plan};
use crate::names::{ADOPTED_TAG, StackNames};
use crate::observed::{ObservedIds, ObservedStack, SenderObserved};
use crate::partition::Partition;
pub use crate::reconcile_error::{Conflict, Error, MAX_PASSES, RecordError};
use crate::stack::{self, Observing, Pass, STACK};
use crate::tenancy::Platform;
use crate::trigger_code::{Package, TriggerCode};
use crate::validate::{ValidatedSpec, defaults_only, validate};

/// Test-only switch: abort the process right after the named step of an apply (crash tests).
pub const CRASH_AFTER_ENV: &str = "PWP_TEST_CRASH_AFTER";

/// Where IDs go as soon as AWS assigns them: the CLI's state file, the controller's status.
pub trait IdSink: Send {
    fn record(
        &mut self,
        ids: &ObservedIds,
    ) -> impl std::future::Future<Output = Result<(), RecordError>> + Send;
}

/// What one pool needs besides its spec.
pub struct Request<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// The object's `metadata.uid`, tagged on what it creates; None from a manifest file.
    pub uid: Option<&'a str>,
    /// The cluster id and the tenancy rules the request was checked against.
    pub platform: &'a Platform,
    /// Validated when the request is made: nothing reaches AWS from an invalid spec.
    pub spec: ValidatedSpec,
    /// The trigger's deployment package, with the pool's messages in other languages.
    pub code: Package<'a>,
    pub signing_keys: String,
    /// IDs recorded by an earlier run.
    pub known: ObservedIds,
    /// Made for [`Purpose::Cleanup`]: only [`delete`] may use it.
    pub cleanup: bool,
    /// The relying-party id a change of it is acknowledged for, by the pool's
    /// [`crate::annotations::ACKNOWLEDGE_RELYING_PARTY_ID`].
    pub acknowledged_relying_party_id: Option<&'a str>,
}

/// What a request is made for, which decides how its spec is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// To plan or apply: the spec must pass every rule, and the platform team's tenancy rules
    /// must grant what it asks in its namespace.
    Apply,
    /// To delete: the spec's defaults, its rules unchecked, so an object whose spec no longer
    /// validates (a newer rule, an old apiserver without CEL) can still be deleted.
    Cleanup,
}

impl<'a> Request<'a> {
    /// What the spec and the tenancy rules allow, checked before anything is made for the pool
    /// (its signing keys, its AWS clients): a refused pool costs no Secret and no client.
    pub fn admissible(
        pool: &PasswordlessPool,
        platform: &Platform,
    ) -> Result<ValidatedSpec, Error> {
        let spec = validate(&pool.spec)?;
        let namespace = pool.metadata.namespace.as_deref().unwrap_or("default");
        platform.tenancy.check(namespace, &spec)?;
        Ok(spec)
    }

    /// A request for `purpose` (see [`Purpose`]).
    pub fn new(
        purpose: Purpose,
        pool: &'a PasswordlessPool,
        platform: &'a Platform,
        code: &'a TriggerCode,
        signing_keys: String,
        known: ObservedIds,
    ) -> Result<Self, Error> {
        let spec = match purpose {
            Purpose::Apply => Self::admissible(pool, platform)?,
            Purpose::Cleanup => defaults_only(&pool.spec),
        };
        // A deletion deploys nothing: it needs no package of its own.
        let code = match crate::desired::messages(&spec).filter(|_| purpose == Purpose::Apply) {
            Some(m) => Package::with_messages(code, m.file).map_err(crate::aws::AwsError::from)?,
            None => Package::shared(code),
        };
        let cleanup = purpose == Purpose::Cleanup;
        let namespace = pool.metadata.namespace.as_deref().unwrap_or("default");
        let name = pool
            .metadata
            .name
            .as_deref()
            .ok_or_else(|| Error::Conflict(Conflict::NoName))?;
        Ok(Self {
            namespace,
            name,
            uid: pool.metadata.uid.as_deref(),
            platform,
            spec,
            code,
            signing_keys,
            known,
            cleanup,
            acknowledged_relying_party_id: crate::annotations::value(
                &pool.metadata,
                crate::annotations::ACKNOWLEDGE_RELYING_PARTY_ID,
            ),
        })
    }

    fn names(&self) -> StackNames {
        StackNames::new(&self.platform.cluster_id, self.namespace, self.name).with_uid(self.uid)
    }
}

/// Everything the status and the output Secret report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs {
    pub region: String,
    pub ids: ObservedIds,
    pub issuer_url: Option<String>,
    pub jwks_url: Option<String>,
    pub sender: Option<SenderObserved>,
    pub managed_login: Option<ManagedLoginStatus>,
    pub secret_name: String,
    /// The user pool was adopted: never deleted by the operator.
    pub adopted: bool,
    /// The managed login domain while it does not serve its pages yet (or failed to).
    pub domain_not_active: Option<DomainNotActive>,
    /// The channel the pool sends through is in the account's sandbox here.
    pub delivery_restricted: Option<Channel>,
    /// The feature plan the spec needs.
    pub tier: crate::desired::Tier,
}

/// A managed login domain Cognito does not serve yet: a prefix domain takes minutes, a custom
/// one up to an hour (and its DNS alias).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainNotActive {
    pub host: String,
    /// Cognito's status: `CREATING`, `UPDATING`, `FAILED`, ...
    pub status: String,
    /// A custom domain's CloudFront host, which its DNS alias record must point at.
    pub dns_target: Option<String>,
}

impl Outputs {
    /// Ready means usable: the pool and client exist, the sender (if any) may send, and the
    /// managed login domain (if any) serves its pages.
    pub fn ready(&self) -> bool {
        self.ids.user_pool_id.is_some()
            && self.ids.client_id.is_some()
            && self.sender.as_ref().is_none_or(SenderObserved::verified)
            && self.domain_not_active.is_none()
    }

    /// The output Secret's data: documented keys plus env-style aliases for `envFrom`. The
    /// strategy tells a sign-in page which flow to offer.
    pub fn secret_data(&self, strategy: Strategy) -> BTreeMap<String, String> {
        let login = self.managed_login.as_ref();
        let entries = [
            (
                ["userPoolId", "COGNITO_USER_POOL_ID"],
                self.ids.user_pool_id.clone(),
            ),
            (
                ["clientId", "COGNITO_CLIENT_ID"],
                self.ids.client_id.clone(),
            ),
            (["region", "COGNITO_REGION"], Some(self.region.clone())),
            (
                ["strategy", "PASSWORDLESS_STRATEGY"],
                Some(strategy.as_str().to_owned()),
            ),
            (["issuerUrl", "COGNITO_ISSUER_URL"], self.issuer_url.clone()),
            (["jwksUrl", "COGNITO_JWKS_URL"], self.jwks_url.clone()),
            (
                ["managedLoginDomain", "COGNITO_DOMAIN"],
                login.map(|l| l.domain.clone()),
            ),
            (
                ["signInUrl", "COGNITO_SIGN_IN_URL"],
                login.map(|l| l.sign_in_url.clone()),
            ),
            (
                ["tokenEndpoint", "COGNITO_TOKEN_ENDPOINT"],
                login.map(|l| l.token_endpoint.clone()),
            ),
            (
                ["signOutUrl", "COGNITO_SIGN_OUT_URL"],
                login.and_then(|l| l.sign_out_url.clone()),
            ),
        ];
        entries
            .into_iter()
            .filter_map(|(keys, value)| Some((keys, value?)))
            .flat_map(|(keys, value)| keys.map(|k| (k.to_owned(), value.clone())))
            .collect()
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

/// Reads the pool's AWS resources, in the order of [`STACK`], and computes the desired state
/// once, from what is known before observing. Costs only reads.
pub async fn observe(
    c: &Clients,
    req: &Request<'_>,
) -> Result<(ObservedStack, DesiredStack), Error> {
    observe_with(c, req, &req.known, req.cleanup).await
}

/// [`observe`], with the IDs known so far (an apply learns new ones pass by pass), as for a
/// deletion when `cleanup` (whatever request asked for it).
async fn observe_with(
    c: &Clients,
    req: &Request<'_>,
    known: &ObservedIds,
    cleanup: bool,
) -> Result<(ObservedStack, DesiredStack), Error> {
    let mut names = req.names();
    let caller = c.caller().await?;
    let adopted = req.spec.adopt.as_ref().map(|a| a.user_pool_id.as_str());
    let mut known = known.clone();
    known.user_pool_id =
        stack::locate_pool(c, &names, known.user_pool_id.as_deref(), adopted).await?;
    let facts = Facts {
        region: c.region.clone(),
        partition: caller.partition,
        account_id: Some(caller.account),
        code_sha256: req.code.sha256().to_owned(),
        signing_keys: req.signing_keys.clone(),
        user_pool_id: known.user_pool_id.clone(),
        trigger_boundary: req.platform.trigger_boundary.clone(),
    };
    let mut desired = desired_stack(&req.spec, &names, &facts)?;
    // The user pool first: whose it is says whose the rest of the stack is (an earlier
    // object's of the same name, or one this pool took over by adopting its user pool).
    let pool = match &known.user_pool_id {
        Some(id) => aws::cognito::observe_pool(c, id, &desired.user_pool).await?,
        None => None,
    };
    if let Some(pool) = &pool {
        let tags = pool.config.tags.iter();
        names.settle(
            tags.map(|(k, v)| (k.as_str(), v.as_str())),
            adopted.is_some(),
        );
        // Settling changes what the desired state holds only through its tags (an inherited
        // uid): otherwise the settled names are swapped in, not the whole stack rebuilt on
        // every reconcile.
        if names.inherited != desired.names.inherited {
            desired = desired_stack(&req.spec, &names, &facts)?;
        } else {
            desired.names = names.clone();
        }
    }
    let cx = Observing {
        c,
        names: &names,
        facts: &facts,
        desired: &desired,
        known: &known,
        pool: pool.as_ref(),
        adopted: adopted.is_some(),
        cleanup,
        acknowledged_relying_party_id: req.acknowledged_relying_party_id,
    };
    let mut observed = ObservedStack::default();
    for resource in STACK {
        resource.observe(&cx, &mut observed).await?;
    }
    if let (Some(_), Some(pool)) = (adopted, &observed.user_pool) {
        keep_adopted_settings(&mut desired.user_pool, pool);
    }
    mark_operator_domains(&mut desired.user_pool, &observed.operator_domains);
    Ok((observed, desired))
}

/// What `plan` prints: the changes the next apply would start with.
pub async fn plan_changes(c: &Clients, req: &Request<'_>) -> Result<Plan, Error> {
    let (observed, desired) = observe(c, req).await?;
    Ok(plan(&STACK, &observed, &desired))
}

/// The managed login domain, if Cognito does not serve it yet.
fn domain_not_active(c: &Clients, observed: &ObservedStack) -> Option<DomainNotActive> {
    let domain = observed.domain.as_ref()?;
    let status = domain.status.as_deref()?;
    (status != DOMAIN_ACTIVE).then(|| DomainNotActive {
        host: domain.host(&c.region),
        status: status.to_owned(),
        dns_target: domain.cloud_front_distribution.clone(),
    })
}

/// Managed login's endpoints, once the domain is active and the client exists. Like the JWKS
/// URL, they point at an emulator when the AWS endpoint is overridden (it serves the pages).
fn managed_login(
    c: &Clients,
    desired: &DesiredStack,
    observed: &ObservedStack,
) -> Option<ManagedLoginStatus> {
    if domain_not_active(c, observed).is_some() {
        return None;
    }
    let domain = observed.domain.as_ref()?;
    let client = observed.ids.client_id.as_ref()?;
    let oauth = &desired.client.oauth;
    let callback = oauth.callback_urls.first()?;
    let host = domain.host(&c.region);
    let base = match &c.endpoint {
        Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
        None => format!("https://{host}"),
    };
    let query = [
        ("client_id", client.as_str()),
        ("response_type", "code"),
        ("scope", &oauth.scopes.join(" ")),
        ("redirect_uri", callback),
    ]
    .map(|(k, v)| format!("{k}={}", query_escape(v)))
    .join("&");
    let sign_out = oauth.logout_urls.first().map(|to| {
        format!(
            "{base}/logout?client_id={}&logout_uri={}",
            query_escape(client),
            query_escape(to)
        )
    });
    Some(ManagedLoginStatus {
        domain: host,
        sign_in_url: format!("{base}/oauth2/authorize?{query}"),
        token_endpoint: format!("{base}/oauth2/token"),
        sign_out_url: sign_out,
        cloud_front_distribution: domain.cloud_front_distribution.clone(),
    })
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn query_escape(value: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(value, UNRESERVED).to_string()
}

fn outputs(
    c: &Clients,
    req: &Request<'_>,
    desired: &DesiredStack,
    observed: &ObservedStack,
) -> Outputs {
    // China's endpoints are under amazonaws.com.cn: the issuer is the pool's endpoint.
    let host = format!(
        "cognito-idp.{}.{}",
        c.region,
        Partition::of_region(&c.region).dns_suffix()
    );
    let issuer = observed
        .ids
        .user_pool_id
        .as_ref()
        .map(|id| format!("https://{host}/{id}"));
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
            None => format!("https://{host}/{id}/.well-known/jwks.json"),
        });
    Outputs {
        region: c.region.clone(),
        ids: observed.ids.clone(),
        issuer_url: issuer,
        jwks_url: jwks,
        sender: observed.sender.clone(),
        managed_login: managed_login(c, desired, observed),
        secret_name: req
            .spec
            .secret_name
            .clone()
            .unwrap_or_else(|| format!("{}-cognito", req.name)),
        adopted: req.spec.adopt.is_some(),
        domain_not_active: domain_not_active(c, observed),
        delivery_restricted: None,
        tier: crate::desired::tier(&req.spec),
    }
}

/// The channel the pool's sign-in messages go through, if any.
fn channel_of(spec: &ValidatedSpec) -> Option<Channel> {
    match spec.strategy {
        Strategy::MagicLink | Strategy::EmailOtp => Some(Channel::Email),
        Strategy::SmsOtp => Some(Channel::Sms),
        Strategy::Native => spec
            .native
            .as_ref()
            .is_some_and(|n| n.allowed_first_auth_factors.contains(&AuthFactor::EmailOtp))
            .then_some(Channel::Email),
    }
}

/// Converges AWS to the spec. An in-sync pool costs reads only. A trigger that refuses its
/// configuration does not stop the rest of the stack converging: the probe is not repeated
/// within this apply, and the apply ends with [`Error::TriggerUnhealthy`] instead of Ready.
pub async fn apply(
    c: &Clients,
    req: &Request<'_>,
    sink: &mut impl IdSink,
) -> Result<Applied, Error> {
    let mut changes = Vec::new();
    let mut refused: Option<String> = None;
    // What each pass learns (a pool created under a recorded id that had vanished) feeds the
    // next, so a stale id never makes a second pool.
    let mut known = req.known.clone();
    for pass_number in 0..=MAX_PASSES {
        let (observed, desired) = observe_with(c, req, &known, req.cleanup).await?;
        sink.record(&observed.ids).await?;
        let mut pass = plan(&STACK, &observed, &desired);
        hold_for_sender(&STACK, &mut pass, &observed, &desired);
        if refused.is_some() {
            pass.changes
                .retain(|change| !stack::only_awaits_probe(change));
        }
        if pass.is_empty() {
            return match refused {
                Some(reason) => Err(Error::TriggerUnhealthy(reason)),
                None => {
                    let mut outputs = outputs(c, req, &desired, &observed);
                    if let Some(channel) = channel_of(&req.spec) {
                        let sandboxed = sandbox::in_sandbox(c, channel).await;
                        outputs.delivery_restricted = sandboxed.unwrap_or(false).then_some(channel);
                    }
                    Ok(Applied { outputs, changes })
                }
            };
        }
        if pass_number == MAX_PASSES {
            return Err(Error::NotConverged(
                pass.changes
                    .iter()
                    .map(|c| format!("{} {}", c.resource, c.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        let (ids, refusal) = apply_pass(c, req, &pass, &observed, &desired, sink).await?;
        known = ids;
        refused = refused.or(refusal);
        changes.push(pass);
    }
    unreachable!("the last pass returns")
}

/// Carries out one pass's plan, in its order. IDs go to the sink the moment AWS assigns them.
/// Once the user pool is created, what names it waits for the next pass, whose desired state
/// carries the new id: the desired state is computed once per pass, never patched. Returns the
/// IDs known after the pass, and the trigger's refusal if its probe failed.
async fn apply_pass(
    c: &Clients,
    req: &Request<'_>,
    pass: &Plan,
    observed: &ObservedStack,
    desired: &DesiredStack,
    sink: &mut impl IdSink,
) -> Result<(ObservedIds, Option<String>), Error> {
    let step = Pass {
        c,
        // As observation settled them (see `observe_with`).
        names: &desired.names,
        desired,
        observed,
        code: &req.code,
    };
    let mut ids = observed.ids.clone();
    let mut refused = None;
    for change in &pass.changes {
        let resource = stack::by_label(change.resource).expect("plans name resources of STACK");
        if resource.needs_pool_id() && ids.user_pool_id != observed.ids.user_pool_id {
            continue;
        }
        let before = ids.clone();
        let done = match change.action {
            Action::Create => resource.create(&step, &mut ids).await,
            Action::Update => resource.update(&step, &mut ids).await,
            Action::Delete => resource.delete(&step).await,
        };
        if ids != before {
            sink.record(&ids).await?;
        }
        match done {
            // The rest of the stack still converges; the refusal is reported at the end.
            Err(Error::TriggerUnhealthy(reason)) => refused = Some(reason),
            other => other?,
        }
        crash_point(change.resource);
    }
    Ok((ids, refused))
}

/// What `delete` did.
#[derive(Debug, Clone)]
pub enum Deleted {
    /// `deletionPolicy: Retain`, or an adopted pool: nothing was touched.
    Retained,
    Removed(Plan),
}

/// Removes the pool's AWS resources, in reverse order of [`STACK`], or keeps them under
/// `Retain`, and always for an adopted pool (the pool and the trigger it now runs). Already
/// gone counts as done.
pub async fn delete(c: &Clients, req: &Request<'_>) -> Result<Deleted, Error> {
    if req.spec.deletion_policy == DeletionPolicy::Retain || req.spec.adopt.is_some() {
        return Ok(Deleted::Retained);
    }
    // Observed as for a deletion even when the request was made to apply (the CLI's delete):
    // what only an apply needs must not stand in the way, and leftovers are searched for.
    let (observed, desired) = observe_with(c, req, &req.known, true).await?;
    // Adopted once, kept for good, even if the spec stopped saying `adopt`: deleting the
    // trigger would leave the pool pointing at nothing.
    if observed
        .user_pool
        .as_ref()
        .is_some_and(|p| p.tags.contains_key(ADOPTED_TAG))
    {
        return Ok(Deleted::Retained);
    }
    let step = Pass {
        c,
        names: &desired.names,
        desired: &desired,
        observed: &observed,
        code: &req.code,
    };
    let removal = deletion_plan(&STACK, &observed, &desired);
    for change in &removal.changes {
        if let Some(resource) = stack::by_label(change.resource) {
            resource.delete(&step).await?;
        }
    }
    Ok(Deleted::Removed(removal))
}

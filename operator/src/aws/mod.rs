//! The AWS edge: one client per service, built once from the standard AWS configuration
//! (`AWS_ENDPOINT_URL`, profiles, container credentials, IRSA), each with the SDK's standard
//! retry mode (bounded attempts, jittered exponential backoff, throttling-aware) and a counter of
//! the calls made, split into reads and writes.

pub mod cognito;
pub mod iam;
pub mod lambda;
pub mod managed_login;
pub mod pace;
pub mod pool_index;
pub mod sandbox;
pub mod secrets;
pub mod ses;
pub mod table;
pub mod waf;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_lambda::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_lambda::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use crate::partition::Partition;
use crate::tenancy::Account;

/// A resource's tags, as read back.
pub type Tags = BTreeMap<String, String>;

/// `(service, operation) -> count`.
pub type PerOperation = BTreeMap<(String, String), u64>;
/// `(service, operation, kind) -> count`.
pub type PerFailure = BTreeMap<(String, String, &'static str), u64>;

/// How many times each AWS operation was called, attempted (the SDK retries a throttled, failed
/// or dropped attempt), and how its failed attempts failed.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<PerOperation>>,
    attempts: Arc<Mutex<PerOperation>>,
    failures: Arc<Mutex<PerFailure>>,
}

/// How an attempt failed, from its HTTP answer: `throttled` (429, or a throttling error type
/// or code), `client` (other 4xx), `server` (5xx), `transport` (no answer:
/// refused, dropped or timed out). `None` for a success.
pub fn failure_kind(status: Option<u16>, error_type: Option<&str>) -> Option<&'static str> {
    let throttling = error_type.is_some_and(is_throttling);
    match status {
        None => Some("transport"),
        Some(429) => Some("throttled"),
        Some(400..=499) if throttling => Some("throttled"),
        Some(400..=499) => Some("client"),
        Some(500..=599) => Some("server"),
        Some(_) => None,
    }
}

/// Whether an error type or code says the caller was throttled (`ThrottlingException`,
/// `Throttling`, `TooManyRequestsException`, with or without a `:namespace` suffix).
fn is_throttling(code: &str) -> bool {
    code.contains("Throttl") || code.contains("TooManyRequests")
}

/// The `<Code>` of a query-protocol error answer (`<ErrorResponse><Error><Code>`).
pub fn xml_error_code(body: &[u8]) -> Option<&str> {
    let body = std::str::from_utf8(body).ok()?;
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body[start..].find("</Code>")?;
    Some(body[start..start + len].trim())
}

/// Whether an operation changes anything: everything but Get*, Describe* and List*.
pub fn is_mutating(operation: &str) -> bool {
    !["Get", "Describe", "List"]
        .iter()
        .any(|p| operation.starts_with(p))
}

impl CallCounter {
    /// Calls made, retries not counted.
    pub fn snapshot(&self) -> PerOperation {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Attempts sent, retries included.
    pub fn attempts(&self) -> PerOperation {
        self.attempts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Failed attempts, by `(service, operation, kind)` (see [`failure_kind`]).
    pub fn failures(&self) -> PerFailure {
        self.failures.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn writes(&self) -> u64 {
        self.snapshot()
            .iter()
            .filter(|((_, op), _)| is_mutating(op))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn reads(&self) -> u64 {
        self.snapshot()
            .iter()
            .filter(|((_, op), _)| !is_mutating(op))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Adds one to `key`'s count (a poisoned lock drops the count rather than the call).
fn bump<K: Ord>(counts: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut counts) = counts.lock() {
        *counts.entry(key).or_default() += 1;
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    // Before serialization, not before execution: the operation's Metadata joins the config bag
    // in between. Runs once per call, not once per retry.
    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            bump(
                &self.calls,
                (meta.service().to_owned(), meta.name().to_owned()),
            );
        }
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            bump(
                &self.attempts,
                (meta.service().to_owned(), meta.name().to_owned()),
            );
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.map(|r| r.status().as_u16());
        // JSON protocols name the error in a header; the query protocol (IAM, STS) only in the
        // XML body, which is in memory by now. Only a 4xx is looked into: its kind depends on it.
        let error_type = response
            .filter(|_| status.is_some_and(|s| (400..500).contains(&s)))
            .and_then(|r| {
                r.headers()
                    .get("x-amzn-errortype")
                    .or_else(|| r.body().bytes().and_then(xml_error_code))
            });
        let kind = failure_kind(status, error_type);
        if let (Some(kind), Some(meta)) = (kind, cfg.load::<Metadata>()) {
            let key = (meta.service().to_owned(), meta.name().to_owned(), kind);
            bump(&self.failures, key);
        }
        Ok(())
    }
}

/// Trigger-code uploads at once, per region.
const MAX_UPLOADS: usize = 2;

/// Every client the reconcile core uses.
#[derive(Clone)]
pub struct Clients {
    pub ses: aws_sdk_sesv2::Client,
    /// SES's first API, for `VerifyEmailIdentity` alone (see `ses::resend_verification`).
    pub ses_v1: aws_sdk_ses::Client,
    pub iam: aws_sdk_iam::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub sts: aws_sdk_sts::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub waf: aws_sdk_wafv2::Client,
    pub sns: aws_sdk_sns::Client,
    pub calls: CallCounter,
    /// Spaces Cognito control-plane calls within its per-category quotas.
    pub pace: Arc<pace::Pace>,
    /// Which user pool has which name (one scan serves a fleet's lookups).
    pub pool_names: Arc<pool_index::PoolIndex>,
    /// Bounds the trigger-code uploads in flight: each holds several copies of the zip (the
    /// request body is base64 JSON), and a fleet's first apply must not hold them all at once.
    pub uploads: Arc<tokio::sync::Semaphore>,
    pub region: String,
    /// The configured endpoint (an emulator), if any: JWKS URLs follow it.
    pub endpoint: Option<String>,
    /// Who the credentials are, asked once per process.
    caller: Arc<tokio::sync::OnceCell<Caller>>,
    /// The account's SES and SMS sandbox states here, asked at most hourly.
    pub sandboxes: Arc<sandbox::Seen>,
}

/// The credentials' account and partition (from GetCallerIdentity's ARN): every ARN the desired
/// state names lives in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub partition: Partition,
}

impl Clients {
    pub async fn from_env(region_override: Option<&str>) -> Result<Self, AwsError> {
        Self::for_account(region_override, &Account::Operator).await
    }

    /// Clients for a namespace's account: the operator's own credentials, or a role the
    /// platform team mapped to the namespace, assumed with its external id (refreshed by the
    /// SDK before the session runs out).
    pub async fn for_account(
        region_override: Option<&str>,
        account: &Account,
    ) -> Result<Self, AwsError> {
        Self::counted(region_override, account, CallCounter::default()).await
    }

    /// As [`Self::for_account`], counting calls in `calls` (one counter can serve many client
    /// sets, so a cache that drops and rebuilds sets does not grow the metrics).
    pub async fn counted(
        region_override: Option<&str>,
        account: &Account,
        calls: CallCounter,
    ) -> Result<Self, AwsError> {
        let mut loader = aws_config::from_env();
        if let Some(region) = region_override {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        let mut config = loader
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5))
            .load()
            .await;
        if let Account::Assumed { role, session } = account {
            let mut assume = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
                .session_name(session.clone())
                .configure(&config);
            if let Some(id) = &role.external_id {
                assume = assume.external_id(id.clone());
            }
            let provider = assume.build().await;
            config = config
                .into_builder()
                .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                    provider,
                ))
                .build();
        }
        let region = config
            .region()
            .map(|r| r.to_string())
            .ok_or(AwsError::NoRegion)?;
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(&config)
                        .interceptor(calls.clone())
                        .build(),
                )
            };
        }
        Ok(Self {
            ses: client!(aws_sdk_sesv2),
            ses_v1: client!(aws_sdk_ses),
            iam: client!(aws_sdk_iam),
            dynamodb: client!(aws_sdk_dynamodb),
            lambda: client!(aws_sdk_lambda),
            cognito: client!(aws_sdk_cognitoidentityprovider),
            sts: client!(aws_sdk_sts),
            secrets: client!(aws_sdk_secretsmanager),
            waf: client!(aws_sdk_wafv2),
            sns: client!(aws_sdk_sns),
            endpoint: config.endpoint_url().map(str::to_owned),
            calls,
            pace: Arc::default(),
            pool_names: Arc::default(),
            uploads: Arc::new(tokio::sync::Semaphore::new(MAX_UPLOADS)),
            region,
            caller: Arc::default(),
            sandboxes: Arc::default(),
        })
    }

    /// Who the credentials are (sts:GetCallerIdentity, once per process).
    pub async fn caller(&self) -> Result<Caller, AwsError> {
        self.caller
            .get_or_try_init(|| async {
                let out = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| call_error("sts:GetCallerIdentity", e))?;
                let missing =
                    |what: &str| AwsError::Unexpected(format!("GetCallerIdentity returned {what}"));
                let account = out.account().ok_or_else(|| missing("no account"))?;
                let partition = out
                    .arn()
                    .and_then(Partition::of_arn)
                    .ok_or_else(|| missing("no ARN with a partition"))?;
                Ok(Caller {
                    account: account.to_owned(),
                    partition,
                })
            })
            .await
            .cloned()
    }
}

/// An AWS call that failed, with the service's error code. Messages never carry request data.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("no AWS region: set spec.region, AWS_REGION or a profile region")]
    NoRegion,
    #[error("AWS {operation} failed: {code}: {message}")]
    Call {
        operation: &'static str,
        code: String,
        message: String,
        transient: bool,
    },
    #[error("{0}")]
    Unexpected(String),
    /// The operator's own trigger package could not be read to upload it. Retried with backoff:
    /// no spec change can mend it, and a restart (new digest) or a readable file may.
    #[error(transparent)]
    TriggerCode(#[from] crate::trigger_code::CodeError),
}

impl AwsError {
    /// The same error, as one the next reconcile may cure (a resource still settling).
    pub fn settling(self) -> Self {
        match self {
            Self::Call {
                operation,
                code,
                message,
                ..
            } => Self::Call {
                operation,
                code,
                message,
                transient: true,
            },
            other => other,
        }
    }

    /// Whether retrying later may help (throttling, 5xx, timeouts, a resource still settling).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Call {
                transient: true,
                ..
            } | Self::TriggerCode(_)
        )
    }
}

/// Waits out a resource that AWS has just made but not yet spread (IAM roles, WAF web ACLs:
/// seconds, eventually consistent), backing off 0.5 s, 1 s, 2 s… up to 8 s apart, until
/// [`Patience::LIMIT`] has been spent on one call (the last wait may pass it by up to 8 s).
/// Past that, the caller's error is transient: the next reconcile goes on.
pub struct Patience {
    waited: Duration,
    next: Duration,
}

impl Patience {
    pub const LIMIT: Duration = Duration::from_secs(30);

    pub fn new() -> Self {
        Self {
            waited: Duration::ZERO,
            next: Duration::from_millis(500),
        }
    }

    /// Sleeps the next wait and says true, or says false once the patience is spent.
    pub async fn wait(&mut self, what: &str) -> bool {
        if self.waited >= Self::LIMIT {
            return false;
        }
        tracing::debug!(waited = ?self.waited, "{what} not yet usable; retrying");
        tokio::time::sleep(self.next).await;
        self.waited += self.next;
        self.next = (self.next * 2).min(Duration::from_secs(8));
        true
    }
}

impl Default for Patience {
    fn default() -> Self {
        Self::new()
    }
}

/// Converts any SDK error, keeping the code and message and classifying it.
/// Some AWS errors quote the request back (Lambda's environment-size refusal prints every
/// variable; a secret's value could be quoted too): such a message is cut before the quote, so
/// it can be logged, put in a status or an event.
fn withhold_echoed_request(message: String) -> String {
    let cut = ["String measured", "SecretString"]
        .iter()
        .filter_map(|marker| message.find(marker))
        .min();
    match cut {
        Some(at) => format!("{}(rest withheld: it quotes the request)", &message[..at]),
        None => message,
    }
}

pub fn call_error<E, R>(
    operation: &'static str,
    err: aws_sdk_lambda::error::SdkError<E, R>,
) -> AwsError
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
    let transient = matches!(
        err,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    );
    let code = err.code().unwrap_or("Unknown").to_owned();
    let message = withhold_echoed_request(
        err.message()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}", aws_sdk_lambda::error::DisplayErrorContext(&err))),
    );
    let transient = transient || transient_code(&code);
    AwsError::Call {
        operation,
        code,
        message,
        transient,
    }
}

/// Error codes retrying later may cure: throttling, the service failing, a resource settling,
/// and "already exists" from a create, which is a retried create whose first answer was lost:
/// the next reconcile finds the resource by name and checks it is ours.
fn transient_code(code: &str) -> bool {
    is_throttling(code)
        || code.ends_with("ServiceException")
        || matches!(
            code,
            "ResourceConflictException"
                | "ResourceInUseException"
                | "ServiceUnavailable"
                | "InternalFailure"
                | "InternalErrorException"
                | "ResourceExistsException"
                | "EntityAlreadyExists"
                | "AlreadyExistsException"
                | "WAFDuplicateItemException"
                | "WAFUnavailableEntityException"
                | "ManagedLoginBrandingExistsException"
        )
}

/// The error code of an SDK error, for "not found" checks.
pub fn code_of<E: aws_sdk_lambda::error::ProvideErrorMetadata, R>(
    err: &aws_sdk_lambda::error::SdkError<E, R>,
) -> Option<&str> {
    use aws_sdk_lambda::error::ProvideErrorMetadata;
    err.code()
}

/// A slot for one code upload (see [`Clients::uploads`]).
pub async fn upload_slot(c: &Clients) -> Result<tokio::sync::SemaphorePermit<'_>, AwsError> {
    c.uploads
        .acquire()
        .await
        .map_err(|_| AwsError::Unexpected("the upload limiter was closed".into()))
}

/// Polls `check` until it yields `Some`, every `every` for at most `attempts` times.
pub async fn wait_for<T, F, Fut>(
    what: &'static str,
    attempts: u32,
    every: std::time::Duration,
    mut check: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, AwsError>>,
{
    for _ in 0..attempts {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        tokio::time::sleep(every).await;
    }
    Err(AwsError::Call {
        operation: what,
        code: "Timeout".into(),
        message: format!("{what} did not settle in time"),
        transient: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger_code::CodeError;

    #[test]
    fn an_unreadable_trigger_package_is_retried_under_its_own_label() {
        let e = crate::reconcile_error::Error::Aws(AwsError::TriggerCode(CodeError::Changed(
            "bootstrap.zip".into(),
        )));
        assert!(e.is_transient());
        assert_eq!(e.metric_label(), "trigger_code");
        assert!(e.to_string().contains("changed since the operator started"));
    }

    #[test]
    fn retrying_later_is_tried_only_where_it_may_cure() {
        for code in [
            "ThrottlingException",
            "Throttling",
            "TooManyRequestsException",
            "InternalErrorException",
            "ServiceException",
            "ResourceConflictException",
            "ResourceExistsException",
            "EntityAlreadyExists",
            "WAFDuplicateItemException",
        ] {
            assert!(transient_code(code), "{code}");
        }
        for code in [
            "InvalidParameterException",
            "AccessDeniedException",
            "LimitExceededException",
            "MalformedPolicyDocument",
            "Unknown",
        ] {
            assert!(!transient_code(code), "{code}");
        }
    }

    #[test]
    fn a_failed_attempt_is_classed_by_its_answer() {
        let cases = [
            (None, None, Some("transport")),
            (Some(200), None, None),
            (Some(429), None, Some("throttled")),
            (Some(400), Some("ThrottlingException"), Some("throttled")),
            (
                Some(400),
                Some("TooManyRequestsException:http://x"),
                Some("throttled"),
            ),
            (Some(400), Some("ResourceNotFoundException"), Some("client")),
            (Some(404), None, Some("client")),
            (Some(503), None, Some("server")),
        ];
        for (status, error_type, kind) in cases {
            assert_eq!(
                failure_kind(status, error_type),
                kind,
                "{status:?} {error_type:?}"
            );
        }
    }

    #[test]
    fn a_query_protocol_error_is_named_by_its_xml_code() {
        let iam = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
            <Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert_eq!(xml_error_code(iam), Some("Throttling"));
        assert_eq!(
            failure_kind(Some(400), xml_error_code(iam)),
            Some("throttled")
        );
        assert_eq!(xml_error_code(b"{\"message\":\"x\"}"), None);
        assert_eq!(xml_error_code(b"<Code>unclosed"), None);
        assert_eq!(xml_error_code(&[0xff, 0xfe]), None);
    }

    #[test]
    fn an_error_that_quotes_the_environment_is_cut_before_the_keys() {
        let lambda = "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {\"PWP_SIGNING_KEYS\":\"k1:c2VjcmV0\"}".to_owned();
        let shown = withhold_echoed_request(lambda);
        assert!(
            !shown.contains("c2VjcmV0")
                && shown.ends_with("(rest withheld: it quotes the request)"),
            "{shown}"
        );
        let plain = "Role not found".to_owned();
        assert_eq!(withhold_echoed_request(plain.clone()), plain);
    }
}

//! How many times each AWS operation was called and attempted, how failed attempts failed, and
//! how long the calls took: an SDK interceptor every client carries, read by the metrics and the
//! benches.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_lambda::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_lambda::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use super::error::is_throttling;

/// `(service, operation) -> count`.
pub type PerOperation = BTreeMap<(String, String), u64>;
/// `(service, operation, kind) -> count`.
pub type PerFailure = BTreeMap<(String, String, &'static str), u64>;
/// `(service, operation) -> time spent`.
pub type PerOperationTime = BTreeMap<(String, String), Duration>;

/// When the call in this config bag started (before serialization, so retries and their
/// backoff count, the pacer's wait does not: it comes before the call).
#[derive(Debug, Clone, Copy)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// How many times each AWS operation was called, attempted (the SDK retries a throttled, failed
/// or dropped attempt), and how its failed attempts failed.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<PerOperation>>,
    attempts: Arc<Mutex<PerOperation>>,
    failures: Arc<Mutex<PerFailure>>,
    took: Arc<Mutex<PerOperationTime>>,
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

    /// Time spent in calls, from first attempt to answer (retries and their backoff included).
    pub fn took(&self) -> PerOperationTime {
        self.took.lock().map(|c| c.clone()).unwrap_or_default()
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
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    // Once per call, whether it succeeded or not.
    fn read_after_execution(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(Started(at)), Some(meta)) = (cfg.load::<Started>(), cfg.load::<Metadata>()) {
            if let Ok(mut took) = self.took.lock() {
                let key = (meta.service().to_owned(), meta.name().to_owned());
                *took.entry(key).or_default() += at.elapsed();
            }
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

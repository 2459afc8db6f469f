//! What a failed AWS call becomes: an [`AwsError`] with the service's code, classified as
//! transient or not, its message cut before anything it quotes back; and the one helper per
//! call that sends, paces where the service has quotas, and maps the error with the operation
//! named once.

use std::future::Future;

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

use super::Clients;

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

/// Converts any SDK error, keeping the code and message and classifying it.
/// Some AWS errors quote the request back (Lambda's environment-size refusal prints every
/// variable; a secret's value could be quoted too): such a message is cut before the quote, so
/// it can be logged, put in a status or an event.
pub(super) fn withhold_echoed_request(message: String) -> String {
    let cut = ["String measured", "SecretString"]
        .iter()
        .filter_map(|marker| message.find(marker))
        .min();
    match cut {
        Some(at) => format!("{}(rest withheld: it quotes the request)", &message[..at]),
        None => message,
    }
}

pub fn call_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
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
pub(super) fn transient_code(code: &str) -> bool {
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
pub fn code_of<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.code()
}

/// Whether an error type or code says the caller was throttled (`ThrottlingException`,
/// `Throttling`, `TooManyRequestsException`, with or without a `:namespace` suffix).
pub(super) fn is_throttling(code: &str) -> bool {
    code.contains("Throttl") || code.contains("TooManyRequests")
}

/// "No such resource", as Cognito, Lambda, DynamoDB and Secrets Manager say it.
pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";

/// An SDK call's `send()` for a service without quotas to pace: `.sent("iam:GetRole")` maps its
/// error with the operation written once (Cognito's and Lambda's calls use [`Paced`]).
pub trait Sent<T, E, R>: Future<Output = Result<T, SdkError<E, R>>> + Sized {
    fn sent(self, operation: &'static str) -> impl Future<Output = Result<T, AwsError>> + Send
    where
        Self: Send,
        T: Send,
        E: ProvideErrorMetadata + std::error::Error + Send + 'static,
        R: std::fmt::Debug + Send,
    {
        async move { self.await.map_err(|e| call_error(operation, e)) }
    }
}

impl<F, T, E, R> Sent<T, E, R> for F where F: Future<Output = Result<T, SdkError<E, R>>> {}

/// An SDK call's `send()`, as one helper: `.paced(c, "cognito-idp:DescribeUserPool")` waits
/// for the call's quota category (see [`super::pace::category`]), sends it, and maps its error
/// with the operation written once.
pub trait Paced<T, E, R>: Future<Output = Result<T, SdkError<E, R>>> + Sized {
    fn paced(
        self,
        c: &Clients,
        operation: &'static str,
    ) -> impl Future<Output = Result<T, AwsError>> + Send
    where
        Self: Send,
        T: Send,
        E: ProvideErrorMetadata + std::error::Error + Send + 'static,
        R: std::fmt::Debug + Send,
    {
        async move {
            c.pace().await.wait(operation).await;
            self.await.map_err(|e| call_error(operation, e))
        }
    }
}

impl<F, T, E, R> Paced<T, E, R> for F where F: Future<Output = Result<T, SdkError<E, R>>> {}

/// A call's answer with one error code read as "not there": `None`.
pub trait Found<T> {
    fn found(self, not_there: &str) -> Result<Option<T>, AwsError>;
}

impl<T> Found<T> for Result<T, AwsError> {
    fn found(self, not_there: &str) -> Result<Option<T>, AwsError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(AwsError::Call { code, .. }) if code == not_there => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A request the SDK could not build (a required field missing): our bug, not AWS's.
pub fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, AwsError> {
    r.map_err(|e| AwsError::Unexpected(e.to_string()))
}

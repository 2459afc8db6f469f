//! The AWS edge: one client per service, built once from the standard AWS configuration
//! (`AWS_ENDPOINT_URL`, profiles, container credentials, IRSA), each with the SDK's standard
//! retry mode (bounded attempts, jittered exponential backoff, throttling-aware) and a counter of
//! the calls made, split into reads and writes.

pub mod cognito;
mod counter;
mod error;
pub mod iam;
pub mod lambda;
pub mod pace;
mod patience;
pub mod pool_index;
pub mod sandbox;
pub mod secrets;
pub mod ses;
pub mod table;
pub mod waf;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use counter::{
    CallCounter, PerFailure, PerOperation, failure_kind, is_mutating, xml_error_code,
};
pub use error::{AwsError, Found, Paced, RESOURCE_NOT_FOUND, Sent, built, call_error, code_of};
pub use patience::{Patience, wait_for};

use crate::partition::Partition;
use crate::tenancy::Account;

/// A resource's tags, as read back.
pub type Tags = BTreeMap<String, String>;

/// The account the pacing metrics name while STS has not said whose the credentials are.
const UNRESOLVED: &str = "unresolved";

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
    /// Every account's pacers for Cognito's and Lambda's quotas (see [`Clients::pace`]).
    pacers: Arc<pace::Pacers>,
    /// This set's pacer, found on its first paced call.
    pace: Arc<tokio::sync::OnceCell<Arc<pace::Pace>>>,
    /// The pacer used while STS cannot say whose the credentials are.
    unresolved: Arc<pace::Pace>,
    /// The account a mapped role lives in (its ARN says); the operator's own is asked of STS.
    role_account: Option<String>,
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
        Self::counted(
            region_override,
            account,
            CallCounter::default(),
            Arc::default(),
        )
        .await
    }

    /// As [`Self::for_account`], counting calls in `calls` and pacing Cognito and Lambda through `pacers`
    /// (one counter and one set of pacers serve many client sets, so a cache that drops and
    /// rebuilds sets does not grow the metrics, and namespaces mapped to one account share its
    /// quotas).
    pub async fn counted(
        region_override: Option<&str>,
        account: &Account,
        calls: CallCounter,
        pacers: Arc<pace::Pacers>,
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
            unresolved: pacers.get(UNRESOLVED, &region),
            pacers,
            pace: Arc::default(),
            role_account: match account {
                Account::Operator => None,
                Account::Assumed { role, .. } => role.account_id().map(str::to_owned),
            },
            pool_names: Arc::default(),
            uploads: Arc::new(tokio::sync::Semaphore::new(MAX_UPLOADS)),
            region,
            caller: Arc::default(),
            sandboxes: Arc::default(),
        })
    }

    /// The pacer of this set's account and region. The operator's own account is asked of
    /// STS once; until STS answers, calls are paced apart from their account's rather than not
    /// at all.
    pub async fn pace(&self) -> Arc<pace::Pace> {
        let found = self
            .pace
            .get_or_try_init(|| async {
                let account = match &self.role_account {
                    Some(account) => account.clone(),
                    None => self.caller().await?.account,
                };
                Ok::<_, AwsError>(self.pacers.get(&account, &self.region))
            })
            .await;
        match found {
            Ok(pace) => pace.clone(),
            Err(_) => self.unresolved.clone(),
        }
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

/// A slot for one code upload (see [`Clients::uploads`]).
pub async fn upload_slot(c: &Clients) -> Result<tokio::sync::SemaphorePermit<'_>, AwsError> {
    c.uploads
        .acquire()
        .await
        .map_err(|_| AwsError::Unexpected("the upload limiter was closed".into()))
}

#[cfg(test)]
mod tests {
    use super::error::{transient_code, withhold_echoed_request};
    use super::*;
    use crate::trigger_code::CodeError;

    #[test]
    fn an_unreadable_trigger_package_is_retried_under_its_own_label() {
        let e = crate::reconcile_error::Error::Aws(AwsError::TriggerCode(CodeError::Changed(
            "bootstrap.zip".into(),
        )));
        assert_eq!(e.disposition(), crate::reconcile_error::Disposition::Retry);
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

//! The AWS implementations: SES v2, SNS, DynamoDB, Cognito, Secrets Manager. The AWS
//! configuration and each client are built by the first invocation that needs them ([`Lazy`]):
//! the cold start, and every invocation that calls no AWS API (Define, PreSignUp, most Verify
//! answers), pays for none of it.
//!
//! The state table's items (partition key `pk`, TTL attribute `expiresAt`, both from the
//! contract; `<hash>` is [`crate::token::user_hash`] or, for nonces, a SHA-256):
//! - `send#<hash>`: `lastSentAt` (N), the send cooldown;
//! - `fail#<hash>`: `failures` (N), `lastFailureAt` (N), the wrong answers across sessions,
//!   only ever replaced over the exact record read (a conditional write), so racing answers
//!   are settled one after another;
//! - `nonce#<hash>`: a spent link.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use passwordless_contract::table::{PARTITION_KEY, TTL_ATTRIBUTE};
use passwordless_contract::{TRIGGER_ATTEMPT_TIMEOUT_MS, TRIGGER_CALL_TIMEOUT_MS};

use super::{
    DeliveryError, Directory, Failures, Mailer, PreviousSend, RETRY_WINDOW_SECONDS, SecretSource,
    SendPermit, SendRecord, SmsSender, StateStore, Verified, judge_send,
};
use crate::template::Email;

/// The AWS configuration from the environment, loaded once, on first use.
#[derive(Clone, Default)]
pub struct Sdk(Arc<OnceCell<SdkConfig>>);

impl Sdk {
    /// A configuration loaded already (tests point it at an emulator).
    pub fn loaded(config: SdkConfig) -> Self {
        Self(Arc::new(OnceCell::new_with(Some(config))))
    }

    /// Every call within Cognito's 5-second budget (see [`TRIGGER_CALL_TIMEOUT_MS`]): a slow
    /// SES or DynamoDB answer ends the call, not the invocation's chance to answer.
    async fn config(&self) -> &SdkConfig {
        self.0
            .get_or_init(|| async {
                let timeouts = TimeoutConfig::builder()
                    .operation_timeout(Duration::from_millis(TRIGGER_CALL_TIMEOUT_MS))
                    .operation_attempt_timeout(Duration::from_millis(TRIGGER_ATTEMPT_TIMEOUT_MS))
                    .build();
                aws_config::from_env().timeout_config(timeouts).load().await
            })
            .await
    }
}

/// A client built from [`Sdk`] by the first call that needs it.
pub struct Lazy<C> {
    sdk: Sdk,
    build: fn(&SdkConfig) -> C,
    client: OnceCell<C>,
}

impl<C> Lazy<C> {
    pub fn new(sdk: &Sdk, build: fn(&SdkConfig) -> C) -> Self {
        Self {
            sdk: sdk.clone(),
            build,
            client: OnceCell::new(),
        }
    }

    async fn get(&self) -> &C {
        self.client
            .get_or_init(|| async { (self.build)(self.sdk.config().await) })
            .await
    }
}

/// The SDK error's kind (e.g. `ThrottlingException`), without request data.
fn kind<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("unknown error").to_owned()
}

pub struct SesMailer {
    pub client: Lazy<aws_sdk_sesv2::Client>,
    /// A `From:` value, as [`crate::template::from_header`] builds it.
    pub from: String,
    pub reply_to: Option<String>,
}

fn utf8(text: &str) -> Result<Content, DeliveryError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| DeliveryError::Email(e.to_string()))
}

impl Mailer for SesMailer {
    async fn send_email(&self, to: &str, email: &Email) -> Result<(), DeliveryError> {
        let body = Body::builder()
            .html(utf8(&email.html)?)
            .text(utf8(&email.text)?)
            .build();
        let message = Message::builder()
            .subject(utf8(&email.subject)?)
            .body(body)
            .build();
        self.client
            .get()
            .await
            .send_email()
            .from_email_address(&self.from)
            .set_reply_to_addresses(self.reply_to.clone().map(|r| vec![r]))
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| DeliveryError::Email(kind(&e)))?;
        Ok(())
    }
}

pub struct SnsSender {
    pub client: Lazy<aws_sdk_sns::Client>,
}

impl SmsSender for SnsSender {
    async fn send_sms(&self, phone: &str, text: &str) -> Result<(), DeliveryError> {
        self.client
            .get()
            .await
            .publish()
            .phone_number(phone)
            .message(text)
            .send()
            .await
            .map_err(|e| DeliveryError::Sms(kind(&e)))?;
        Ok(())
    }
}

/// The per-pool table: partition key `pk` (string), TTL attribute `expiresAt`.
pub struct DynamoStore {
    pub client: Lazy<aws_sdk_dynamodb::Client>,
    pub table: String,
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A state-table item's key: `<kind>#<hash>` (see the module's list).
fn key(kind: &str, hash: &str) -> AttributeValue {
    AttributeValue::S(format!("{kind}#{hash}"))
}

impl DynamoStore {
    /// A write of the item `key` in this store's table.
    async fn put(&self, key: AttributeValue) -> PutItemFluentBuilder {
        let client = self.client.get().await;
        client
            .put_item()
            .table_name(&self.table)
            .item(PARTITION_KEY, key)
    }
}

impl StateStore for DynamoStore {
    async fn permit_send(
        &self,
        user_hash: &str,
        now: u64,
        min_interval: u64,
        record: &SendRecord<'_>,
    ) -> Result<SendPermit, DeliveryError> {
        let result = self
            .put(key("send", user_hash))
            .await
            .item("lastSentAt", n(now))
            .item("request", AttributeValue::S(record.request.to_owned()))
            .item("round", AttributeValue::S(record.round.to_owned()))
            .item(
                TTL_ATTRIBUTE,
                n(now + min_interval.max(RETRY_WINDOW_SECONDS)),
            )
            // `judge_send`'s rule. TTL deletion is lazy (hours), so the condition reads the
            // timestamp itself.
            .condition_expression(
                "attribute_not_exists(pk) OR #round = :round OR (lastSentAt <= :cutoff AND \
                 (attribute_not_exists(#request) OR #request <> :request OR \
                  lastSentAt <= :retried OR attribute_exists(answered)))",
            )
            .expression_attribute_names("#request", "request")
            .expression_attribute_names("#round", "round")
            .expression_attribute_values(":round", AttributeValue::S(record.round.to_owned()))
            .expression_attribute_values(":cutoff", n(now.saturating_sub(min_interval)))
            .expression_attribute_values(":request", AttributeValue::S(record.request.to_owned()))
            .expression_attribute_values(":retried", n(now.saturating_sub(RETRY_WINDOW_SECONDS)))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(SendPermit::Granted),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    let item = failed.item();
                    let text = |name: &str| item?.get(name)?.as_s().ok().map(String::as_str);
                    let previous = PreviousSend {
                        answered: item.is_some_and(|i| i.contains_key("answered")),
                        last_at: item
                            .and_then(|i| i.get("lastSentAt")?.as_n().ok()?.parse().ok())
                            .unwrap_or(now),
                        request: text("request"),
                        round: text("round"),
                    };
                    Ok(judge_send(Some(&previous), now, min_interval, record))
                }
                other => Err(DeliveryError::Store("PutItem", kind(&other))),
            },
        }
    }

    async fn mark_answered(&self, user_hash: &str, request: &str) -> Result<(), DeliveryError> {
        let result = self
            .client
            .get()
            .await
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, key("send", user_hash))
            .update_expression("SET answered = :yes")
            // Only the record this invocation wrote: a later send's is not answered by it.
            .condition_expression("#request = :request")
            .expression_attribute_names("#request", "request")
            .expression_attribute_values(":request", AttributeValue::S(request.to_owned()))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(DeliveryError::Store("UpdateItem", kind(&other))),
            },
        }
    }

    async fn consume_nonce(
        &self,
        nonce_hash: &str,
        expires_at: u64,
    ) -> Result<bool, DeliveryError> {
        let result = self
            .put(key("nonce", nonce_hash))
            .await
            .item(TTL_ATTRIBUTE, n(expires_at))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(DeliveryError::Store("PutItem", kind(&other))),
            },
        }
    }

    async fn failures(&self, user_hash: &str) -> Result<Failures, DeliveryError> {
        let item = self
            .client
            .get()
            .await
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, key("fail", user_hash))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| DeliveryError::Store("GetItem", kind(&e)))?;
        Ok(item.item().map(failures_of).unwrap_or_default())
    }

    async fn replace_failures(
        &self,
        user_hash: &str,
        seen: Failures,
        next: Option<Failures>,
        forget_after: u64,
    ) -> Result<bool, DeliveryError> {
        let pk = key("fail", user_hash);
        // The whole record is its version: written only over exactly what was read.
        let (condition, values) = if seen.count == 0 {
            ("attribute_not_exists(pk)", None)
        } else {
            let values = HashMap::from([
                (":seen".to_owned(), n(u64::from(seen.count))),
                (":seenAt".to_owned(), n(seen.last_at)),
            ]);
            ("failures = :seen AND lastFailureAt = :seenAt", Some(values))
        };
        match next {
            Some(next) => {
                let put = self
                    .put(pk)
                    .await
                    .item("failures", n(u64::from(next.count)))
                    .item("lastFailureAt", n(next.last_at))
                    .item(TTL_ATTRIBUTE, n(next.last_at.saturating_add(forget_after)))
                    .condition_expression(condition)
                    .set_expression_attribute_values(values)
                    .send()
                    .await;
                match put.map_err(|e| e.into_service_error()) {
                    Ok(_) => Ok(true),
                    Err(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                    Err(other) => Err(DeliveryError::Store("PutItem", kind(&other))),
                }
            }
            None => {
                let client = self.client.get().await;
                let delete = client
                    .delete_item()
                    .table_name(&self.table)
                    .key(PARTITION_KEY, pk)
                    .condition_expression(condition)
                    .set_expression_attribute_values(values)
                    .send()
                    .await;
                match delete.map_err(|e| e.into_service_error()) {
                    Ok(_) => Ok(true),
                    Err(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(false),
                    Err(other) => Err(DeliveryError::Store("DeleteItem", kind(&other))),
                }
            }
        }
    }
}

/// A failure record's fields; missing or malformed ones read as zero.
fn failures_of(item: &HashMap<String, AttributeValue>) -> Failures {
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Failures {
        count: u32::try_from(number("failures")).unwrap_or(u32::MAX),
        last_at: number("lastFailureAt"),
    }
}

pub struct CognitoDirectory {
    pub client: Lazy<aws_sdk_cognitoidentityprovider::Client>,
}

impl Directory for CognitoDirectory {
    async fn mark_verified(
        &self,
        pool_id: &str,
        username: &str,
        attribute: Verified,
    ) -> Result<(), DeliveryError> {
        let verified = aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
            .name(attribute.flag())
            .value("true")
            .build()
            .map_err(|e| DeliveryError::Directory("AdminUpdateUserAttributes", e.to_string()))?;
        self.client
            .get()
            .await
            .admin_update_user_attributes()
            .user_pool_id(pool_id)
            .username(username)
            .user_attributes(verified)
            .send()
            .await
            .map_err(|e| DeliveryError::Directory("AdminUpdateUserAttributes", kind(&e)))?;
        Ok(())
    }
}

/// The signing keys' secret.
pub struct SecretsManagerKeys {
    client: Lazy<aws_sdk_secretsmanager::Client>,
    secret_id: String,
}

impl SecretsManagerKeys {
    pub fn new(sdk: &Sdk, secret_id: String) -> Self {
        Self {
            client: Lazy::new(sdk, aws_sdk_secretsmanager::Client::new),
            secret_id,
        }
    }
}

impl SecretSource for SecretsManagerKeys {
    async fn secret_string(&self) -> Result<String, DeliveryError> {
        let out = self
            .client
            .get()
            .await
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            // The code alone: an SDK error's display could quote the response.
            .map_err(|e| DeliveryError::Secret(kind(&e)))?;
        out.secret_string()
            .map(str::to_owned)
            .ok_or_else(|| DeliveryError::Secret("the secret has no SecretString".to_owned()))
    }
}

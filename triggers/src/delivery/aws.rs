//! The AWS implementations: SES v2, SNS, DynamoDB, Cognito. Clients are built once at start-up.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use passwordless_contract::table::{PARTITION_KEY, TTL_ATTRIBUTE};

use super::{DeliveryError, Directory, Mailer, SendPermit, SmsSender, StateStore};
use crate::template::Email;

/// The SDK error's kind (e.g. `ThrottlingException`), without request data.
fn kind<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("unknown error").to_owned()
}

pub struct SesMailer {
    pub client: aws_sdk_sesv2::Client,
    /// `Display Name <address>` or the bare address.
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
    pub client: aws_sdk_sns::Client,
}

impl SmsSender for SnsSender {
    async fn send_sms(&self, phone: &str, text: &str) -> Result<(), DeliveryError> {
        self.client
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
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl StateStore for DynamoStore {
    async fn permit_send(
        &self,
        user_hash: &str,
        now: u64,
        min_interval: u64,
    ) -> Result<SendPermit, DeliveryError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(
                PARTITION_KEY,
                AttributeValue::S(format!("send#{user_hash}")),
            )
            .item("lastSentAt", n(now))
            .item(TTL_ATTRIBUTE, n(now + min_interval))
            // TTL deletion is lazy (hours), so the condition reads the timestamp itself.
            .condition_expression("attribute_not_exists(pk) OR lastSentAt <= :cutoff")
            .expression_attribute_values(":cutoff", n(now.saturating_sub(min_interval)))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(SendPermit::Granted),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed) => {
                    let last = failed
                        .item()
                        .and_then(|item| item.get("lastSentAt"))
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(now);
                    Ok(SendPermit::CoolingDown { retry_after_seconds: (last + min_interval).saturating_sub(now).max(1) })
                }
                other => Err(DeliveryError::Store("PutItem", kind(&other))),
            },
        }
    }

    async fn consume_nonce(
        &self,
        nonce_hash: &str,
        expires_at: u64,
    ) -> Result<bool, DeliveryError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(
                PARTITION_KEY,
                AttributeValue::S(format!("nonce#{nonce_hash}")),
            )
            .item(TTL_ATTRIBUTE, n(expires_at))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(DeliveryError::Store("PutItem", kind(&other))),
            },
        }
    }
}

pub struct CognitoDirectory {
    pub client: aws_sdk_cognitoidentityprovider::Client,
}

impl Directory for CognitoDirectory {
    async fn mark_email_verified(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<(), DeliveryError> {
        let verified = aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
            .name("email_verified")
            .value("true")
            .build()
            .map_err(|e| DeliveryError::Directory("AdminUpdateUserAttributes", e.to_string()))?;
        self.client
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

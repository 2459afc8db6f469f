//! The trigger's side effects, behind small traits so every decision is tested without a
//! server: email (SES), SMS (SNS), the state store (DynamoDB), the user directory (Cognito),
//! the clock and randomness. The AWS implementations live beside this file.

use std::future::Future;

use crate::template::Email;

pub mod aws;
pub mod system;

/// Why a side effect failed. Messages carry the AWS error kind, never message content.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("SES SendEmail failed: {0}")]
    Email(String),
    #[error("SNS Publish failed: {0}")]
    Sms(String),
    #[error("DynamoDB {0} failed: {1}")]
    Store(&'static str, String),
    #[error("Cognito {0} failed: {1}")]
    Directory(&'static str, String),
}

pub trait Mailer {
    fn send_email(
        &self,
        to: &str,
        email: &Email,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

pub trait SmsSender {
    fn send_sms(
        &self,
        phone: &str,
        text: &str,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

/// Whether a send may go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendPermit {
    Granted,
    CoolingDown { retry_after_seconds: u64 },
}

/// Single use and cooldown state. Keys are hashes: the store never holds a username or token.
pub trait StateStore {
    /// Records a send to `user_hash` at `now` unless the previous one was less than
    /// `min_interval` seconds ago (one conditional write).
    fn permit_send(
        &self,
        user_hash: &str,
        now: u64,
        min_interval: u64,
    ) -> impl Future<Output = Result<SendPermit, DeliveryError>> + Send;
    /// Marks a link nonce used; true only for the first caller (one conditional write), so two
    /// concurrent redemptions of one link cannot both succeed.
    fn consume_nonce(
        &self,
        nonce_hash: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<bool, DeliveryError>> + Send;
}

/// The user pool, for PostAuthentication.
pub trait Directory {
    fn mark_email_verified(
        &self,
        pool_id: &str,
        username: &str,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

pub trait Clock {
    /// Unix seconds.
    fn now(&self) -> u64;
    fn sleep_ms(&self, ms: u64) -> impl Future<Output = ()> + Send;
}

/// A CSPRNG.
pub trait Entropy {
    fn fill(&self, buf: &mut [u8]);
}

/// Everything a flow may touch.
pub struct Ports<M, S, T, D, C, E> {
    pub mailer: M,
    pub sms: S,
    pub store: T,
    pub directory: D,
    pub clock: C,
    pub entropy: E,
}

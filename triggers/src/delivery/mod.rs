//! The trigger's side effects, behind small traits so every decision is tested without a
//! server: email (SES), SMS (SNS), the state store (DynamoDB), the user directory (Cognito),
//! the signing keys' secret (Secrets Manager), the clock and randomness. The AWS
//! implementations live beside this file.

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
    /// The AWS error code alone: never the secret's value.
    #[error("{0}")]
    Secret(String),
}

impl DeliveryError {
    /// A stable label for logs and counters: which side effect failed, never its content.
    /// The AWS error code (or kind) alone, e.g. `MessageRejected`.
    pub fn reason(&self) -> &str {
        match self {
            Self::Email(kind) | Self::Sms(kind) | Self::Secret(kind) => kind,
            Self::Store(_, kind) | Self::Directory(_, kind) => kind,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Sms(_) => "sms",
            Self::Store(..) => "store",
            Self::Directory(..) => "directory",
            Self::Secret(_) => "secret",
        }
    }
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendPermit {
    Granted,
    CoolingDown {
        retry_after_seconds: u64,
    },
    /// The same request was granted moments ago (Cognito retrying an invocation that outlived
    /// its 5 seconds): its round, so nothing is sent twice and no cooldown is answered for a
    /// message already on its way.
    Repeat {
        round: String,
    },
}

/// What a granted send records beside its time: the request's digest and the round it
/// answered, so a retry of the same request is answered alike.
pub struct SendRecord<'a> {
    pub request: &'a str,
    pub round: &'a str,
}

/// How long after a send a request with the same digest counts as Cognito's retry.
pub const RETRY_WINDOW_SECONDS: u64 = 30;

/// Whether an invocation `elapsed_ms` into its work, with one call still to make (the send,
/// and the marker beside it), surely answers within Cognito's budget. Only then may it mark
/// its send answered: Cognito retries a late one, and the retry must get the same round.
pub fn answers_in_time(elapsed_ms: u64) -> bool {
    use passwordless_contract::{
        TRIGGER_CALL_TIMEOUT_MS, TRIGGER_OVERHEAD_MS, TRIGGER_TIMEOUT_SECONDS,
    };
    let budget_ms = u64::from(TRIGGER_TIMEOUT_SECONDS.unsigned_abs()) * 1_000;
    elapsed_ms + TRIGGER_CALL_TIMEOUT_MS + TRIGGER_OVERHEAD_MS <= budget_ms
}

/// The send record already there for a user, as the conditional write found it.
pub struct PreviousSend<'a> {
    pub last_at: u64,
    pub request: Option<&'a str>,
    pub round: Option<&'a str>,
    /// The invocation that wrote it answered (see [`StateStore::mark_answered`]): the same
    /// request again is a new start, not Cognito's retry.
    pub answered: bool,
}

/// What the send record already there (if any) means for `record` at `now`: the rule every
/// store keeps (DynamoDB's condition expression states the same).
pub fn judge_send(
    previous: Option<&PreviousSend<'_>>,
    now: u64,
    min_interval: u64,
    record: &SendRecord<'_>,
) -> SendPermit {
    let Some(p) = previous else {
        return SendPermit::Granted;
    };
    // This very round (its code is random): the store's own retry of a write that went
    // through, its answer lost. Still this invocation's send to make.
    if p.round == Some(record.round) {
        return SendPermit::Granted;
    }
    let request = record.request;
    // Cognito retries only an invocation that did not answer in time: one that answered
    // recorded so, and the same request after it is a person starting again.
    let retried =
        !p.answered && p.request == Some(request) && p.last_at + RETRY_WINDOW_SECONDS > now;
    if retried {
        if let Some(round) = p.round {
            return SendPermit::Repeat {
                round: round.to_owned(),
            };
        }
    }
    if retried || p.last_at + min_interval > now {
        return SendPermit::CoolingDown {
            retry_after_seconds: (p.last_at + min_interval).saturating_sub(now).max(1),
        };
    }
    SendPermit::Granted
}

/// Single use and cooldown state. Keys are hashes: the store never holds a username or token.
pub trait StateStore {
    /// Records a send to `user_hash` at `now`, with `record`, unless the previous one was less
    /// than `min_interval` seconds ago, or was the same request less than
    /// [`RETRY_WINDOW_SECONDS`] ago (then its round: [`SendPermit::Repeat`]). One conditional
    /// write.
    fn permit_send(
        &self,
        user_hash: &str,
        now: u64,
        min_interval: u64,
        record: &SendRecord<'_>,
    ) -> impl Future<Output = Result<SendPermit, DeliveryError>> + Send;
    /// Records that the invocation that was granted `request` answers now: a later identical
    /// request is a new start (the cooldown answers it), not Cognito's retry.
    fn mark_answered(
        &self,
        user_hash: &str,
        request: &str,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;
    /// Marks a link nonce used; true only for the first caller (one conditional write), so two
    /// concurrent redemptions of one link cannot both succeed.
    fn consume_nonce(
        &self,
        nonce_hash: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<bool, DeliveryError>> + Send;
    /// The user's wrong answers so far (one consistent read); zero when there is no record.
    fn failures(
        &self,
        user_hash: &str,
    ) -> impl Future<Output = Result<Failures, DeliveryError>> + Send;
    /// Replaces the user's record with `next` (`None`: deletes it) only if it still holds
    /// `seen` (one conditional write; `seen` with a zero count means no record). False when it
    /// changed meanwhile: another answer was settled first, and the caller must look again. So
    /// a decision taken on `seen` (not locked: this guess may be checked) and its effect (the
    /// count) happen as one step, however many answers race. The record expires (TTL)
    /// `forget_after` seconds after its latest failure.
    fn replace_failures(
        &self,
        user_hash: &str,
        seen: Failures,
        next: Option<Failures>,
        forget_after: u64,
    ) -> impl Future<Output = Result<bool, DeliveryError>> + Send;
}

/// A user's wrong answers across sessions, as the state table keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    /// Unix seconds of the latest wrong answer.
    pub last_at: u64,
}

/// An attribute PostAuthentication marks verified: the channel a sign-in proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Email,
    Phone,
}

impl Verified {
    /// The Cognito attribute to set to `true`.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Email => "email_verified",
            Self::Phone => "phone_number_verified",
        }
    }

    /// The contact attribute whose proof it records.
    pub fn contact(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone_number",
        }
    }
}

/// The user pool, for PostAuthentication.
pub trait Directory {
    fn mark_verified(
        &self,
        pool_id: &str,
        username: &str,
        attribute: Verified,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

/// Where the signing keys are kept: the secret's string value, read on demand.
pub trait SecretSource {
    /// The secret's `SecretString`. Errors carry the AWS error code only.
    fn secret_string(&self) -> impl Future<Output = Result<String, DeliveryError>> + Send;
}

pub trait Clock {
    /// Unix seconds.
    fn now(&self) -> u64;
    /// Milliseconds on a monotonic clock, for measuring how long a send took.
    fn monotonic_ms(&self) -> u64;
    fn sleep_ms(&self, ms: u64) -> impl Future<Output = ()> + Send;
}

/// A CSPRNG.
pub trait Entropy {
    fn fill(&self, buf: &mut [u8]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The send permit's rule, case by case: the record already there (if any) against a new
    /// record for request "r" with round "mine", at t=1000 with a 60 s interval.
    #[test]
    fn the_send_permit_follows_the_record_already_there() {
        let prev = |at: u64, request: &'static str, round: &'static str, answered: bool| {
            Some(PreviousSend {
                last_at: at,
                request: Some(request),
                round: Some(round),
                answered,
            })
        };
        let cooling = |secs| SendPermit::CoolingDown {
            retry_after_seconds: secs,
        };
        let repeat = SendPermit::Repeat {
            round: "theirs".into(),
        };
        let cases = [
            (None, SendPermit::Granted, "nothing sent yet"),
            (
                prev(1000, "r", "mine", false),
                SendPermit::Granted,
                "our own write, seen by the store's retry",
            ),
            (
                prev(995, "r", "theirs", false),
                repeat,
                "Cognito's retry of an invocation that never answered",
            ),
            (
                prev(995, "r", "theirs", true),
                cooling(55),
                "the same request after an answer: a person again",
            ),
            (
                prev(995, "other", "theirs", false),
                cooling(55),
                "another request inside the interval",
            ),
            (
                prev(965, "r", "theirs", false),
                cooling(25),
                "past the retry window: not Cognito's",
            ),
            (
                prev(940, "r", "theirs", false),
                SendPermit::Granted,
                "the interval is over",
            ),
        ];
        for (previous, expected, why) in cases {
            let record = SendRecord {
                request: "r",
                round: "mine",
            };
            assert_eq!(
                judge_send(previous.as_ref(), 1000, 60, &record),
                expected,
                "{why}"
            );
        }
    }

    /// 5 s, less one call (1.2 s) and Lambda's overhead (0.5 s): 3.3 s into the work is the
    /// last moment to mark a send answered.
    #[test]
    fn an_invocation_answers_in_time_up_to_three_point_three_seconds_in() {
        assert!(answers_in_time(0));
        assert!(answers_in_time(3_300));
        assert!(!answers_in_time(3_301));
    }
}

//! The decisions of each trigger, over `aws_lambda_events`' Cognito types.
//!
//! The sign-in protocol (CUSTOM_AUTH):
//! - **Codes** (`emailOtp`, `smsOtp`): the first CreateAuthChallenge sends the code; the user
//!   answers it; a wrong answer gets another round with the same code until the attempt limit.
//! - **Magic link**: Cognito passes client metadata to the challenge triggers only from
//!   RespondToAuthChallenge, so the first round asks the client what it wants
//!   (`PROVIDE_AUTH_PARAMETERS`). The client answers with the link token if it has one (any
//!   device: scanner-safe, since the token sits in the URL fragment), or with any other answer
//!   and client metadata `action=request` (optionally `redirectUrl`) to have a link emailed.
//!   The email also carries a code, answered in the next round on the same device.
//!
//! Every strategy shares the per-user limits of [`limits`]: a send cooldown and a failure
//! lockout across sessions, both kept in the state table under keyed hashes.

pub mod create;
pub mod define;
pub mod limits;
pub mod signup;
pub mod verify;

#[cfg(test)]
mod properties;

use std::collections::HashMap;

use aws_lambda_events::event::cognito::CognitoEventUserPoolsChallengeResult;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Strategy};
use crate::keys::KeyError;
use crate::token::normalize_destination;

/// The only challenge our flows issue.
pub const CUSTOM_CHALLENGE: &str = "CUSTOM_CHALLENGE";
/// Client metadata keys (from RespondToAuthChallenge).
pub const META_ACTION: &str = "action";
pub const ACTION_REQUEST: &str = "request";
pub const ACTION_REDEEM: &str = "redeem";
pub const META_REDIRECT_URL: &str = "redirectUrl";
/// Cognito ends a CUSTOM_AUTH session after this many answered rounds, whatever we say.
pub const MAX_ROUNDS: usize = 3;

/// What a round asked for, carried in `challengeMetadata` (seen by later rounds' Define and
/// Create) and in the private challenge parameters (seen by that round's Verify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Round {
    /// Magic link, first round: the client says whether it holds a link or wants one.
    ProvideAuthParameters,
    /// A code was sent (alone, or beside a link): `mac` is its keyed digest, never the code;
    /// `dest` the keyed digest of the address it went to. `hardened`: sent during a lock, so
    /// [`passwordless_contract::HARDENED_OTP_LENGTH`] digits, accepted during the lock and
    /// never counted (absent in rounds from older builds: false).
    Code {
        kid: String,
        exp: u64,
        mac: String,
        link: bool,
        dest: String,
        #[serde(default)]
        hardened: bool,
    },
    /// The client claimed a link and it failed; it may try another (attempts permitting).
    LinkExpected,
    /// A send was refused inside the cooldown; the attempt ends.
    Cooldown { retry_after_seconds: u64 },
    /// Too many wrong answers across sessions: nothing is sent or accepted; the attempt ends.
    /// Only older builds sent it (a lock now hardens codes instead); kept so their sessions
    /// still end.
    LockedOut { retry_after_seconds: u64 },
}

impl Round {
    pub fn encode(&self) -> String {
        // Strings and numbers only: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether the attempt ends after this round, whatever is answered.
    pub fn ends_attempt(&self) -> bool {
        matches!(self, Self::Cooldown { .. } | Self::LockedOut { .. })
    }

    pub fn decode(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }

    /// The round a session entry recorded, if it is one of ours.
    pub fn of(entry: &CognitoEventUserPoolsChallengeResult) -> Option<Self> {
        entry.challenge_metadata.as_deref().and_then(Self::decode)
    }
}

/// The key under which the private challenge parameters carry the round.
pub const PRIVATE_ROUND: &str = "round";

/// Where the link or code goes: the strategy's contact attribute, else the username (which is
/// the email or phone number in pools this operator creates, and all an unknown user has).
pub fn destination(
    config: &Config,
    username: &str,
    attributes: &HashMap<String, String>,
) -> String {
    let attribute = if config.strategy == Strategy::SmsOtp {
        "phone_number"
    } else {
        "email"
    };
    attributes
        .get(attribute)
        .cloned()
        .unwrap_or_else(|| username.to_owned())
}

/// `a***@example.com`, `+*******4567`: enough for the user to recognise. The destination is
/// normalized first, so a known user's stored address and an unknown user's typed one mask
/// alike.
pub fn mask_destination(destination: &str) -> String {
    let destination = normalize_destination(destination);
    if let Some((local, domain)) = destination.split_once('@') {
        let first = local.chars().next().map(String::from).unwrap_or_default();
        format!("{first}***@{domain}")
    } else {
        let digits: Vec<char> = destination.chars().collect();
        let keep = digits.len().saturating_sub(4);
        digits
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < keep && c.is_ascii_digit() {
                    '*'
                } else {
                    *c
                }
            })
            .collect()
    }
}

/// A trigger event that cannot be handled.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("event has no {0}")]
    Missing(&'static str),
    #[error("redirect URL not in the pool's allow-list")]
    RedirectNotAllowed,
    #[error("sign-up is disabled for this pool")]
    SignUpDisabled,
    #[error(transparent)]
    Delivery(#[from] crate::delivery::DeliveryError),
    #[error("signing keys ({var}): {0}", var = passwordless_contract::env::SIGNING_KEYS_SECRET)]
    Keys(#[from] KeyError),
}

#[cfg(test)]
pub(crate) mod testing {
    //! In-memory ports for the flow tests: they record what would have been sent.

    use std::collections::HashMap;
    use std::sync::Mutex;

    use crate::delivery::{
        Clock, DeliveryError, Directory, Entropy, Failures, Mailer, PreviousSend, SecretSource,
        SendPermit, SendRecord, SmsSender, StateStore, Verified, judge_send,
    };
    use crate::keys::{KeyRing, KeySet, parse};
    use crate::latency::SendLatency;
    use crate::ports::Wired;
    use crate::template::Email;

    /// The secret's value in tests: k2 current, k1 still accepted.
    pub const KEYS_CURRENT: &str = "k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    /// After the next rotation: k3 current, k2 still accepted, k1 gone.
    pub const KEYS_ROTATED: &str = "k3:YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=,k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    pub fn keyset() -> KeySet {
        parse(KEYS_CURRENT).expect("test keys parse")
    }

    pub struct Outbox {
        pub emails: Mutex<Vec<(String, String, String)>>,
        pub sms: Mutex<Vec<(String, String)>>,
        /// Per user: the last send's time, request digest, round, and whether it was answered.
        pub last_send: Mutex<HashMap<String, (u64, String, String, bool)>>,
        pub nonces: Mutex<Vec<String>>,
        pub failures: Mutex<HashMap<String, Failures>>,
        pub verified: Mutex<Vec<(String, &'static str)>>,
        pub slept_ms: Mutex<u64>,
        /// What the secret holds: its string, or the AWS error code a read fails with.
        pub secret: Mutex<Result<String, String>>,
        pub secret_reads: Mutex<usize>,
        /// Every call to the key source and the state store, in order: what a timing observer
        /// could tell apart.
        pub calls: Mutex<Vec<&'static str>>,
        /// A send fails with this error kind, if set.
        pub send_error: Mutex<Option<String>>,
        /// How long each send takes on the fake monotonic clock.
        pub send_ms: Mutex<u64>,
        /// How long the send permit's write takes on it (0: at once).
        pub permit_ms: Mutex<u64>,
        pub monotonic_ms: Mutex<u64>,
    }

    impl Default for Outbox {
        fn default() -> Self {
            Self {
                emails: Mutex::default(),
                sms: Mutex::default(),
                last_send: Mutex::default(),
                nonces: Mutex::default(),
                failures: Mutex::default(),
                verified: Mutex::default(),
                slept_ms: Mutex::default(),
                secret: Mutex::new(Ok(KEYS_CURRENT.to_owned())),
                secret_reads: Mutex::default(),
                calls: Mutex::default(),
                send_error: Mutex::default(),
                send_ms: Mutex::new(100),
                permit_ms: Mutex::default(),
                monotonic_ms: Mutex::default(),
            }
        }
    }

    impl Outbox {
        pub fn set_secret(&self, value: Result<&str, &str>) {
            *self.secret.lock().unwrap() = value.map(str::to_owned).map_err(str::to_owned);
        }
        pub fn secret_reads(&self) -> usize {
            *self.secret_reads.lock().unwrap()
        }
        pub fn calls(&self) -> Vec<&'static str> {
            self.calls.lock().unwrap().clone()
        }
        fn call(&self, name: &'static str) {
            self.calls.lock().unwrap().push(name);
        }
        pub fn sent(&self) -> usize {
            self.emails.lock().unwrap().len() + self.sms.lock().unwrap().len()
        }
        fn send(&self) -> Result<(), String> {
            *self.monotonic_ms.lock().unwrap() += *self.send_ms.lock().unwrap();
            match self.send_error.lock().unwrap().clone() {
                Some(kind) => Err(kind),
                None => Ok(()),
            }
        }
    }

    pub struct Fake<'a> {
        pub outbox: &'a Outbox,
        pub now: u64,
        pub byte: u8,
    }

    impl Mailer for &Fake<'_> {
        async fn send_email(&self, to: &str, email: &Email) -> Result<(), DeliveryError> {
            self.outbox.send().map_err(DeliveryError::Email)?;
            self.outbox.emails.lock().unwrap().push((
                to.to_owned(),
                email.subject.clone(),
                email.text.clone(),
            ));
            Ok(())
        }
    }
    impl SmsSender for &Fake<'_> {
        async fn send_sms(&self, phone: &str, text: &str) -> Result<(), DeliveryError> {
            self.outbox.send().map_err(DeliveryError::Sms)?;
            self.outbox
                .sms
                .lock()
                .unwrap()
                .push((phone.to_owned(), text.to_owned()));
            Ok(())
        }
    }
    impl StateStore for &Fake<'_> {
        async fn permit_send(
            &self,
            user: &str,
            now: u64,
            min_interval: u64,
            record: &SendRecord<'_>,
        ) -> Result<SendPermit, DeliveryError> {
            self.outbox.call("store.permit_send");
            *self.outbox.monotonic_ms.lock().unwrap() += *self.outbox.permit_ms.lock().unwrap();
            let mut sends = self.outbox.last_send.lock().unwrap();
            let previous = sends
                .get(user)
                .map(|(at, request, round, answered)| PreviousSend {
                    last_at: *at,
                    request: Some(request.as_str()),
                    round: Some(round.as_str()),
                    answered: *answered,
                });
            let permit = judge_send(previous.as_ref(), now, min_interval, record);
            if matches!(permit, SendPermit::Granted) {
                let sent = (
                    now,
                    record.request.to_owned(),
                    record.round.to_owned(),
                    false,
                );
                sends.insert(user.to_owned(), sent);
            }
            Ok(permit)
        }
        async fn mark_answered(&self, user: &str, request: &str) -> Result<(), DeliveryError> {
            self.outbox.call("store.mark_answered");
            if let Some(sent) = self.outbox.last_send.lock().unwrap().get_mut(user) {
                if sent.1 == request {
                    sent.3 = true;
                }
            }
            Ok(())
        }
        async fn consume_nonce(
            &self,
            nonce: &str,
            _expires_at: u64,
        ) -> Result<bool, DeliveryError> {
            self.outbox.call("store.consume_nonce");
            let mut used = self.outbox.nonces.lock().unwrap();
            if used.iter().any(|n| n == nonce) {
                return Ok(false);
            }
            used.push(nonce.to_owned());
            Ok(true)
        }
        async fn failures(&self, user: &str) -> Result<Failures, DeliveryError> {
            self.outbox.call("store.failures");
            let read = self
                .outbox
                .failures
                .lock()
                .unwrap()
                .get(user)
                .copied()
                .unwrap_or_default();
            // The answer takes a round trip back, during which other invocations run: let them.
            tokio::task::yield_now().await;
            Ok(read)
        }
        async fn replace_failures(
            &self,
            user: &str,
            seen: Failures,
            next: Option<Failures>,
            _forget_after: u64,
        ) -> Result<bool, DeliveryError> {
            self.outbox.call("store.replace_failures");
            let mut all = self.outbox.failures.lock().unwrap();
            if all.get(user).copied().unwrap_or_default() != seen {
                return Ok(false);
            }
            match next {
                Some(next) => all.insert(user.to_owned(), next),
                None => all.remove(user),
            };
            Ok(true)
        }
    }
    impl Directory for &Fake<'_> {
        async fn mark_verified(
            &self,
            _pool: &str,
            username: &str,
            attribute: Verified,
        ) -> Result<(), DeliveryError> {
            self.outbox
                .verified
                .lock()
                .unwrap()
                .push((username.to_owned(), attribute.flag()));
            Ok(())
        }
    }
    impl SecretSource for &Fake<'_> {
        async fn secret_string(&self) -> Result<String, DeliveryError> {
            self.outbox.call("keys.GetSecretValue");
            *self.outbox.secret_reads.lock().unwrap() += 1;
            self.outbox
                .secret
                .lock()
                .unwrap()
                .clone()
                .map_err(DeliveryError::Secret)
        }
    }
    impl Clock for &Fake<'_> {
        fn now(&self) -> u64 {
            self.now
        }
        fn monotonic_ms(&self) -> u64 {
            *self.outbox.monotonic_ms.lock().unwrap()
        }
        async fn sleep_ms(&self, ms: u64) {
            *self.outbox.slept_ms.lock().unwrap() += ms;
        }
    }
    impl Entropy for &Fake<'_> {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.byte);
        }
    }

    pub type FakePorts<'a> = Wired<
        &'a Fake<'a>,
        &'a Fake<'a>,
        &'a Fake<'a>,
        &'a Fake<'a>,
        &'a Fake<'a>,
        &'a Fake<'a>,
        &'a Fake<'a>,
    >;

    pub fn ports<'a>(fake: &'a Fake<'a>) -> FakePorts<'a> {
        Wired {
            mailer: fake,
            sms: fake,
            store: fake,
            directory: fake,
            clock: fake,
            entropy: fake,
            keys: KeyRing::new(fake),
            send_latency: SendLatency::default(),
            outcomes: crate::outcomes::Outcomes::default(),
        }
    }

    /// Runs the futures concurrently on the current task, as one warm process interleaves
    /// invocations at each I/O wait, and returns their outputs in order.
    pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
        use std::task::Poll;
        let mut pending: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
        let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut waiting = false;
            for (slot, output) in pending.iter_mut().zip(outputs.iter_mut()) {
                if let Some(future) = slot {
                    match future.as_mut().poll(cx) {
                        Poll::Ready(value) => {
                            *output = Some(value);
                            *slot = None;
                        }
                        Poll::Pending => waiting = true,
                    }
                }
            }
            if waiting {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        outputs.into_iter().flatten().collect()
    }

    /// A Cognito event from a JSON fixture in `triggers/tests/fixtures/`.
    pub fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        // Read when the test runs (cargo sets it then too): a test binary reused from a checkout
        // at another path must not look in that checkout.
        let dir = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
        let path = format!("{dir}/tests/fixtures/{name}.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_masked_alike_for_email_and_phone_whatever_their_case() {
        let cases = [
            ("alice@example.com", "a***@example.com"),
            ("Alice@Example.COM", "a***@example.com"),
            (" alice@example.com ", "a***@example.com"),
            ("+15551234567", "+*******4567"),
            (" +15551234567", "+*******4567"),
            ("", ""),
            ("@", "***@"),
        ];
        for (destination, masked) in cases {
            assert_eq!(mask_destination(destination), masked, "{destination:?}");
        }
    }

    #[test]
    fn rounds_round_trip_through_metadata() {
        let r = Round::Code {
            kid: "k2".into(),
            exp: 5,
            mac: "m".into(),
            link: true,
            dest: "d".into(),
            hardened: true,
        };
        assert_eq!(Round::decode(&r.encode()), Some(r));
        assert_eq!(Round::decode("junk"), None);
        // A round an older build wrote (in a session open across the upgrade) is not hardened.
        let older = r#"{"kind":"code","kid":"k2","exp":5,"mac":"m","link":false,"dest":"d"}"#;
        assert!(matches!(
            Round::decode(older),
            Some(Round::Code {
                hardened: false,
                ..
            })
        ));
    }
}

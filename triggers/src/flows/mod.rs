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

pub mod create;
pub mod define;
pub mod signup;
pub mod verify;

use aws_lambda_events::event::cognito::CognitoEventUserPoolsChallengeResult;
use serde::{Deserialize, Serialize};

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
    /// A code was sent (alone, or beside a link): `mac` is its keyed digest, never the code.
    Code {
        kid: String,
        exp: u64,
        mac: String,
        link: bool,
    },
    /// The client claimed a link and it failed; it may try another (attempts permitting).
    LinkExpected,
    /// A send was refused inside the cooldown; the attempt ends.
    Cooldown { retry_after_seconds: u64 },
}

impl Round {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a round serializes")
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

/// `a***@example.com`, `+*******4567`: enough for the user to recognise, and the same shape for
/// an unknown user as for a known one.
pub fn mask_destination(destination: &str) -> String {
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
}

#[cfg(test)]
pub(crate) mod testing {
    //! In-memory ports for the flow tests: they record what would have been sent.

    use std::collections::HashMap;
    use std::sync::Mutex;

    use crate::delivery::{
        Clock, DeliveryError, Directory, Entropy, Mailer, Ports, SendPermit, SmsSender, StateStore,
    };
    use crate::template::Email;

    #[derive(Default)]
    pub struct Outbox {
        pub emails: Mutex<Vec<(String, String, String)>>,
        pub sms: Mutex<Vec<(String, String)>>,
        pub last_send: Mutex<HashMap<String, u64>>,
        pub nonces: Mutex<Vec<String>>,
        pub verified: Mutex<Vec<String>>,
        pub slept_ms: Mutex<u64>,
    }

    pub struct Fake<'a> {
        pub outbox: &'a Outbox,
        pub now: u64,
        pub byte: u8,
    }

    impl Mailer for &Fake<'_> {
        async fn send_email(&self, to: &str, email: &Email) -> Result<(), DeliveryError> {
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
        ) -> Result<SendPermit, DeliveryError> {
            let mut sends = self.outbox.last_send.lock().unwrap();
            match sends.get(user) {
                Some(last) if *last + min_interval > now => Ok(SendPermit::CoolingDown {
                    retry_after_seconds: last + min_interval - now,
                }),
                _ => {
                    sends.insert(user.to_owned(), now);
                    Ok(SendPermit::Granted)
                }
            }
        }
        async fn consume_nonce(
            &self,
            nonce: &str,
            _expires_at: u64,
        ) -> Result<bool, DeliveryError> {
            let mut used = self.outbox.nonces.lock().unwrap();
            if used.iter().any(|n| n == nonce) {
                return Ok(false);
            }
            used.push(nonce.to_owned());
            Ok(true)
        }
    }
    impl Directory for &Fake<'_> {
        async fn mark_email_verified(
            &self,
            _pool: &str,
            username: &str,
        ) -> Result<(), DeliveryError> {
            self.outbox
                .verified
                .lock()
                .unwrap()
                .push(username.to_owned());
            Ok(())
        }
    }
    impl Clock for &Fake<'_> {
        fn now(&self) -> u64 {
            self.now
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

    pub type FakePorts<'a> =
        Ports<&'a Fake<'a>, &'a Fake<'a>, &'a Fake<'a>, &'a Fake<'a>, &'a Fake<'a>, &'a Fake<'a>>;

    pub fn ports<'a>(fake: &'a Fake<'a>) -> FakePorts<'a> {
        Ports {
            mailer: fake,
            sms: fake,
            store: fake,
            directory: fake,
            clock: fake,
            entropy: fake,
        }
    }

    /// A Cognito event from a JSON fixture in `triggers/tests/fixtures/`.
    pub fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_masked_alike_for_email_and_phone() {
        assert_eq!(mask_destination("alice@example.com"), "a***@example.com");
        assert_eq!(mask_destination("+15551234567"), "+*******4567");
    }

    #[test]
    fn rounds_round_trip_through_metadata() {
        let r = Round::Code {
            kid: "k2".into(),
            exp: 5,
            mac: "m".into(),
            link: true,
        };
        assert_eq!(Round::decode(&r.encode()), Some(r));
        assert_eq!(Round::decode("junk"), None);
    }
}

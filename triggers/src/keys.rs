//! The signing keys: read from the Secrets Manager secret the operator names
//! (`PWP_SIGNING_KEYS_SECRET`), never from the environment, and only by the invocations that
//! need a key. The process keeps them; a key id it does not know (a rotation) reads them again,
//! at most once per [`RELOAD_MIN_SECONDS`], so made-up key ids cannot turn every anonymous
//! request into a GetSecretValue call.

use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use passwordless_contract::signing_keys::{ID_SEPARATOR, KEY_SEPARATOR, MAX_AGE_SECONDS};

use crate::delivery::{Clock, DeliveryError, SecretSource};

/// The smallest key accepted: 256 bits, HMAC-SHA256's own strength.
pub const MIN_KEY_BYTES: usize = 32;
/// The shortest time between two reads caused by an unknown key id. Short, because right after
/// a rotation a fresh process signs with the new key while a warm one still holds the old set:
/// its first sight of the new id reads the keys again unless it read them under this long ago.
/// Made-up ids can still cost at most one GetSecretValue per this interval per process.
pub const RELOAD_MIN_SECONDS: u64 = 5;

/// An HMAC-SHA256 key and its id. `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningKey {
    pub id: String,
    pub secret: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}, <{} bytes redacted>)",
            self.id,
            self.secret.len()
        )
    }
}

/// The keys of one read of the secret: the current key first, then older keys still accepted.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    /// The key that signs new links and codes, and keys the state table's hashes.
    pub fn current(&self) -> &SigningKey {
        // `parse` never builds an empty set.
        &self.keys[0]
    }

    /// The key with this id, if it is still accepted.
    pub fn get(&self, id: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

/// Why the keys could not be had. Never carries the secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// GetSecretValue failed: the AWS error code.
    #[error("{prefix}{0}", prefix = passwordless_contract::probe::KEYS_UNREADABLE)]
    Read(String),
    #[error("{0}")]
    Malformed(&'static str),
}

/// Parses the secret string: `kid:base64[,kid:base64]`, current first.
pub fn parse(raw: &str) -> Result<KeySet, KeyError> {
    let mut keys: Vec<SigningKey> = Vec::new();
    for entry in raw
        .split(KEY_SEPARATOR)
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let (id, secret) = entry
            .split_once(ID_SEPARATOR)
            .ok_or(KeyError::Malformed("expected kid:base64key entries"))?;
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(KeyError::Malformed(
                "a key id must be 1-64 letters, digits, '-' or '_'",
            ));
        }
        let secret = STANDARD
            .decode(secret.trim())
            .map_err(|_| KeyError::Malformed("a key is not valid base64"))?;
        if secret.len() < MIN_KEY_BYTES {
            return Err(KeyError::Malformed("a key is shorter than 256 bits"));
        }
        if keys.iter().any(|k| k.id == id) {
            return Err(KeyError::Malformed("two keys share an id"));
        }
        keys.push(SigningKey {
            id: id.to_owned(),
            secret,
        });
    }
    if keys.is_empty() {
        return Err(KeyError::Malformed("no key of 256 bits"));
    }
    Ok(KeySet { keys })
}

#[derive(Default)]
struct Cached {
    keys: Option<Arc<KeySet>>,
    /// When the secret was last read (successfully or not), Unix seconds.
    read_at: Option<u64>,
}

/// The process's copy of the keys, read on first use.
pub struct KeyRing<S> {
    source: S,
    cached: Mutex<Cached>,
}

impl<S: SecretSource> KeyRing<S> {
    pub fn new(source: S) -> Self {
        Self {
            source,
            cached: Mutex::new(Cached::default()),
        }
    }

    /// Reads the secret now, and keeps what it holds if it parses.
    pub async fn reload(&self, clock: &impl Clock) -> Result<Arc<KeySet>, KeyError> {
        let read = self.source.secret_string().await;
        let now = clock.now();
        let parsed = read
            .map_err(|e| match e {
                DeliveryError::Secret(code) => KeyError::Read(code),
                other => KeyError::Read(other.to_string()),
            })
            .and_then(|raw| parse(&raw))
            .map(Arc::new);
        if let Ok(mut cached) = self.cached.lock() {
            cached.read_at = Some(now);
            if let Ok(keys) = &parsed {
                cached.keys = Some(keys.clone());
            }
        }
        parsed
    }

    /// The keys, read from the secret on the first call. A failed read is not kept: the next
    /// invocation that needs a key tries again.
    /// The keys, read again once the cached copy is [`MAX_AGE_SECONDS`] old, so a warm
    /// process stops signing with a key the operator rotated away (the operator keeps a retired
    /// key in the secret at least that long after links signed with it expire). A failed
    /// re-read keeps the cached keys: a GetSecretValue hiccup must not stop sign-in.
    pub async fn keys(&self, clock: &impl Clock) -> Result<Arc<KeySet>, KeyError> {
        let now = clock.now();
        let (keys, read_at) = match self.cached.lock() {
            Ok(c) => (c.keys.clone(), c.read_at),
            Err(_) => (None, None),
        };
        match keys {
            Some(keys) if read_at.is_some_and(|at| now < at.saturating_add(MAX_AGE_SECONDS)) => {
                Ok(keys)
            }
            Some(keys) => Ok(self.reload(clock).await.unwrap_or(keys)),
            None => self.reload(clock).await,
        }
    }

    /// The key with this id. An id the process does not know reads the secret again (a rotation
    /// may have added it), unless the last read was under [`RELOAD_MIN_SECONDS`] ago.
    pub async fn key(&self, id: &str, clock: &impl Clock) -> Result<Option<SigningKey>, KeyError> {
        let keys = self.keys(clock).await?;
        if let Some(key) = keys.get(id) {
            return Ok(Some(key.clone()));
        }
        let now = clock.now();
        let recent = self
            .cached
            .lock()
            .ok()
            .and_then(|c| c.read_at)
            .is_some_and(|at| now < at.saturating_add(RELOAD_MIN_SECONDS));
        if recent {
            return Ok(None);
        }
        match self.reload(clock).await {
            Ok(keys) => Ok(keys.get(id).cloned()),
            // The keys we hold still stand; this id is just not among them.
            Err(e) => {
                tracing::warn!(error = %e, "re-reading the signing keys failed");
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::flows::testing::{Fake, KEYS_CURRENT, KEYS_ROTATED, Outbox, ports};

    #[test]
    fn the_secret_string_is_parsed_or_refused_by_reason_never_by_value() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            (KEYS_CURRENT, Ok(&["k2", "k1"])),
            (
                " k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= ,",
                Ok(&["k2"]),
            ),
            ("", Err("no key of 256 bits")),
            (" , ", Err("no key of 256 bits")),
            ("k1:c2hvcnQ=", Err("a key is shorter than 256 bits")),
            ("k1", Err("expected kid:base64key entries")),
            ("k1:!!!", Err("a key is not valid base64")),
            (
                ":MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                Err("a key id must be 1-64 letters, digits, '-' or '_'"),
            ),
            (
                "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                Err("two keys share an id"),
            ),
        ];
        for (raw, want) in cases {
            match (parse(raw), want) {
                (Ok(set), Ok(ids)) => {
                    let got: Vec<&str> = set.keys.iter().map(|k| k.id.as_str()).collect();
                    assert_eq!(&got, ids, "{raw:?}");
                }
                (Err(e), Err(reason)) => {
                    assert_eq!(e.to_string(), *reason, "{raw:?}");
                    assert!(!e.to_string().contains("c2hvcnQ"));
                }
                (got, want) => panic!("{raw:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_signing_key_debug_print_hides_the_secret() {
        let set = parse(KEYS_CURRENT).unwrap();
        assert_eq!(
            format!("{:?}", set.current()),
            "SigningKey(k2, <32 bytes redacted>)"
        );
    }

    #[tokio::test]
    async fn keys_are_read_once_and_again_only_for_an_unknown_id_once_a_minute() {
        let outbox = Outbox::default();
        let fake = Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        let later = Fake {
            now: 1000 + RELOAD_MIN_SECONDS,
            ..fake
        };
        let ring = ports(&fake).keys;
        assert_eq!(
            outbox.secret_reads(),
            0,
            "nothing is read before it is needed"
        );
        assert_eq!(ring.keys(&&fake).await.unwrap().current().id, "k2");
        assert!(ring.key("k1", &&fake).await.unwrap().is_some());
        assert_eq!(outbox.secret_reads(), 1);
        // Made-up ids: the secret was read under a minute ago, so no new read.
        for kid in ["x1", "x2", "x3"] {
            assert!(ring.key(kid, &&fake).await.unwrap().is_none());
        }
        assert_eq!(outbox.secret_reads(), 1);
        // A rotation: the new id is found by one new read, after the minute.
        outbox.set_secret(Ok(KEYS_ROTATED));
        assert!(ring.key("k3", &&later).await.unwrap().is_some());
        assert_eq!(ring.keys(&&later).await.unwrap().current().id, "k3");
        assert_eq!(outbox.secret_reads(), 2);
    }

    #[tokio::test]
    async fn a_failed_read_is_retried_by_the_next_invocation_and_keeps_no_value() {
        let outbox = Outbox::default();
        outbox.set_secret(Err("AccessDeniedException"));
        let fake = Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        let ring = ports(&fake).keys;
        assert_eq!(
            ring.keys(&&fake).await.unwrap_err(),
            KeyError::Read("AccessDeniedException".to_owned())
        );
        outbox.set_secret(Ok(KEYS_CURRENT));
        assert!(ring.keys(&&fake).await.is_ok());
        assert_eq!(outbox.secret_reads(), 2);
    }
}

//! Magic-link tokens: `<base64url(claims JSON)>.<base64url(HMAC-SHA256)>`.
//!
//! The MAC covers the whole encoded claims, key id included, under a domain-separation prefix,
//! so no field can be changed or swapped. The MAC is checked (in constant time) before any claim
//! is believed. Single use is not decided here: the caller records the nonce's hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Config, SigningKey};

/// Separates link MACs from every other use of the same key.
const LINK_DOMAIN: &[u8] = b"passwordless-operator/link/v1.";
/// No real token is longer; anything bigger is refused before decoding.
pub const MAX_TOKEN_LEN: usize = 2048;

/// What a link asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// Key id.
    pub kid: String,
    /// Username.
    pub sub: String,
    /// User pool id.
    pub pool: String,
    /// App client id.
    pub client: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
    /// 128 random bits, base64url: what makes the link single-use.
    pub nonce: String,
}

/// Why a link was refused. Never carries the token itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("malformed link")]
    Malformed,
    #[error("link signed with an unknown or retired key")]
    UnknownKey,
    #[error("link signature does not match")]
    BadSignature,
    #[error("link expired")]
    Expired,
    #[error("link issued for another user, pool or client")]
    WrongAudience,
}

fn mac(key: &SigningKey, domain: &[u8], data: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.secret)
        .expect("HMAC takes keys of any length");
    mac.update(domain);
    mac.update(data);
    mac
}

/// Signs claims with the key they name.
pub fn sign(key: &SigningKey, claims: &LinkClaims) -> String {
    debug_assert_eq!(key.id, claims.kid);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
    let tag = mac(key, LINK_DOMAIN, body.as_bytes())
        .finalize()
        .into_bytes();
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Whether a string is shaped like a link token (not whether it is valid).
pub fn looks_like_token(s: &str) -> bool {
    s.len() <= MAX_TOKEN_LEN && s.split('.').count() == 2 && s.len() > 40
}

/// The expected audience of a link: who is signing in, where.
pub struct Audience<'a> {
    pub username: &'a str,
    pub pool: &'a str,
    pub client: &'a str,
}

/// Checks a token: MAC first, then expiry and audience.
pub fn verify(
    config: &Config,
    token: &str,
    expected: &Audience<'_>,
    now: u64,
) -> Result<LinkClaims, LinkError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(LinkError::Malformed);
    }
    let (body, tag) = token.split_once('.').ok_or(LinkError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| LinkError::Malformed)?;
    let raw = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| LinkError::Malformed)?;
    // The key id is read before the MAC is checked only to pick the key; it is covered by the
    // MAC, so a forged id fails below like any other forged field.
    #[derive(Deserialize)]
    struct KeyId {
        kid: String,
    }
    let kid: KeyId = serde_json::from_slice(&raw).map_err(|_| LinkError::Malformed)?;
    let key = config.key(&kid.kid).ok_or(LinkError::UnknownKey)?;
    mac(key, LINK_DOMAIN, body.as_bytes())
        .verify_slice(&tag)
        .map_err(|_| LinkError::BadSignature)?;
    let claims: LinkClaims = serde_json::from_slice(&raw).map_err(|_| LinkError::Malformed)?;
    if now >= claims.exp {
        return Err(LinkError::Expired);
    }
    let audience_ok = constant_eq(claims.sub.as_bytes(), expected.username.as_bytes())
        & constant_eq(claims.pool.as_bytes(), expected.pool.as_bytes())
        & constant_eq(claims.client.as_bytes(), expected.client.as_bytes());
    if !audience_ok {
        return Err(LinkError::WrongAudience);
    }
    Ok(claims)
}

/// Constant-time equality of two byte strings (the length is not secret).
pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// A keyed digest of a one-time code, bound to the user, so the private challenge parameters
/// never hold the code itself.
pub fn code_mac(key: &SigningKey, username: &str, code: &str) -> String {
    let mut m = mac(key, b"passwordless-operator/code/v1.", username.as_bytes());
    m.update(b"\0");
    m.update(code.as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// Whether `answer` is the code whose [`code_mac`] is `expected` (constant time).
pub fn code_matches(key: &SigningKey, username: &str, answer: &str, expected: &str) -> bool {
    constant_eq(
        code_mac(key, username, answer.trim()).as_bytes(),
        expected.as_bytes(),
    )
}

/// SHA-256, hex: how the state store names users and nonces without holding either.
pub fn hash_hex(domain: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(domain.as_bytes())
        .chain_update(b"\0")
        .chain_update(value.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{KEY_PREVIOUS, config, config_from, env};
    use crate::config::vars;

    fn claims(kid: &str, exp: u64) -> LinkClaims {
        LinkClaims {
            kid: kid.to_owned(),
            sub: "alice@example.com".to_owned(),
            pool: "us-east-1_Pool".to_owned(),
            client: "client1".to_owned(),
            iat: 1000,
            exp,
            nonce: "bm9uY2Vub25jZW5vbmNl".to_owned(),
        }
    }

    const AUD: Audience<'static> = Audience {
        username: "alice@example.com",
        pool: "us-east-1_Pool",
        client: "client1",
    };

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let c = config("magicLink");
        let token = sign(c.current_key(), &claims("k2", 2000));
        assert!(looks_like_token(&token));
        assert_eq!(verify(&c, &token, &AUD, 1999).unwrap(), claims("k2", 2000));
        assert_eq!(verify(&c, &token, &AUD, 2000), Err(LinkError::Expired));
    }

    #[test]
    fn a_link_signed_with_the_previous_key_still_verifies_and_a_retired_one_does_not() {
        let c = config("magicLink");
        let old = sign(c.key("k1").unwrap(), &claims("k1", 2000));
        assert!(verify(&c, &old, &AUD, 1500).is_ok());
        // After the next rotation k1 is gone: its links stop working.
        let mut e = env("magicLink");
        e.insert(vars::SIGNING_KEYS, "k3:YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=,k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned());
        let rotated = config_from(&e).unwrap();
        assert_eq!(
            verify(&rotated, &old, &AUD, 1500),
            Err(LinkError::UnknownKey)
        );
        let _ = KEY_PREVIOUS;
    }

    #[test]
    fn any_tampering_breaks_the_signature() {
        let c = config("magicLink");
        let token = sign(c.current_key(), &claims("k2", 2000));
        let (body, tag) = token.split_once('.').unwrap();
        // A changed claim, signed by nobody.
        let mut forged = claims("k2", 2000);
        forged.sub = "mallory@example.com".to_owned();
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            verify(&c, &format!("{forged_body}.{tag}"), &AUD, 1500),
            Err(LinkError::BadSignature)
        );
        // A flipped bit in the MAC.
        let mut raw_tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
        raw_tag[0] ^= 1;
        let bad = format!("{body}.{}", URL_SAFE_NO_PAD.encode(raw_tag));
        assert_eq!(verify(&c, &bad, &AUD, 1500), Err(LinkError::BadSignature));
        // Claiming the other key's id does not help.
        let mut swapped = claims("k1", 2000);
        swapped.kid = "k1".to_owned();
        let swapped_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&swapped).unwrap());
        assert_eq!(
            verify(&c, &format!("{swapped_body}.{tag}"), &AUD, 1500),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn a_link_for_someone_else_is_refused() {
        let c = config("magicLink");
        let token = sign(c.current_key(), &claims("k2", 2000));
        let other = Audience {
            username: "bob@example.com",
            ..AUD
        };
        assert_eq!(
            verify(&c, &token, &other, 1500),
            Err(LinkError::WrongAudience)
        );
        let other_client = Audience {
            client: "client2",
            ..AUD
        };
        assert_eq!(
            verify(&c, &token, &other_client, 1500),
            Err(LinkError::WrongAudience)
        );
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let c = config("magicLink");
        for junk in [
            "",
            ".",
            "abc",
            "a.b",
            "!!!.???",
            &"x".repeat(MAX_TOKEN_LEN + 1),
            "e30.AAAA",
        ] {
            assert!(verify(&c, junk, &AUD, 1500).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn code_macs_bind_the_user_and_compare_exactly() {
        let c = config("emailOtp");
        let k = c.current_key();
        let m = code_mac(k, "alice", "123456");
        assert!(code_matches(k, "alice", " 123456 ", &m));
        assert!(!code_matches(k, "alice", "123457", &m));
        assert!(!code_matches(k, "bob", "123456", &m));
        assert!(!m.contains("123456"));
    }
}

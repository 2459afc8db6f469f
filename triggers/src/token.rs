//! Magic-link tokens: `<base64url(claims JSON)>.<base64url(HMAC-SHA256)>`.
//!
//! The MAC covers the whole encoded claims, key id included, under a domain-separation prefix,
//! so no field can be changed or swapped. The MAC is checked (in constant time) before any claim
//! is believed. Single use is not decided here: the caller records the nonce's hash.
//!
//! Also the other keyed digests: of codes, of destinations (what binds a proof to the address
//! it went to) and of users (the state table's keys).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys::SigningKey;

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
    /// [`destination_hash`] of the address the link was sent to.
    pub dest: String,
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

/// The token's two parts, decoded; nothing in them is believed yet.
fn split(token: &str) -> Result<(&str, Vec<u8>, Vec<u8>), LinkError> {
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
    Ok((body, raw, tag))
}

/// The id of the key a token claims to be signed with, read only to pick the key. It is covered
/// by the MAC, so a forged id fails [`verify`] like any other forged field.
pub fn key_id(token: &str) -> Result<String, LinkError> {
    #[derive(Deserialize)]
    struct KeyId {
        kid: String,
    }
    let (_, raw, _) = split(token)?;
    let kid: KeyId = serde_json::from_slice(&raw).map_err(|_| LinkError::Malformed)?;
    Ok(kid.kid)
}

/// Checks a token against the key its [`key_id`] named: MAC first, then expiry and audience.
pub fn verify(
    key: &SigningKey,
    token: &str,
    expected: &Audience<'_>,
    now: u64,
) -> Result<LinkClaims, LinkError> {
    let (body, raw, tag) = split(token)?;
    mac(key, LINK_DOMAIN, body.as_bytes())
        .verify_slice(&tag)
        .map_err(|_| LinkError::BadSignature)?;
    let claims: LinkClaims = serde_json::from_slice(&raw).map_err(|_| LinkError::Malformed)?;
    if claims.kid != key.id {
        return Err(LinkError::UnknownKey);
    }
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256, hex: how the state store names link nonces without holding them. A nonce is 128
/// random bits, so an unkeyed hash reveals nothing.
pub fn hash_hex(domain: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(domain.as_bytes())
        .chain_update(b"\0")
        .chain_update(value.as_bytes())
        .finalize();
    hex(&digest)
}

/// How the state table names a user: HMAC-SHA256 under the current signing key, hex. Without
/// the key, nobody holding the table can test whether an address is a user (an unkeyed hash of
/// a guessed address would match). The username is trimmed and lowercased, so case variants
/// share one cooldown and one failure count.
/// The keyed digest of one CreateAuthChallenge request's parts (pool, user, client, the
/// session so far, the client's metadata): what Cognito sends again, unchanged, when it
/// retries an invocation that outlived its 5 seconds.
pub fn request_hash(key: &SigningKey, parts: &[&str]) -> String {
    let mut m = mac(key, b"passwordless-operator/request/v1.", b"");
    for part in parts {
        m.update(&(part.len() as u64).to_be_bytes());
        m.update(part.as_bytes());
    }
    hex(&m.finalize().into_bytes())
}

pub fn user_hash(key: &SigningKey, pool: &str, username: &str) -> String {
    let mut m = mac(key, b"passwordless-operator/user/v1.", pool.as_bytes());
    m.update(b"\0");
    m.update(username.trim().to_lowercase().as_bytes());
    hex(&m.finalize().into_bytes())
}

/// The form of a destination that is masked, hashed and compared: trimmed, and an email
/// address lowercased (its domain is case-insensitive, and providers treat the local part so).
pub fn normalize_destination(destination: &str) -> String {
    let trimmed = destination.trim();
    if trimmed.contains('@') {
        trimmed.to_lowercase()
    } else {
        trimmed.to_owned()
    }
}

/// A keyed digest of the address a code or link was sent to (normalized here), carried with the
/// proof so that verifying it checks the user's address is still that one.
pub fn destination_hash(key: &SigningKey, destination: &str) -> String {
    let m = mac(
        key,
        b"passwordless-operator/destination/v1.",
        normalize_destination(destination).as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// Whether `destination` is the one whose [`destination_hash`] is `expected` (constant time).
pub fn destination_matches(key: &SigningKey, destination: &str, expected: &str) -> bool {
    constant_eq(
        destination_hash(key, destination).as_bytes(),
        expected.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testing::{KEYS_ROTATED, keyset};
    use crate::keys::parse;

    fn claims(kid: &str, exp: u64) -> LinkClaims {
        LinkClaims {
            kid: kid.to_owned(),
            sub: "alice@example.com".to_owned(),
            pool: "us-east-1_Pool".to_owned(),
            client: "client1".to_owned(),
            iat: 1000,
            exp,
            nonce: "bm9uY2Vub25jZW5vbmNl".to_owned(),
            dest: "ZGVzdA".to_owned(),
        }
    }

    const AUD: Audience<'static> = Audience {
        username: "alice@example.com",
        pool: "us-east-1_Pool",
        client: "client1",
    };

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let keys = keyset();
        let token = sign(keys.current(), &claims("k2", 2000));
        assert!(looks_like_token(&token));
        assert_eq!(key_id(&token).unwrap(), "k2");
        assert_eq!(
            verify(keys.current(), &token, &AUD, 1999).unwrap(),
            claims("k2", 2000)
        );
        assert_eq!(
            verify(keys.current(), &token, &AUD, 2000),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn a_link_only_verifies_with_the_key_it_names() {
        let keys = keyset();
        let old = sign(keys.get("k1").unwrap(), &claims("k1", 2000));
        assert!(verify(keys.get("k1").unwrap(), &old, &AUD, 1500).is_ok());
        assert_eq!(
            verify(keys.current(), &old, &AUD, 1500),
            Err(LinkError::BadSignature)
        );
        // After the next rotation k1 is gone: its id names no key any more.
        assert!(parse(KEYS_ROTATED).unwrap().get("k1").is_none());
    }

    #[test]
    fn any_tampering_breaks_the_signature() {
        let keys = keyset();
        let k = keys.current();
        let token = sign(k, &claims("k2", 2000));
        let (body, tag) = token.split_once('.').unwrap();
        // A changed claim, signed by nobody: the user, or the destination it was sent to.
        let mut forged = claims("k2", 2000);
        forged.sub = "mallory@example.com".to_owned();
        let mut redirected = claims("k2", 2000);
        redirected.dest = "b3RoZXI".to_owned();
        for forged in [forged, redirected] {
            let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
            assert_eq!(
                verify(k, &format!("{forged_body}.{tag}"), &AUD, 1500),
                Err(LinkError::BadSignature)
            );
        }
        // A flipped bit in the MAC.
        let mut raw_tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
        raw_tag[0] ^= 1;
        let bad = format!("{body}.{}", URL_SAFE_NO_PAD.encode(raw_tag));
        assert_eq!(verify(k, &bad, &AUD, 1500), Err(LinkError::BadSignature));
        // Claiming the other key's id does not help.
        let swapped_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims("k1", 2000)).unwrap());
        let swapped = format!("{swapped_body}.{tag}");
        assert_eq!(key_id(&swapped).unwrap(), "k1");
        assert_eq!(
            verify(keys.get("k1").unwrap(), &swapped, &AUD, 1500),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn a_link_for_someone_else_is_refused() {
        let keys = keyset();
        let token = sign(keys.current(), &claims("k2", 2000));
        let other = Audience {
            username: "bob@example.com",
            ..AUD
        };
        assert_eq!(
            verify(keys.current(), &token, &other, 1500),
            Err(LinkError::WrongAudience)
        );
        let other_client = Audience {
            client: "client2",
            ..AUD
        };
        assert_eq!(
            verify(keys.current(), &token, &other_client, 1500),
            Err(LinkError::WrongAudience)
        );
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let keys = keyset();
        for junk in [
            "",
            ".",
            "abc",
            "a.b",
            "!!!.???",
            &"x".repeat(MAX_TOKEN_LEN + 1),
            "e30.AAAA",
        ] {
            assert!(
                verify(keys.current(), junk, &AUD, 1500).is_err(),
                "{junk:?}"
            );
            assert!(key_id(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn code_macs_bind_the_user_and_compare_exactly() {
        let keys = keyset();
        let k = keys.current();
        let m = code_mac(k, "alice", "123456");
        assert!(code_matches(k, "alice", " 123456 ", &m));
        assert!(!code_matches(k, "alice", "123457", &m));
        assert!(!code_matches(k, "bob", "123456", &m));
        assert!(!m.contains("123456"));
    }

    #[test]
    fn destinations_are_normalized_then_hashed_under_the_key() {
        let keys = keyset();
        let (k2, k1) = (keys.current(), keys.get("k1").unwrap());
        // (sent to, now on the account, same destination)
        let cases = [
            ("alice@example.com", "alice@example.com", true),
            ("Alice@Example.COM", " alice@example.com ", true),
            ("alice@example.com", "alice@example.org", false),
            ("alice@example.com", "mallory@example.com", false),
            ("+15551234567", "+15551234567 ", true),
            ("+15551234567", "+15551234568", false),
        ];
        for (sent, now, same) in cases {
            assert_eq!(
                destination_matches(k2, now, &destination_hash(k2, sent)),
                same,
                "{sent} {now}"
            );
        }
        assert_ne!(
            destination_hash(k1, "alice@example.com"),
            destination_hash(k2, "alice@example.com")
        );
    }

    #[test]
    fn user_hashes_are_keyed_and_ignore_case() {
        let keys = keyset();
        let (k2, k1) = (keys.current(), keys.get("k1").unwrap());
        let alice = user_hash(k2, "us-east-1_Pool", "alice@example.com");
        assert_eq!(alice, user_hash(k2, "us-east-1_Pool", "Alice@Example.com"));
        assert_ne!(alice, user_hash(k2, "us-east-1_Other", "alice@example.com"));
        // Another key, another name: the table cannot be matched against guessed addresses.
        assert_ne!(alice, user_hash(k1, "us-east-1_Pool", "alice@example.com"));
        assert_ne!(alice, hash_hex("user", "us-east-1_Pool\0alice@example.com"));
        assert_eq!(alice.len(), 64);
    }
}

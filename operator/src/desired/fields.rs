//! How a configuration is compared: flattened into `(field, value)` pairs, the same for the
//! desired and the observed state.

use sha2::{Digest, Sha256};

/// A configuration that can be compared field by field.
pub trait Fields {
    /// `(field, rendered value)` for every field the operator manages, sorted by field. Secret
    /// values are rendered as a fingerprint, never as themselves.
    fn fields(&self) -> Vec<(String, String)>;
}

pub(crate) fn list(values: &[String]) -> String {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.join(",")
}

pub(crate) fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// `sha256:<first 12 hex>`: enough to see a secret changed, nothing to learn it from.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("(sensitive, sha256:{hex})")
}

/// `sha256:<first 16 hex>`: which value a field holds, for a value compared by digest.
pub(crate) fn short_digest(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

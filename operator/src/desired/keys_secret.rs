//! The Secrets Manager secret the trigger reads its signing keys from.

use super::Facts;
use super::fields::{Fields, short_digest};
use crate::names::StackNames;

/// The Secrets Manager secret holding the trigger's signing keys. The operator never reads
/// the value back: a digest tag says which keys it holds.
#[derive(Clone, PartialEq)]
pub struct KeysSecretConfig {
    pub name: String,
    /// `sha256:<16 hex>` of the value.
    pub digest: String,
    /// The value to write (`kid:base64,...`); None when observed.
    pub value: Option<String>,
    /// Observed: scheduled for deletion (by hand, or by a deletion with a recovery window),
    /// which blocks creating the name for up to 30 days. Restored when it is this pool's.
    pub scheduled_for_deletion: bool,
}

impl KeysSecretConfig {
    pub fn new(name: String, value: String) -> Self {
        Self {
            name,
            digest: short_digest(&value),
            value: Some(value),
            scheduled_for_deletion: false,
        }
    }
}

/// Never shows the keys.
impl std::fmt::Debug for KeysSecretConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysSecretConfig")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .finish()
    }
}

impl Fields for KeysSecretConfig {
    fn fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![("keysDigest".to_owned(), self.digest.clone())];
        if self.scheduled_for_deletion {
            fields.push(("scheduledForDeletion".to_owned(), "true".to_owned()));
        }
        fields
    }
}

/// The secret under the pool's name, holding the signing keys the facts carry.
pub(super) fn desired(names: &StackNames, facts: &Facts) -> KeysSecretConfig {
    KeysSecretConfig::new(names.keys_secret.clone(), facts.signing_keys.clone())
}

//! Deterministic AWS names and owner tags for one PasswordlessPool: the same namespace and name
//! always give the same names, so every resource can be found again after a crash.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Tag naming the PasswordlessPool (`<namespace>/<name>`) that owns a resource.
pub const OWNER_TAG: &str = "passwordless-operator.dev/owner";
/// Tag marking a resource as created by this operator.
pub const MANAGED_BY_TAG: &str = "passwordless-operator.dev/managed-by";
pub const MANAGED_BY: &str = "passwordless-operator";
/// Tag on the trigger function: the digest of the configuration the operator's probe proved
/// the deployed trigger accepts.
pub const VERIFIED_TAG: &str = "passwordless-operator.dev/verified-config";

/// The longest base name: leaves room for the longest suffix within the 64-character limits of
/// Lambda function and IAM role names.
const MAX_BASE: usize = 44;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackNames {
    /// `<namespace>/<name>`.
    pub owner: String,
    pub user_pool: String,
    pub client: String,
    pub function: String,
    pub role: String,
    pub role_policy: String,
    pub table: String,
}

impl StackNames {
    pub fn new(namespace: &str, name: &str) -> Self {
        let plain = format!("pwp-{namespace}-{name}");
        // Kubernetes names are DNS labels, so `plain` only holds [a-z0-9.-]; AWS names take
        // those, except that the dots of a DNS-subdomain name are not allowed everywhere.
        let plain = plain.replace('.', "-");
        let base = if plain.len() <= MAX_BASE {
            plain
        } else {
            let digest = Sha256::digest(format!("{namespace}/{name}").as_bytes());
            let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
            format!("{}-{hash}", plain[..MAX_BASE - 9].trim_end_matches('-'))
        };
        Self {
            owner: format!("{namespace}/{name}"),
            user_pool: base.clone(),
            client: format!("{base}-app"),
            function: format!("{base}-trigger"),
            role: format!("{base}-trigger"),
            role_policy: "passwordless-trigger".to_owned(),
            table: format!("{base}-state"),
        }
    }

    /// The owner tags every resource carries, plus the spec's own tags.
    pub fn tags(&self, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut tags = extra.clone();
        tags.insert(OWNER_TAG.to_owned(), self.owner.clone());
        tags.insert(MANAGED_BY_TAG.to_owned(), MANAGED_BY.to_owned());
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_and_readable() {
        let n = StackNames::new("shop", "checkout");
        assert_eq!(n.user_pool, "pwp-shop-checkout");
        assert_eq!(n.function, "pwp-shop-checkout-trigger");
        assert_eq!(n.table, "pwp-shop-checkout-state");
        assert_eq!(n, StackNames::new("shop", "checkout"));
    }

    #[test]
    fn long_names_are_shortened_with_a_hash_and_stay_distinct() {
        let long = "a".repeat(63);
        let a = StackNames::new(&long, "x");
        let b = StackNames::new(&long, "y");
        assert_ne!(a.function, b.function);
        for n in [&a, &b] {
            assert!(n.function.len() <= 64 && n.role.len() <= 64, "{n:?}");
        }
    }

    #[test]
    fn owner_tags_are_added_and_win_over_the_spec() {
        let n = StackNames::new("shop", "checkout");
        let tags = n.tags(&BTreeMap::from([("team".to_owned(), "id".to_owned())]));
        assert_eq!(tags[OWNER_TAG], "shop/checkout");
        assert_eq!(tags["team"], "id");
    }
}

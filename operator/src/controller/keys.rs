//! The signing keys of each pool, in a Secret of the operator's own namespace: application
//! service accounts in the pool's namespace get no access to it under the chart's RBAC, and the
//! output Secret they mount never holds a key.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use sha2::{Digest, Sha256};

use super::ROTATE_ANNOTATION;
use super::errors::Error;
use super::secrets::{delete_secret, managed_labels, namespace_and_name};
use crate::crd::PasswordlessPool;
use crate::keys::{Rotation, advance};
use crate::state::State;

const DATA_KEY: &str = "keys.json";
/// Secret names are DNS subdomains of at most 253 characters.
const MAX_NAME: usize = 253;

/// `pwp-keys.<namespace>.<name>`: a namespace has no dots, so the name is unambiguous.
pub fn secret_name(namespace: &str, name: &str) -> String {
    let plain = format!("pwp-keys.{namespace}.{name}");
    if plain.len() <= MAX_NAME {
        return plain;
    }
    let digest = Sha256::digest(format!("{namespace}/{name}").as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{hash}",
        plain[..MAX_NAME - 17].trim_end_matches(['-', '.'])
    )
}

pub struct KeyStore {
    api: Api<Secret>,
}

impl KeyStore {
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
        }
    }

    async fn load(&self, name: &str) -> Result<Option<(Secret, State)>, Error> {
        let Some(secret) = self.api.get_opt(name).await? else {
            return Ok(None);
        };
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get(DATA_KEY))
            .map(|b| b.0.clone())
            .unwrap_or_default();
        // The Secret's content is never quoted in the error: it is key material.
        let keys: State = serde_json::from_slice(&bytes).map_err(|_| {
            Error::Keys(format!(
                "Secret {name} does not hold valid {DATA_KEY}; delete it to start over with new keys"
            ))
        })?;
        Ok(Some((secret, keys)))
    }

    /// The pool's keys, made, rotated or pruned (and stored first) as [`crate::keys`] says: a
    /// new value of the rotation annotation rotates once.
    pub async fn ensure(&self, pool: &PasswordlessPool, now_unix: u64) -> Result<State, Error> {
        let (namespace, name) = namespace_and_name(pool)?;
        let secret_name = secret_name(namespace, name);
        let stored = self.load(&secret_name).await?;
        let rotation = pool
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ROTATE_ANNOTATION))
            .map(String::as_str);
        let mut keys = stored.as_ref().map(|(_, k)| k.clone()).unwrap_or_default();
        let changed = advance(
            &mut keys,
            rotation.map_or(Rotation::Keep, Rotation::OncePer),
            now_unix,
            pool.spec.retired_key_seconds(),
        );
        if !changed {
            return Ok(keys);
        }
        let data = serde_json::to_vec(&keys)
            .map_err(|e| Error::Keys(format!("serializing keys failed: {e}")))?;
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(secret_name.clone()),
                labels: Some(managed_labels()),
                annotations: Some(BTreeMap::from([(
                    "passwordless-operator.dev/pool".to_owned(),
                    format!("{namespace}/{name}"),
                )])),
                resource_version: stored
                    .as_ref()
                    .and_then(|(s, _)| s.metadata.resource_version.clone()),
                ..Default::default()
            },
            type_: Some("Opaque".to_owned()),
            data: Some(BTreeMap::from([(DATA_KEY.to_owned(), ByteString(data))])),
            ..Default::default()
        };
        // Create or replace at the version read: a concurrent writer makes this fail (409) and
        // the reconcile retries from a fresh read, so keys are never silently overwritten.
        let pp = PostParams::default();
        match stored {
            None => self.api.create(&pp, &secret).await?,
            Some(_) => self.api.replace(&secret_name, &pp, &secret).await?,
        };
        tracing::info!(
            pool = %format!("{namespace}/{name}"),
            kids = %keys.signing_keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>().join(","),
            "signing keys stored"
        );
        Ok(keys)
    }

    /// The stored keys, if any: cleanup needs no new ones.
    pub async fn get(&self, pool: &PasswordlessPool) -> Result<Option<State>, Error> {
        let (namespace, name) = namespace_and_name(pool)?;
        Ok(self
            .load(&secret_name(namespace, name))
            .await?
            .map(|(_, k)| k))
    }

    pub async fn delete(&self, pool: &PasswordlessPool) -> Result<(), Error> {
        let (namespace, name) = namespace_and_name(pool)?;
        delete_secret(&self.api, &secret_name(namespace, name)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_valid_and_distinct_even_for_long_pool_names() {
        assert_eq!(secret_name("team-a", "web"), "pwp-keys.team-a.web");
        let long = "n".repeat(253);
        let a = secret_name("team-a", &long);
        let b = secret_name("team-b", &long);
        assert!(a.len() <= 253 && b.len() <= 253);
        assert_ne!(a, b);
    }
}

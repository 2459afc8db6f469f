//! The signing keys of each pool, in a Secret of the keys namespace (the chart's own, where
//! nothing else lives): application service accounts in the pool's namespace get no access to
//! it under the chart's RBAC, and the output Secret they mount never holds a key.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use sha2::{Digest, Sha256};

use super::errors::Error;
use super::secrets::{delete_secret, managed_labels, namespace_and_name};
use crate::crd::PasswordlessPool;
use crate::key_rotation::{Rotation, advance};
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
    /// Where an older release kept the keys (`--keys-migrate-from`), while they are moved.
    legacy: Option<Api<Secret>>,
}

impl KeyStore {
    pub fn new(client: kube::Client, namespace: &str, migrate_from: Option<&str>) -> Self {
        Self {
            legacy: migrate_from
                .filter(|from| *from != namespace)
                .map(|from| Api::namespaced(client.clone(), from)),
            api: Api::namespaced(client, namespace),
        }
    }

    /// The Secret from the keys namespace; while migrating, one found only in the old namespace
    /// is moved first, so an upgrade never makes new keys where old ones exist.
    async fn fetch(&self, name: &str) -> Result<Option<Secret>, Error> {
        let mut found = self.api.get_opt(name).await?;
        let Some(legacy) = &self.legacy else {
            return Ok(found);
        };
        if found.is_none()
            && let Some(old) = legacy.get_opt(name).await?
        {
            let copy = Secret {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    labels: old.metadata.labels,
                    annotations: old.metadata.annotations,
                    ..Default::default()
                },
                type_: old.type_,
                data: old.data,
                ..Default::default()
            };
            found = match self.api.create(&PostParams::default(), &copy).await {
                Ok(created) => Some(created),
                // Another writer was first: its copy is the one to keep.
                Err(kube::Error::Api(e)) if e.code == 409 => self.api.get_opt(name).await?,
                Err(e) => return Err(e.into()),
            };
            tracing::info!(
                secret = name,
                from = legacy.namespace().unwrap_or_default(),
                "signing keys moved from the old namespace"
            );
        }
        // Copy first, then delete: a crash in between leaves both, and this read (or the next)
        // removes the old one, so only one copy of a key ever stays.
        if found.is_some() {
            delete_secret(legacy, name).await?;
        }
        Ok(found)
    }

    async fn load(&self, name: &str) -> Result<Option<(Secret, State)>, Error> {
        let Some(secret) = self.fetch(name).await? else {
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

    /// The pool's keys, made, rotated or pruned (and stored first) as [`crate::key_rotation`] says: a
    /// new value of the rotation annotation rotates once.
    pub async fn ensure(&self, pool: &PasswordlessPool, now_unix: u64) -> Result<State, Error> {
        let (namespace, name) = namespace_and_name(pool)?;
        let secret_name = secret_name(namespace, name);
        let stored = self.load(&secret_name).await?;
        let rotation = crate::annotations::value(&pool.metadata, crate::annotations::ROTATE);
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
        let secret_name = secret_name(namespace, name);
        if let Some(legacy) = &self.legacy {
            delete_secret(legacy, &secret_name).await?;
        }
        delete_secret(&self.api, &secret_name).await
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

//! The Secrets this operator writes (the output Secret, the signing-key Secrets): the labels
//! its Secret watch selects on, deletion that counts one already gone as deleted, and the pool
//! coordinates they are named from.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams};

use super::MANAGED_BY_LABEL;
use super::errors::Error;
use crate::crd::PasswordlessPool;
use crate::names::MANAGED_BY;

/// The labels on every Secret this operator writes.
pub fn managed_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned())])
}

/// The label selector of the operator's Secret watch: the Secrets it writes.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY}")
}

/// Deletes a Secret; one already gone counts as deleted.
pub async fn delete_secret(api: &Api<Secret>, name: &str) -> Result<(), Error> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The pool's namespace and name; a watched pool always has both.
pub fn namespace_and_name(pool: &PasswordlessPool) -> Result<(&str, &str), Error> {
    match (&pool.metadata.namespace, &pool.metadata.name) {
        (Some(ns), Some(name)) => Ok((ns, name)),
        _ => Err(Error::Internal(
            "a PasswordlessPool without namespace or name".into(),
        )),
    }
}

//! The output Secret apps mount: the pool's connection details (never a key), in the pool's
//! namespace, owned by the pool, written by server-side apply.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};

use super::FIELD_MANAGER;
use super::errors::Error;
use super::secrets::{delete_secret, managed_labels, namespace_and_name};
use crate::crd::{PasswordlessPool, PasswordlessPoolStatus};
use crate::status::outputs_of;

/// The Secret for a pool whose user pool and app client exist; `None` before that.
pub fn output_secret(pool: &PasswordlessPool, status: &PasswordlessPoolStatus) -> Option<Secret> {
    status.user_pool_id.as_ref()?;
    status.client_id.as_ref()?;
    let data = outputs_of(status)
        .secret_data(pool.spec.strategy)
        .into_iter()
        .map(|(k, v)| (k, ByteString(v.into_bytes())))
        .collect();
    Some(Secret {
        metadata: ObjectMeta {
            name: Some(pool.secret_name()),
            namespace: pool.metadata.namespace.clone(),
            labels: Some(managed_labels()),
            owner_references: pool.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(data),
        ..Default::default()
    })
}

/// Whether a Secret is this pool's: its controller owner reference names the pool's UID.
fn owned_by(secret: &Secret, pool: &PasswordlessPool) -> bool {
    secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| Some(&o.uid) == pool.metadata.uid.as_ref())
}

/// Refuses a pool whose output Secret's name is taken by a Secret that is not this pool's
/// (another app's, another pool's): checked before any AWS call, so nothing is created for a
/// pool that could not publish its outputs.
pub async fn check_name_free(client: &kube::Client, pool: &PasswordlessPool) -> Result<(), Error> {
    let (namespace, _) = namespace_and_name(pool)?;
    let name = pool.secret_name();
    let api = Api::<Secret>::namespaced(client.clone(), namespace);
    match api.get_opt(&name).await? {
        Some(existing) if !owned_by(&existing, pool) => {
            Err(Error::SecretConflict(format!("{namespace}/{name}")))
        }
        _ => Ok(()),
    }
}

/// Applies the Secret. Forced: the Secret is this operator's alone, and a hand edit (which
/// takes over the edited fields) must be put back rather than end in a conflict.
pub async fn apply(client: &kube::Client, secret: &Secret) -> Result<(), Error> {
    let (Some(namespace), Some(name)) = (&secret.metadata.namespace, &secret.metadata.name) else {
        return Ok(());
    };
    let api = Api::<Secret>::namespaced(client.clone(), namespace);
    // k8s-openapi writes apiVersion and kind itself, as an apply patch needs.
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(secret),
    )
    .await?;
    Ok(())
}

/// Removes the Secret with its pool: a cluster's garbage collector would, through the owner
/// reference, but the operator does not depend on one running.
pub async fn delete(client: &kube::Client, pool: &PasswordlessPool) -> Result<(), Error> {
    let (namespace, _) = namespace_and_name(pool)?;
    let api = Api::<Secret>::namespaced(client.clone(), namespace);
    let name = pool.secret_name();
    // Only a Secret this pool owns: never one of the same name someone else made.
    let owned = api
        .get_opt(&name)
        .await?
        .is_some_and(|s| owned_by(&s, pool));
    if owned {
        delete_secret(&api, &name).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_holds_connection_details_only_and_is_owned_by_the_pool() {
        let mut pool: PasswordlessPool = serde_yaml::from_str(
            "apiVersion: passwordless-operator.dev/v1alpha1\nkind: PasswordlessPool\nmetadata: {name: web, namespace: team, uid: u-1}\nspec: {strategy: emailOtp, sender: {address: a@example.com}, otp: {}}\n",
        )
        .unwrap();
        let mut status = PasswordlessPoolStatus {
            user_pool_id: Some("us-east-1_A".into()),
            region: Some("us-east-1".into()),
            ..Default::default()
        };
        assert!(output_secret(&pool, &status).is_none(), "no client yet");
        status.client_id = Some("c1".into());
        status.issuer_url = Some("https://issuer".into());
        status.jwks_url = Some("https://issuer/jwks".into());
        let secret = output_secret(&pool, &status).unwrap();
        assert_eq!(secret.metadata.name.as_deref(), Some("web-cognito"));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("team"));
        let owner = &secret.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!((owner.uid.as_str(), owner.controller), ("u-1", Some(true)));
        let data = secret.data.unwrap();
        let keys: Vec<_> = data.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "COGNITO_CLIENT_ID",
                "COGNITO_ISSUER_URL",
                "COGNITO_JWKS_URL",
                "COGNITO_REGION",
                "COGNITO_USER_POOL_ID",
                "PASSWORDLESS_STRATEGY",
                "clientId",
                "issuerUrl",
                "jwksUrl",
                "region",
                "strategy",
                "userPoolId"
            ]
        );
        assert_eq!(data["userPoolId"].0, b"us-east-1_A");
        pool.spec.secret_name = Some("custom".into());
        assert_eq!(
            output_secret(&pool, &status)
                .unwrap()
                .metadata
                .name
                .as_deref(),
            Some("custom")
        );
    }
}

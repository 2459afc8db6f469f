//! The Secrets Manager secret holding a pool's signing keys. The operator writes the value and
//! never reads it back: a digest tag says which keys the secret holds.

use aws_sdk_secretsmanager::types::Tag;

use super::{AwsError, Clients, Found, RESOURCE_NOT_FOUND, Sent, Tags, call_error};
use crate::desired::KeysSecretConfig;

/// The tag holding the digest of the secret's value.
pub const DIGEST_TAG: &str = "passwordless-operator.dev/keys-digest";

/// The secret's configuration (its digest, whether it is scheduled for deletion) and tags, if
/// it exists.
pub async fn observe(
    c: &Clients,
    name: &str,
) -> Result<Option<(KeysSecretConfig, Tags)>, AwsError> {
    let Some(out) = c
        .secrets
        .describe_secret()
        .secret_id(name)
        .send()
        .sent("secretsmanager:DescribeSecret")
        .await
        .found(RESOURCE_NOT_FOUND)?
    else {
        return Ok(None);
    };
    let tags: Tags = out
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect();
    let config = KeysSecretConfig {
        name: name.to_owned(),
        digest: tags.get(DIGEST_TAG).cloned().unwrap_or_default(),
        value: None,
        scheduled_for_deletion: out.deleted_date().is_some(),
    };
    Ok(Some((config, tags)))
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

pub async fn create(c: &Clients, secret: &KeysSecretConfig, tags: &Tags) -> Result<(), AwsError> {
    let mut all: Vec<Tag> = tags.iter().map(|(k, v)| tag(k, v)).collect();
    all.push(tag(DIGEST_TAG, &secret.digest));
    c.secrets
        .create_secret()
        .name(&secret.name)
        .description("Signing keys of a passwordless-operator trigger; read by its role only")
        .set_secret_string(secret.value.clone())
        .set_tags(Some(all))
        .send()
        .await
        .map_err(|e| call_error("secretsmanager:CreateSecret", e))?;
    Ok(())
}

/// A new value, then the digest that names it (a crash in between re-writes the value). A
/// secret scheduled for deletion is restored first: AWS refuses writes to it, and its name
/// cannot be created again until the window ends.
pub async fn update(c: &Clients, secret: &KeysSecretConfig, restore: bool) -> Result<(), AwsError> {
    if restore {
        c.secrets
            .restore_secret()
            .secret_id(&secret.name)
            .send()
            .await
            .map_err(|e| call_error("secretsmanager:RestoreSecret", e))?;
    }
    c.secrets
        .put_secret_value()
        .secret_id(&secret.name)
        .set_secret_string(secret.value.clone())
        .send()
        .await
        .map_err(|e| call_error("secretsmanager:PutSecretValue", e))?;
    c.secrets
        .tag_resource()
        .secret_id(&secret.name)
        .tags(tag(DIGEST_TAG, &secret.digest))
        .send()
        .await
        .map_err(|e| call_error("secretsmanager:TagResource", e))?;
    Ok(())
}

/// At once, without the recovery window: the keys sign nothing any more, and the name must be
/// free for a pool created again under it.
pub async fn delete(c: &Clients, name: &str) -> Result<(), AwsError> {
    c.secrets
        .delete_secret()
        .secret_id(name)
        .force_delete_without_recovery(true)
        .send()
        .sent("secretsmanager:DeleteSecret")
        .await
        .found(RESOURCE_NOT_FOUND)?;
    Ok(())
}

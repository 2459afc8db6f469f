//! The trigger's execution role and its inline least-privilege policy.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use serde_json::Value;

use super::{AwsError, Clients, Tags, built, call_error, code_of};
use crate::desired::RoleConfig;

/// IAM returns policy documents URL-encoded.
fn decode_policy(document: &str) -> Value {
    let mut bytes = Vec::with_capacity(document.len());
    let mut it = document.bytes();
    while let Some(b) = it.next() {
        match b {
            b'%' => {
                let hex: Vec<u8> = it.by_ref().take(2).collect();
                let byte = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                bytes.push(byte.unwrap_or(b'?'));
            }
            b'+' => bytes.push(b' '),
            b => bytes.push(b),
        }
    }
    serde_json::from_slice(&bytes)
        .or_else(|_| serde_json::from_str(document))
        .unwrap_or(Value::Null)
}

/// The role's ARN (which names the account), its configuration and its tags, if it exists.
pub async fn observe(
    c: &Clients,
    name: &str,
    policy_name: &str,
) -> Result<Option<(String, RoleConfig, Tags)>, AwsError> {
    let role = match c.iam.get_role().role_name(name).send().await {
        Ok(out) => out
            .role
            .ok_or_else(|| AwsError::Unexpected("GetRole returned no role".into()))?,
        Err(e) if code_of(&e) == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(call_error("iam:GetRole", e)),
    };
    let policy = match c
        .iam
        .get_role_policy()
        .role_name(name)
        .policy_name(policy_name)
        .send()
        .await
    {
        Ok(out) => decode_policy(out.policy_document()),
        Err(e) if code_of(&e) == Some("NoSuchEntity") => Value::Null,
        Err(e) => return Err(call_error("iam:GetRolePolicy", e)),
    };
    let trust = role
        .assume_role_policy_document()
        .map(decode_policy)
        .unwrap_or(Value::Null);
    let tags = role
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    let permissions_boundary = role
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn())
        .map(str::to_owned);
    Ok(Some((
        role.arn().to_owned(),
        RoleConfig {
            name: name.to_owned(),
            trust_policy: trust,
            policy_name: policy_name.to_owned(),
            policy,
            permissions_boundary,
        },
        tags,
    )))
}

/// Creates the role and its policy; returns the role ARN.
pub async fn create(
    c: &Clients,
    role: &RoleConfig,
    tags: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    let tags = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let tags: Vec<_> = built(tags)?;
    let arn = match c
        .iam
        .create_role()
        .role_name(&role.name)
        .assume_role_policy_document(role.trust_policy.to_string())
        .set_permissions_boundary(role.permissions_boundary.clone())
        .set_tags(Some(tags))
        .send()
        .await
    {
        Ok(out) => out.role.map(|r| r.arn).unwrap_or_default(),
        Err(e) if code_of(&e) == Some("EntityAlreadyExists") => {
            let found = observe(c, &role.name, &role.policy_name).await?;
            if let Some((_, before, _)) = &found {
                put_boundary(c, before, role).await?;
            }
            found.map(|(arn, _, _)| arn).unwrap_or_default()
        }
        Err(e) => return Err(boundary_error("iam:CreateRole", e, role)),
    };
    put_policy(c, role).await?;
    Ok(arn)
}

/// The boundary goes first: the operator may write a role's policy only once the role carries
/// it (`iam:PutRolePolicy` is granted on that condition).
pub async fn update(c: &Clients, observed: &RoleConfig, role: &RoleConfig) -> Result<(), AwsError> {
    put_boundary(c, observed, role).await?;
    if observed.trust_policy != role.trust_policy {
        c.iam
            .update_assume_role_policy()
            .role_name(&role.name)
            .policy_document(role.trust_policy.to_string())
            .send()
            .await
            .map_err(|e| call_error("iam:UpdateAssumeRolePolicy", e))?;
    }
    if observed.policy != role.policy {
        put_policy(c, role).await?;
    }
    Ok(())
}

/// Sets the desired boundary on a role without it (made before boundaries) or with another.
/// Never removes one: the operator may not (no `iam:DeleteRolePermissionsBoundary`).
async fn put_boundary(
    c: &Clients,
    observed: &RoleConfig,
    role: &RoleConfig,
) -> Result<(), AwsError> {
    let Some(boundary) = &role.permissions_boundary else {
        return Ok(());
    };
    if observed.permissions_boundary.as_ref() == Some(boundary) {
        return Ok(());
    }
    c.iam
        .put_role_permissions_boundary()
        .role_name(&role.name)
        .permissions_boundary(boundary)
        .send()
        .await
        .map_err(|e| boundary_error("iam:PutRolePermissionsBoundary", e, role))?;
    Ok(())
}

/// A boundary policy missing from the account is the platform team's to create: say so.
fn boundary_error<E, R>(
    operation: &'static str,
    e: aws_sdk_iam::error::SdkError<E, R>,
    role: &RoleConfig,
) -> AwsError
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let missing = code_of(&e) == Some("NoSuchEntity");
    match (call_error(operation, e), &role.permissions_boundary) {
        (
            AwsError::Call {
                operation,
                code,
                message,
                transient,
            },
            Some(boundary),
        ) if missing => AwsError::Call {
            operation,
            code,
            message: format!(
                "{message} (the trigger roles' permissions boundary {boundary}: create it in this account from `passwordless-operator iam-policy --boundary`)"
            ),
            transient,
        },
        (other, _) => other,
    }
}

async fn put_policy(c: &Clients, role: &RoleConfig) -> Result<(), AwsError> {
    c.iam
        .put_role_policy()
        .role_name(&role.name)
        .policy_name(&role.policy_name)
        .policy_document(role.policy.to_string())
        .send()
        .await
        .map_err(|e| call_error("iam:PutRolePolicy", e))?;
    Ok(())
}

/// Deletes the policy, then the role. Already gone counts as done.
pub async fn delete(c: &Clients, name: &str, policy_name: &str) -> Result<(), AwsError> {
    match c
        .iam
        .delete_role_policy()
        .role_name(name)
        .policy_name(policy_name)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if code_of(&e) == Some("NoSuchEntity") => {}
        Err(e) => return Err(call_error("iam:DeleteRolePolicy", e)),
    }
    match c.iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if code_of(&e) == Some("NoSuchEntity") => Ok(()),
        Err(e) => Err(call_error("iam:DeleteRole", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_and_plain_policies_decode_alike() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_policy(plain), decode_policy(encoded));
    }
}

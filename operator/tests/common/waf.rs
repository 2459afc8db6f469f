//! Web ACLs as AWS holds them, read and changed by hand (not through the operator's calls).
//! Async, for the async tests; `common`'s sync helpers wrap them.

use passwordless_operator::aws::Clients;

async fn by_hand() -> Clients {
    Clients::from_env(None).await.unwrap()
}

/// The web ACL associated with a resource (a user pool's ARN): its name and its rules' rate
/// limits.
pub async fn associated_with(resource_arn: &str) -> Option<(String, Vec<i64>)> {
    let out = by_hand()
        .await
        .waf
        .get_web_acl_for_resource()
        .resource_arn(resource_arn)
        .send()
        .await
        .unwrap();
    let acl = out.web_acl()?;
    let limits = acl
        .rules()
        .iter()
        .filter_map(|r| Some(r.statement()?.rate_based_statement()?.limit()))
        .collect();
    Some((acl.name().to_owned(), limits))
}

/// Detaches whatever web ACL is on the resource (as an interrupted create or deletion leaves
/// it).
pub async fn detach(resource_arn: &str) {
    by_hand()
        .await
        .waf
        .disassociate_web_acl()
        .resource_arn(resource_arn)
        .send()
        .await
        .unwrap();
}

/// Whether a regional web ACL of this name exists, attached or not.
pub async fn exists(name: &str) -> bool {
    let out = by_hand()
        .await
        .waf
        .list_web_acls()
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .limit(100)
        .send()
        .await
        .unwrap();
    out.web_acls().iter().any(|w| w.name() == Some(name))
}

//! The AWS WAF web ACL in front of a user pool: one rate-based rule per source IP, and its
//! association with the pool. Regional scope, as Cognito user pools need.

use aws_sdk_wafv2::types::{
    AllowAction, BlockAction, DefaultAction, RateBasedStatement,
    RateBasedStatementAggregateKeyType, Rule, RuleAction, Scope, Statement, Tag, VisibilityConfig,
};

use super::{AwsError, Clients, Patience, Tags, built, call_error, code_of};
use crate::desired::WebAclConfig;
use crate::observed::WebAclObserved;

/// The one rule's name.
const RULE: &str = "rate-per-ip";

/// What is associated with a user pool.
#[derive(Debug)]
pub enum OnPool {
    Nothing,
    /// The web ACL of the name asked for: its rule's limit and tags.
    Named(WebAclObserved, Tags),
    /// Another web ACL, by name, for the caller to refuse.
    Other(String),
}

/// The web ACL associated with the pool (one GetWebACLForResource, the whole cost for a pool
/// without `rateLimit`), read in full if it is the one named `name`.
pub async fn observe(c: &Clients, name: &str, pool_arn: &str) -> Result<OnPool, AwsError> {
    let out = match c
        .waf
        .get_web_acl_for_resource()
        .resource_arn(pool_arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if code_of(&e) == Some("WAFNonexistentItemException") => return Ok(OnPool::Nothing),
        Err(e) => return Err(call_error("wafv2:GetWebACLForResource", e)),
    };
    let Some(acl) = out.web_acl() else {
        return Ok(OnPool::Nothing);
    };
    if acl.name() != name {
        return Ok(OnPool::Other(acl.name().to_owned()));
    }
    let (acl, tags) = observed(c, acl, pool_arn).await?;
    Ok(OnPool::Named(acl, tags))
}

/// The web ACL named `name` with ARN `arn` (a recorded one), or else the one of that name
/// found by listing, when `search` (a deletion: rare, so worth a list), as found while not
/// associated with the pool: left so by an interrupted create or deletion.
pub async fn observe_detached(
    c: &Clients,
    name: &str,
    arn: Option<&str>,
    search: bool,
) -> Result<Option<(WebAclObserved, Tags)>, AwsError> {
    let arn = match arn {
        Some(arn) => Some(arn.to_owned()),
        None if search => find_by_name(c, name).await?,
        None => None,
    };
    let Some(id) = arn.as_deref().and_then(id_of) else {
        return Ok(None);
    };
    match get(c, name, id)
        .await?
        .as_ref()
        .and_then(|out| out.web_acl())
    {
        Some(acl) => Ok(Some(observed(c, acl, "").await?)),
        None => Ok(None),
    }
}

/// GetWebACL; `None` if there is no such web ACL.
async fn get(
    c: &Clients,
    name: &str,
    id: &str,
) -> Result<Option<aws_sdk_wafv2::operation::get_web_acl::GetWebAclOutput>, AwsError> {
    match c
        .waf
        .get_web_acl()
        .name(name)
        .scope(Scope::Regional)
        .id(id)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out)),
        Err(e) if code_of(&e) == Some("WAFNonexistentItemException") => Ok(None),
        Err(e) => Err(call_error("wafv2:GetWebACL", e)),
    }
}

/// The id in a web ACL's ARN (`arn:PARTITION:wafv2:REGION:ACCOUNT:regional/webacl/NAME/ID`).
fn id_of(arn: &str) -> Option<&str> {
    arn.rsplit_once('/')
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty())
}

/// What a pool's web ACL looks like, associated with `pool_arn` ("" for none), and its tags.
async fn observed(
    c: &Clients,
    acl: &aws_sdk_wafv2::types::WebAcl,
    pool_arn: &str,
) -> Result<(WebAclObserved, Tags), AwsError> {
    let limit = acl
        .rules()
        .iter()
        .find(|r| r.name() == RULE)
        .and_then(|r| r.statement())
        .and_then(|s| s.rate_based_statement())
        .map_or(0, |r| u32::try_from(r.limit()).unwrap_or(u32::MAX));
    let arn = acl.arn().to_owned();
    let tags = tags(c, &arn).await?;
    Ok((
        WebAclObserved {
            config: WebAclConfig {
                name: acl.name().to_owned(),
                rate_limit: limit,
                associated_with: pool_arn.to_owned(),
            },
            id: acl.id().to_owned(),
            arn,
        },
        tags,
    ))
}

async fn tags(c: &Clients, arn: &str) -> Result<Tags, AwsError> {
    Ok(c.waf
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| call_error("wafv2:ListTagsForResource", e))?
        .tag_info_for_resource()
        .map(|t| {
            t.tag_list()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect()
        })
        .unwrap_or_default())
}

/// WAF's optimistic lock: every update and delete sends the token of the latest read.
/// `None` once the web ACL is gone.
async fn lock_token(c: &Clients, name: &str, id: &str) -> Result<Option<String>, AwsError> {
    let out = get(c, name, id).await?;
    Ok(out.and_then(|o| o.lock_token().map(str::to_owned)))
}

/// A web ACL of this name left unassociated (a crash between create and associate): its ARN.
async fn find_by_name(c: &Clients, name: &str) -> Result<Option<String>, AwsError> {
    let mut marker = None;
    loop {
        let out = c
            .waf
            .list_web_acls()
            .scope(Scope::Regional)
            .set_next_marker(marker)
            .send()
            .await
            .map_err(|e| call_error("wafv2:ListWebACLs", e))?;
        if let Some(found) = out.web_acls().iter().find(|w| w.name() == Some(name)) {
            return Ok(found.arn().map(str::to_owned));
        }
        marker = out.next_marker().map(str::to_owned);
        if marker.is_none() || out.web_acls().is_empty() {
            return Ok(None);
        }
    }
}

fn visibility(name: &str) -> Result<VisibilityConfig, AwsError> {
    built(
        VisibilityConfig::builder()
            .sampled_requests_enabled(true)
            .cloud_watch_metrics_enabled(true)
            .metric_name(name)
            .build(),
    )
}

/// Block an IP's requests above the limit; allow the rest.
fn rules(acl: &WebAclConfig) -> Result<(DefaultAction, Rule, VisibilityConfig), AwsError> {
    let statement = Statement::builder()
        .rate_based_statement(built(
            RateBasedStatement::builder()
                .limit(i64::from(acl.rate_limit))
                .aggregate_key_type(RateBasedStatementAggregateKeyType::Ip)
                .build(),
        )?)
        .build();
    let rule = built(
        Rule::builder()
            .name(RULE)
            .priority(0)
            .action(
                RuleAction::builder()
                    .block(BlockAction::builder().build())
                    .build(),
            )
            .statement(statement)
            .visibility_config(visibility(RULE)?)
            .build(),
    )?;
    let allow = DefaultAction::builder()
        .allow(AllowAction::builder().build())
        .build();
    Ok((allow, rule, visibility(&acl.name)?))
}

/// A web ACL made, or found under its name: one a crash left unassociated, whose tags say
/// whether it is the caller's.
#[derive(Debug)]
pub enum Made {
    New(String),
    Existing { arn: String, tags: Tags },
}

/// Creates the web ACL, unassociated (see [`associate`]).
pub async fn create(c: &Clients, acl: &WebAclConfig, tags: &Tags) -> Result<Made, AwsError> {
    let (allow, rule, visibility) = rules(acl)?;
    let tags = tags
        .iter()
        .map(|(k, v)| built(Tag::builder().key(k).value(v).build()))
        .collect::<Result<Vec<_>, _>>()?;
    match c
        .waf
        .create_web_acl()
        .name(&acl.name)
        .scope(Scope::Regional)
        .default_action(allow)
        .rules(rule)
        .visibility_config(visibility)
        .set_tags(Some(tags))
        .send()
        .await
    {
        Ok(out) => Ok(Made::New(
            out.summary()
                .and_then(|s| s.arn())
                .unwrap_or_default()
                .to_owned(),
        )),
        Err(e) if code_of(&e) == Some("WAFDuplicateItemException") => {
            let Some(arn) = find_by_name(c, &acl.name).await? else {
                return Err(call_error("wafv2:CreateWebACL", e));
            };
            let tags = self::tags(c, &arn).await?;
            Ok(Made::Existing { arn, tags })
        }
        Err(e) => Err(call_error("wafv2:CreateWebACL", e)),
    }
}

/// The whole configuration, under the lock token last read; then the association, if an
/// interrupted create left it out.
pub async fn update(
    c: &Clients,
    found: &WebAclObserved,
    acl: &WebAclConfig,
) -> Result<(), AwsError> {
    if found.config.rate_limit != acl.rate_limit {
        update_rules(c, found, acl).await?;
    }
    if found.config.associated_with != acl.associated_with {
        associate(c, &found.arn, &acl.associated_with).await?;
    }
    Ok(())
}

async fn update_rules(
    c: &Clients,
    found: &WebAclObserved,
    acl: &WebAclConfig,
) -> Result<(), AwsError> {
    let (allow, rule, visibility) = rules(acl)?;
    let Some(lock) = lock_token(c, &acl.name, &found.id).await? else {
        return Err(AwsError::Call {
            operation: "wafv2:GetWebACL",
            code: "WAFNonexistentItemException".into(),
            message: format!("web ACL {} vanished before its update", acl.name),
            transient: true,
        });
    };
    c.waf
        .update_web_acl()
        .name(&acl.name)
        .scope(Scope::Regional)
        .id(&found.id)
        .lock_token(lock)
        .default_action(allow)
        .rules(rule)
        .visibility_config(visibility)
        .send()
        .await
        .map_err(|e| call_error("wafv2:UpdateWebACL", e))?;
    Ok(())
}

/// Attaches the web ACL to the pool. A web ACL created a moment ago is often not yet visible
/// to the association (`WAFUnavailableEntityException`, "retry your request"): retried within
/// the pass for as long as [`Patience`] lasts; past that, transient.
pub async fn associate(c: &Clients, acl_arn: &str, pool_arn: &str) -> Result<(), AwsError> {
    let mut patience = Patience::new();
    loop {
        let out = c
            .waf
            .associate_web_acl()
            .web_acl_arn(acl_arn)
            .resource_arn(pool_arn)
            .send()
            .await;
        match out {
            Ok(_) => return Ok(()),
            Err(e) if code_of(&e) == Some(UNAVAILABLE) => {
                if !patience.wait("the new web ACL").await {
                    return Err(call_error("wafv2:AssociateWebACL", e).settling());
                }
            }
            Err(e) => return Err(call_error("wafv2:AssociateWebACL", e)),
        }
    }
}

/// WAF's answer while a new web ACL propagates.
const UNAVAILABLE: &str = "WAFUnavailableEntityException";

/// Detaches it from the pool (if attached), then deletes it. Already gone counts as done.
pub async fn delete(c: &Clients, found: &WebAclObserved) -> Result<(), AwsError> {
    if !found.config.associated_with.is_empty() {
        match c
            .waf
            .disassociate_web_acl()
            .resource_arn(&found.config.associated_with)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if code_of(&e) == Some("WAFNonexistentItemException") => {}
            Err(e) => return Err(call_error("wafv2:DisassociateWebACL", e)),
        }
    }
    let Some(lock) = lock_token(c, &found.config.name, &found.id).await? else {
        return Ok(());
    };
    match c
        .waf
        .delete_web_acl()
        .name(&found.config.name)
        .scope(Scope::Regional)
        .id(&found.id)
        .lock_token(lock)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if code_of(&e) == Some("WAFNonexistentItemException") => Ok(()),
        Err(e) => Err(call_error("wafv2:DeleteWebACL", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::id_of;

    #[test]
    fn the_id_is_the_arns_last_part() {
        let arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/pwp-x/1a2b-3c";
        assert_eq!(id_of(arn), Some("1a2b-3c"));
        assert_eq!(
            id_of("arn:aws:wafv2:eu-west-1:1:regional/webacl/pwp-x/"),
            None
        );
        assert_eq!(id_of("no-slash"), None);
    }
}

//! The magic-link state table: partition key `pk`, on-demand billing, TTL on `expiresAt`.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    Tag, TimeToLiveSpecification,
};

use super::{
    AwsError, Clients, Found, RESOURCE_NOT_FOUND, Sent, Tags, built, call_error, code_of, wait_for,
};
use passwordless_contract::table::PARTITION_KEY as TABLE_KEY;

use crate::desired::TableConfig;

/// One call per resync: DescribeTimeToLive answers "not found" for a missing table, and the TTL
/// is the only table setting that can drift (key schema and billing mode never change).
pub async fn observe(c: &Clients, name: &str) -> Result<Option<TableConfig>, AwsError> {
    let ttl = match c
        .dynamodb
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
    {
        Ok(ttl) => ttl,
        // moto says `ResourceNotFound`, DynamoDB and ministack `ResourceNotFoundException`.
        Err(e)
            if matches!(
                code_of(&e),
                Some("ResourceNotFoundException" | "ResourceNotFound")
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(call_error("dynamodb:DescribeTimeToLive", e)),
    };
    let ttl_attribute = ttl
        .time_to_live_description()
        .filter(|d| {
            d.time_to_live_status()
                .is_some_and(|s| s.as_str() == "ENABLED" || s.as_str() == "ENABLING")
        })
        .and_then(|d| d.attribute_name())
        .unwrap_or_default()
        .to_owned();
    Ok(Some(TableConfig {
        name: name.to_owned(),
        ttl_attribute,
    }))
}

/// The table's tags (ListTagsOfResource: DescribeTable does not return them).
pub async fn tags(c: &Clients, arn: &str) -> Result<Tags, AwsError> {
    let mut tags = Tags::new();
    let mut token = None;
    loop {
        let out = c
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| call_error("dynamodb:ListTagsOfResource", e))?;
        for t in out.tags() {
            tags.insert(t.key().to_owned(), t.value().to_owned());
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(tags);
        }
    }
}

pub async fn create(
    c: &Clients,
    table: &TableConfig,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let tags = built(
        tags.iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>(),
    )?;
    let created = c
        .dynamodb
        .create_table()
        .table_name(&table.name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(built(
            AttributeDefinition::builder()
                .attribute_name(TABLE_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build(),
        )?)
        .key_schema(built(
            KeySchemaElement::builder()
                .attribute_name(TABLE_KEY)
                .key_type(KeyType::Hash)
                .build(),
        )?)
        .set_tags(Some(tags))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if code_of(&e) == Some("ResourceInUseException") => {}
        Err(e) => return Err(call_error("dynamodb:CreateTable", e)),
    }
    wait_for(
        "dynamodb table ACTIVE",
        Duration::from_secs(60),
        Duration::from_millis(500),
        || async {
            let out = c
                .dynamodb
                .describe_table()
                .table_name(&table.name)
                .send()
                .await
                .map_err(|e| call_error("dynamodb:DescribeTable", e))?;
            Ok(out
                .table()
                .and_then(|t| t.table_status())
                .filter(|s| **s == TableStatus::Active)
                .map(|_| ()))
        },
    )
    .await?;
    set_ttl(c, table).await
}

pub async fn set_ttl(c: &Clients, table: &TableConfig) -> Result<(), AwsError> {
    let spec = built(
        TimeToLiveSpecification::builder()
            .attribute_name(&table.ttl_attribute)
            .enabled(true)
            .build(),
    )?;
    c.dynamodb
        .update_time_to_live()
        .table_name(&table.name)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| call_error("dynamodb:UpdateTimeToLive", e))?;
    Ok(())
}

pub async fn delete(c: &Clients, name: &str) -> Result<(), AwsError> {
    c.dynamodb
        .delete_table()
        .table_name(name)
        .send()
        .sent("dynamodb:DeleteTable")
        .await
        .found(RESOURCE_NOT_FOUND)?;
    Ok(())
}

//! The metrics table: keys, billing mode, TTL, point-in-time recovery, encryption.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    ScalarAttributeType, SseSpecification, TimeToLiveSpecification,
};
use stackgen::aws::dynamodb::Table;

use super::{Outputs, lit, outputs};
use crate::clients::Clients;
use crate::error::Error;

/// `aws:dynamodb:Table`: on-demand, encrypted, with its TTL attribute and (when asked)
/// point-in-time recovery.
pub(super) async fn table(c: &Clients, name: &str, t: Table) -> Result<Outputs, Error> {
    let err = Error::aws::<aws_sdk_dynamodb::error::BuildError>("dynamodb:CreateTable");
    let key = |n: &str, k: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(k)
            .build()
    };
    let mut req = c
        .dynamodb
        .create_table()
        .table_name(&t.name)
        .billing_mode(BillingMode::from(t.billing_mode.as_str()))
        .key_schema(key(&t.hash_key, KeyType::Hash).map_err(err)?)
        .key_schema(key(&t.range_key, KeyType::Range).map_err(Error::aws("dynamodb:CreateTable"))?)
        .sse_specification(
            SseSpecification::builder()
                .enabled(t.server_side_encryption.enabled)
                .build(),
        )
        .deletion_protection_enabled(*lit(name, &t.deletion_protection_enabled)?);
    for a in &t.attributes {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.name)
                .attribute_type(ScalarAttributeType::from(a.ty.as_str()))
                .build()
                .map_err(Error::aws("dynamodb:CreateTable"))?,
        );
    }
    let out = req
        .send()
        .await
        .map_err(Error::aws("dynamodb:CreateTable"))?;
    let arn = out
        .table_description()
        .and_then(|d| d.table_arn())
        .unwrap_or_default()
        .to_owned();
    c.dynamodb
        .update_time_to_live()
        .table_name(&t.name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(&t.ttl.attribute_name)
                .enabled(t.ttl.enabled)
                .build()
                .map_err(Error::aws("dynamodb:UpdateTimeToLive"))?,
        )
        .send()
        .await
        .map_err(Error::aws("dynamodb:UpdateTimeToLive"))?;
    if *lit(name, &t.point_in_time_recovery.enabled)? {
        c.dynamodb
            .update_continuous_backups()
            .table_name(&t.name)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()
                    .map_err(Error::aws("dynamodb:UpdateContinuousBackups"))?,
            )
            .send()
            .await
            .map_err(Error::aws("dynamodb:UpdateContinuousBackups"))?;
    }
    Ok(outputs(&[
        ("id", t.name.clone()),
        ("name", t.name),
        ("arn", arn),
    ]))
}

//! AWS SDK adapters for the archive and metrics stores, built once per container.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_s3::primitives::ByteStream;

use crate::archive::ArchiveStore;
use crate::handler::Processor;
use crate::store::{ItemState, MetricsStore, Outcome, Update, Val, attr};
use crate::{Config, Error};

/// S3 archive bucket.
#[derive(Debug, Clone)]
pub struct S3Archive {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl ArchiveStore for S3Archive {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), Error> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .content_type("application/x-ndjson")
            .content_encoding("gzip")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::Archive {
                key: key.to_owned(),
                source: Box::new(aws_sdk_s3::Error::from(e)),
            })
    }
}

/// DynamoDB metrics table.
#[derive(Debug, Clone)]
pub struct DynamoMetrics {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

fn to_av(v: &Val) -> AttributeValue {
    match v {
        Val::Int(i) => AttributeValue::N(i.to_string()),
        Val::Float(f) => AttributeValue::N(f.to_string()),
        Val::Str(s) => AttributeValue::S(s.clone()),
    }
}

/// Reads an item's attributes with serde_dynamo; attributes of other shapes are ignored.
pub fn state_of(item: Option<&HashMap<String, AttributeValue>>) -> ItemState {
    ItemState {
        attrs: item.filter(|i| !i.is_empty()).map(|i| {
            i.iter()
                .filter_map(|(k, v)| {
                    serde_dynamo::from_attribute_value::<_, Val>(v.clone())
                        .ok()
                        .map(|v| (k.clone(), v))
                })
                .collect::<BTreeMap<_, _>>()
        }),
    }
}

impl DynamoMetrics {
    /// The `UpdateItem` request for an update (request shape is tested without network).
    pub fn request(
        &self,
        u: &Update,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let e = u.expressions();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                attr::PARTITION_KEY,
                AttributeValue::S(u.partition_key.clone()),
            )
            .key(attr::WINDOW, AttributeValue::S(u.window.clone()))
            .update_expression(e.update)
            .condition_expression(e.condition)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (p, n) in e.names {
            req = req.expression_attribute_names(p, n);
        }
        for (p, v) in &e.values {
            req = req.expression_attribute_values(p, to_av(v));
        }
        req
    }
}

impl MetricsStore for DynamoMetrics {
    async fn update(&self, u: &Update) -> Result<Outcome, Error> {
        match self.request(u).send().await {
            Ok(out) => Ok(Outcome::Applied(state_of(out.attributes()))),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Outcome::Conflict(state_of(c.item())))
                }
                _ => Err(Error::Metrics {
                    item: format!("{} {}", u.partition_key, u.window),
                    source: Box::new(aws_sdk_dynamodb::Error::from(err)),
                }),
            },
        }
    }
}

/// Builds the processor from the environment: configuration first (all problems at once),
/// then one SDK config and both clients. `AWS_ENDPOINT_URL` and friends work as usual.
pub async fn processor_from_env() -> Result<Processor<S3Archive, DynamoMetrics>, Error> {
    let config = Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    let s3_conf = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(std::env::var("AWS_ENDPOINT_URL").is_ok())
        .build();
    let archive = S3Archive {
        client: aws_sdk_s3::Client::from_conf(s3_conf),
        bucket: config.bucket.clone(),
    };
    let metrics = DynamoMetrics {
        client: aws_sdk_dynamodb::Client::new(&sdk),
        table: config.table.clone(),
    };
    Ok(Processor::new(config, archive, metrics))
}

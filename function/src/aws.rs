//! AWS SDK adapters for the archive and metrics stores, built once per container.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_s3::primitives::ByteStream;

use crate::archive::{ArchiveDelete, ArchiveReader, ArchiveStore};
use crate::error::BoxError;
use crate::handler::Processor;
use crate::store::{
    Av, Item, Malformed, MetricsStore, Outcome, Page, Write, attr, condition, last_sort_key,
};
use crate::{Config, Error};

/// The IAM actions these adapters call, per service (the stack's role must allow exactly
/// these; `tests/it/contract.rs` checks it).
pub mod actions {
    /// `S3Archive::put`.
    pub const S3: [&str; 1] = ["s3:PutObject"];
    /// The compactor's: `S3Archive::keys` (on the bucket), `get`, `put` and `delete` (on
    /// the archive prefixes).
    pub const COMPACTOR_BUCKET: [&str; 1] = ["s3:ListBucket"];
    pub const COMPACTOR_OBJECTS: [&str; 3] = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];
    /// `DynamoMetrics::put` and `DynamoMetrics::load`.
    pub const DYNAMODB: [&str; 2] = ["dynamodb:PutItem", "dynamodb:Query"];
}

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

fn read_failed(key: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::ArchiveRead {
        key: key.to_owned(),
        source: Box::new(e),
    }
}

impl ArchiveReader for S3Archive {
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| read_failed(prefix, aws_sdk_s3::Error::from(e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// One object's body; a failed `GetObject` keeps the SDK's `aws_sdk_s3::Error` as its
    /// source (an archived object is `InvalidObjectState`).
    async fn get(&self, key: &str) -> Result<Vec<u8>, Error> {
        let obj = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| read_failed(key, aws_sdk_s3::Error::from(e)))?;
        let body = obj.body.collect().await.map_err(|e| read_failed(key, e))?;
        Ok(body.into_bytes().to_vec())
    }
}

impl ArchiveDelete for S3Archive {
    /// `DeleteObjects` (up to 1,000 keys); a key S3 reports it could not delete is an error.
    async fn delete(&self, keys: &[String]) -> Result<(), Error> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let Some(first) = keys.first() else {
            return Ok(());
        };
        let failed = |source: BoxError| Error::Archive {
            key: first.clone(),
            source,
        };
        let objects = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| failed(Box::new(e)))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| failed(Box::new(e)))?;
        let out = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| failed(Box::new(aws_sdk_s3::Error::from(e))))?;
        if let Some(e) = out.errors().first() {
            return Err(Error::Archive {
                key: e.key().unwrap_or(first).to_owned(),
                source: format!(
                    "DeleteObjects: {} {}",
                    e.code().unwrap_or("error"),
                    e.message().unwrap_or_default()
                )
                .into(),
            });
        }
        Ok(())
    }
}

/// DynamoDB metrics table.
#[derive(Debug, Clone)]
pub struct DynamoMetrics {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

/// An item attribute value as the SDK sends it, moved (no string is copied).
pub fn into_attribute(v: Av) -> AttributeValue {
    match v {
        Av::S(s) => AttributeValue::S(s),
        Av::N(n) => AttributeValue::N(n),
        Av::B(b) => AttributeValue::B(Blob::new(b)),
        Av::Bool(b) => AttributeValue::Bool(b),
        Av::M(m) => AttributeValue::M(m.into_iter().map(|(k, v)| (k, into_attribute(v))).collect()),
    }
}

/// An item attribute value as the SDK sends it.
pub fn to_attribute(v: &Av) -> AttributeValue {
    into_attribute(v.clone())
}

/// An SDK attribute value as an item value; `None` when it, or any value inside it, is of
/// a type a page never holds (a list, a set, NULL).
pub fn from_attribute(v: &AttributeValue) -> Option<Av> {
    Some(match v {
        AttributeValue::S(s) => Av::S(s.clone()),
        AttributeValue::N(n) => Av::N(n.clone()),
        AttributeValue::B(b) => Av::B(b.as_ref().to_vec()),
        AttributeValue::Bool(b) => Av::Bool(*b),
        AttributeValue::M(m) => Av::M(
            m.iter()
                .map(|(k, v)| from_attribute(v).map(|v| (k.clone(), v)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

/// Reads an SDK item as a page. An attribute of a type a page never holds is an error
/// naming it, never dropped: dropped, a malformed `marks` would read as no marks, and the
/// records it covers would be counted again.
pub fn page_of(item: &HashMap<String, AttributeValue>) -> Result<Page, Malformed> {
    let item: Item = item
        .iter()
        .map(|(k, v)| {
            from_attribute(v)
                .map(|v| (k.clone(), v))
                .ok_or_else(|| Malformed::attribute(k, "of a type a page holds (S, N, B, BOOL, M)"))
        })
        .collect::<Result<_, _>>()?;
    Page::from_item(&item)
}

/// Whether an SDK error is DynamoDB refusing the request as invalid (never transient).
fn refused<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    let meta = e.as_service_error()?;
    (meta.code() == Some("ValidationException"))
        .then(|| meta.message().unwrap_or("ValidationException").to_owned())
}

impl DynamoMetrics {
    /// The `PutItem` request for a page write (request shape is tested without network).
    pub fn request(&self, w: &Write) -> PutItemFluentBuilder {
        let item: HashMap<String, AttributeValue> = w
            .page
            .to_item()
            .into_iter()
            .map(|(k, v)| (k, into_attribute(v)))
            .collect();
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition(w))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match w.expected {
            Some(v) => req
                .expression_attribute_names("#v", attr::VERSION)
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
            None => req.expression_attribute_names("#pk", attr::PARTITION_KEY),
        }
    }
}

impl MetricsStore for DynamoMetrics {
    async fn put(&self, w: &Write) -> Result<Outcome, Error> {
        let name = || format!("{} {}", w.page.entity, w.page.sort_key());
        match self.request(w).send().await {
            Ok(_) => Ok(Outcome::Applied),
            Err(err) => {
                if let Some(PutItemError::ConditionalCheckFailedException(c)) =
                    err.as_service_error()
                {
                    let current = c.item().map(page_of).transpose().map(|p| p.map(Box::new));
                    return current.map(Outcome::Conflict).map_err(|e| Error::Metrics {
                        item: name(),
                        source: e.into(),
                    });
                }
                if let Some(message) = refused(&err) {
                    return Err(Error::MetricsRejected {
                        item: name(),
                        message,
                    });
                }
                Err(Error::Metrics {
                    item: name(),
                    source: Box::new(aws_sdk_dynamodb::Error::from(err)),
                })
            }
        }
    }

    async fn load(&self, entity: &str, window: &str) -> Result<Vec<Page>, Error> {
        let mut pages = self.pages_between(entity, window, window).await?;
        pages.sort_by_key(|p| p.index);
        Ok(pages)
    }
}

impl DynamoMetrics {
    /// Every page of `entity`'s windows from `from` through `to` (window labels, inclusive),
    /// in sort-key order; strongly consistent.
    pub async fn pages_between(
        &self,
        entity: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<Page>, Error> {
        let failed = |source: BoxError| Error::Metrics {
            item: format!("{entity} {from}..={to}"),
            source,
        };
        let mut items = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", attr::PARTITION_KEY)
            .expression_attribute_names("#sk", attr::SORT_KEY)
            .expression_attribute_values(":pk", AttributeValue::S(entity.to_owned()))
            .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
            .expression_attribute_values(":to", AttributeValue::S(last_sort_key(to)))
            .into_paginator()
            .items()
            .send();
        let mut pages = Vec::new();
        while let Some(item) = items.next().await {
            let item = item.map_err(|e| failed(Box::new(aws_sdk_dynamodb::Error::from(e))))?;
            pages.push(page_of(&item).map_err(|e| failed(e.into()))?);
        }
        Ok(pages)
    }
}

/// The S3 client the function's adapters use (path-style against an emulator endpoint).
fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let s3_conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(std::env::var("AWS_ENDPOINT_URL").is_ok())
        .build();
    aws_sdk_s3::Client::from_conf(s3_conf)
}

/// Builds the compactor from the environment.
pub async fn compactor_from_env() -> Result<crate::compact::Compactor<S3Archive>, Error> {
    let config = crate::config::compactor::CompactConfig::from_env()?;
    let bucket = S3Archive {
        client: s3_client(&aws_config::load_from_env().await),
        bucket: config.bucket.clone(),
    };
    Ok(crate::compact::Compactor { config, bucket })
}

/// Builds the processor from the environment: configuration first (all problems at once),
/// then one SDK config and both clients. `AWS_ENDPOINT_URL` and friends work as usual.
pub async fn processor_from_env() -> Result<Processor<S3Archive, DynamoMetrics>, Error> {
    let config = Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    let archive = S3Archive {
        client: s3_client(&sdk),
        bucket: config.bucket.clone(),
    };
    let metrics = DynamoMetrics {
        client: aws_sdk_dynamodb::Client::new(&sdk),
        table: config.table.clone(),
    };
    Ok(Processor::new(config, archive, metrics))
}

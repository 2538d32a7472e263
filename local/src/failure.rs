//! Given-up batches kept in S3, as Lambda's S3 on-failure destination keeps them for a
//! Kinesis event source: key `aws/lambda/<ESM-UUID>/<shardId>/YYYY/MM/DD/
//! YYYY-MM-DDTHH.MM.SS-<uuid>`, body the invocation record (metadata plus `payload`, the
//! whole Kinesis event). One typed record for writing (the mapping) and reading (redrive).

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use crate::clients::Clients;
use crate::error::Error;

/// The prefix Lambda writes under (the bucket notification filters on it).
pub const PREFIX: &str = "aws/lambda/";

/// Why Lambda gave up on a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// `maximumRetryAttempts` retries failed.
    RetryAttemptsExhausted,
    /// Records passed `maximumRecordAgeInSeconds` before they could be processed.
    RecordAgeExceeded,
}

/// `requestContext` of an invocation record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    pub request_id: String,
    pub function_arn: String,
    pub condition: Condition,
    pub approximate_invoke_count: u32,
}

/// `responseContext` of an invocation record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseContext {
    pub status_code: u16,
    pub executed_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_error: Option<String>,
}

/// `KinesisBatchInfo` of an invocation record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    pub approximate_arrival_of_first_record: String,
    pub approximate_arrival_of_last_record: String,
    pub batch_size: usize,
    pub stream_arn: String,
}

/// One given-up batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    pub request_context: RequestContext,
    pub response_context: ResponseContext,
    pub version: String,
    pub timestamp: String,
    #[serde(rename = "KinesisBatchInfo")]
    pub batch: BatchInfo,
    /// The invocation's event: every Kinesis record of the batch.
    pub payload: KinesisEvent,
}

/// The object key of a batch given up at `now_ms` on `shard`.
pub fn key(esm_uuid: &str, shard: &str, now_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    format!(
        "{PREFIX}{esm_uuid}/{shard}/{}/{}-{:016x}{:016x}",
        t.format("%Y/%m/%d"),
        t.format("%Y-%m-%dT%H.%M.%S"),
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

/// Writes a failure record; returns its key.
pub async fn put(
    c: &Clients,
    bucket: &str,
    esm_uuid: &str,
    now_ms: i64,
    record: &FailureRecord,
) -> Result<String, Error> {
    let key = key(esm_uuid, &record.batch.shard_id, now_ms);
    let body = serde_json::to_vec(record).map_err(|e| Error::Runtime(e.to_string()))?;
    c.s3.put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(Error::aws("s3:PutObject"))?;
    Ok(key)
}

/// Keys of every kept batch, oldest first.
pub async fn list(c: &Clients, bucket: &str) -> Result<Vec<String>, Error> {
    use function::recover::ArchiveReader;
    let reader = crate::archive::S3Reader {
        client: c.s3.clone(),
        bucket: bucket.to_owned(),
    };
    let mut keys = reader.keys(PREFIX).await.map_err(|e| Error::Aws {
        call: "s3:ListObjectsV2",
        source: Box::new(e),
    })?;
    keys.sort_by(|a, b| timestamp_of(a).cmp(timestamp_of(b)).then(a.cmp(b)));
    Ok(keys)
}

/// The `YYYY-MM-DDTHH.MM.SS` part of a key (keys of different shards sort by it).
fn timestamp_of(key: &str) -> &str {
    key.rsplit('/')
        .next()
        .map_or("", |name| name.get(..19).unwrap_or(name))
}

/// Reads one kept batch.
pub async fn get(c: &Clients, bucket: &str, key: &str) -> Result<FailureRecord, Error> {
    let obj =
        c.s3.get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(Error::aws("s3:GetObject"))?;
    let body = obj
        .body
        .collect()
        .await
        .map_err(|e| Error::Runtime(format!("{key}: {e}")))?
        .into_bytes();
    serde_json::from_slice(&body)
        .map_err(|e| Error::Item(format!("{key} is not a failure record: {e}")))
}

/// Deletes a kept batch (after all of its records are counted).
pub async fn delete(c: &Clients, bucket: &str, key: &str) -> Result<(), Error> {
    c.s3.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(Error::aws("s3:DeleteObject"))?;
    Ok(())
}

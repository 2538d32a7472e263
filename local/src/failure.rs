//! Given-up batches kept in S3, as Lambda's S3 on-failure destination keeps them for a
//! Kinesis event source: key `aws/lambda/<ESM-UUID>/<shardId>/YYYY/MM/DD/
//! YYYY-MM-DDTHH.MM.SS-<uuid>`, body the invocation record: the metadata of the Lambda
//! developer guide's example, plus `payload`, "the original invocation record as an escaped
//! JSON string". One typed record for writing (the local mapping) and reading (redrive),
//! checked both ways against a fixture built from the guide's example
//! (`local/fixtures/on-failure-s3-kinesis.json`).

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
    /// The last invocation's response: absent when the function was never invoked (records
    /// that expired before their first invocation, `approximateInvokeCount` 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_context: Option<ResponseContext>,
    pub version: String,
    pub timestamp: String,
    #[serde(rename = "KinesisBatchInfo")]
    pub batch: BatchInfo,
    /// The invocation's event, as the JSON text the function was invoked with (Lambda
    /// writes it as an escaped JSON string). Kept as text: a typed event would not write
    /// back the fields it does not read.
    #[serde(with = "payload_text")]
    pub payload: String,
}

/// `payload` as Lambda writes it: an escaped JSON string. A payload written as an object
/// (by local stacks before this layout) is read too, as its JSON text, so batches kept by
/// an earlier version can still be redriven; nothing writes one.
mod payload_text {
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(text) => Ok(text),
            v @ serde_json::Value::Object(_) => Ok(v.to_string()),
            other => Err(de::Error::custom(format!(
                "payload is neither an escaped JSON string nor an object: {other}"
            ))),
        }
    }
}

/// One Kinesis record of a kept batch's payload: what redrive needs, read strictly.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptRecord {
    pub sequence_number: String,
    pub partition_key: String,
    pub data: Vec<u8>,
    /// `approximateArrivalTimestamp` (epoch seconds with a fraction) in milliseconds.
    pub arrival_ms: i64,
}

impl FailureRecord {
    /// The payload's records, in order. An error names what is missing or malformed.
    pub fn records(&self) -> Result<Vec<KeptRecord>, Error> {
        let bad = |what: String| Error::KeptBatch(format!("payload: {what}"));
        let event: function::event::KinesisEvent = serde_json::from_str(&self.payload)
            .map_err(|e| bad(format!("not a Kinesis event: {e}")))?;
        Ok(event
            .records
            .into_iter()
            .map(|r| KeptRecord {
                arrival_ms: r.kinesis.arrival_ms,
                sequence_number: r.kinesis.sequence_number,
                partition_key: r.kinesis.partition_key,
                data: r.kinesis.data,
            })
            .collect())
    }
}

/// A random (version 4) UUID, as Lambda ends its object keys with.
fn uuid_v4(a: u64, b: u64) -> String {
    let a = (a & !0xf000) | 0x4000; // version 4
    let b = (b & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// The object key of a batch given up at `now_ms` on `shard`.
pub fn key(esm_uuid: &str, shard: &str, now_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    format!(
        "{PREFIX}{esm_uuid}/{shard}/{}/{}-{}",
        t.format("%Y/%m/%d"),
        t.format("%Y-%m-%dT%H.%M.%S"),
        uuid_v4(fastrand::u64(..), fastrand::u64(..))
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
    let body = serde_json::to_vec(record).map_err(Error::json("the invocation record"))?;
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
    use function::archive::ArchiveReader;
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
pub fn timestamp_of(key: &str) -> &str {
    key.rsplit('/')
        .next()
        .map_or("", |name| name.get(..19).unwrap_or(name))
}

/// When a kept batch was written, in milliseconds, from its key (second resolution).
pub fn kept_at_ms(key: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(timestamp_of(key), "%Y-%m-%dT%H.%M.%S")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
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
        .map_err(|e| Error::Aws {
            call: "s3:GetObject",
            source: Box::new(e),
        })?
        .into_bytes();
    serde_json::from_slice(&body)
        .map_err(|e| Error::KeptBatch(format!("{key} is not a failure record: {e}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The Lambda developer guide's example invocation record for a Kinesis stream, with
    /// the S3 destination's `payload` (an escaped JSON string of a two-record event).
    const GUIDE: &str = include_str!("../fixtures/on-failure-s3-kinesis.json");

    #[test]
    fn the_guides_record_reads_and_writes_back_the_same() {
        let r: FailureRecord = serde_json::from_str(GUIDE).expect("the guide's record reads");
        assert_eq!(
            r.request_context.condition,
            Condition::RetryAttemptsExhausted
        );
        assert_eq!(r.batch.shard_id, "shardId-000000000001");
        assert_eq!(r.batch.batch_size, 500);
        assert_eq!(
            r.response_context
                .as_ref()
                .and_then(|c| c.function_error.as_deref()),
            Some("Unhandled")
        );
        let recs = r.records().expect("the payload's records");
        assert_eq!(recs.len(), 2);
        assert_eq!(
            recs[0].sequence_number,
            "49601189658422359378836298521827638475320189012309704722"
        );
        assert_eq!(recs[0].partition_key, "sensor-001");
        assert_eq!(
            recs[0].data,
            br#"{"sensorId":"sensor-001","temperature":21.5}"#
        );
        // 1573691885.58: two fraction digits are 580 ms, not 58.
        assert_eq!(recs[1].arrival_ms, 1_573_691_885_580);
        // Written back: the same document, payload still an escaped JSON string.
        let written = serde_json::to_value(&r).expect("writes");
        let original: serde_json::Value = serde_json::from_str(GUIDE).expect("json");
        assert!(written["payload"].is_string(), "{written}");
        let payload = |v: &serde_json::Value| -> serde_json::Value {
            serde_json::from_str(v["payload"].as_str().expect("a string")).expect("json text")
        };
        assert_eq!(payload(&written), payload(&original));
        let strip = |mut v: serde_json::Value| {
            v.as_object_mut().map(|o| o.remove("payload"));
            v
        };
        assert_eq!(strip(written), strip(original));
    }

    #[test]
    fn a_payload_object_from_an_earlier_version_reads_and_anything_else_is_refused() {
        let mut v: serde_json::Value = serde_json::from_str(GUIDE).expect("json");
        let event: serde_json::Value =
            serde_json::from_str(v["payload"].as_str().expect("string")).expect("event");
        v["payload"] = event;
        let r: FailureRecord = serde_json::from_value(v.clone()).expect("an object reads");
        assert_eq!(r.records().expect("records").len(), 2);
        v["payload"] = serde_json::json!(42);
        let e = serde_json::from_value::<FailureRecord>(v.clone()).expect_err("refused");
        assert!(e.to_string().contains("payload"), "{e}");
        for bad in ["not json", r#"{"Records":[{"kinesis":{}}]}"#] {
            v["payload"] = bad.into();
            let r: FailureRecord = serde_json::from_value(v.clone()).expect("a string reads");
            let e = r.records().expect_err("but its records do not");
            assert!(e.to_string().contains("kept batch: payload"), "{e}");
        }
    }

    #[test]
    fn a_record_never_invoked_has_no_response_context() {
        let mut v: serde_json::Value = serde_json::from_str(GUIDE).expect("json");
        v.as_object_mut().map(|o| o.remove("responseContext"));
        v["requestContext"]["condition"] = "RecordAgeExceeded".into();
        v["requestContext"]["approximateInvokeCount"] = 0.into();
        let r: FailureRecord = serde_json::from_value(v).expect("reads");
        assert_eq!(r.response_context, None);
        let back = serde_json::to_value(&r).expect("writes");
        assert!(back.get("responseContext").is_none(), "{back}");
    }

    #[test]
    fn keys_follow_lambdas_layout() {
        // 2019-11-14T00:38:06.021Z, the guide's timestamp.
        let k = key("esm-uuid", "shardId-000000000001", 1_573_691_886_021);
        let rest = k
            .strip_prefix(
                "aws/lambda/esm-uuid/shardId-000000000001/2019/11/14/2019-11-14T00.38.06-",
            )
            .unwrap_or_else(|| panic!("{k}"));
        let groups: Vec<usize> = rest.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{rest}");
        assert!(
            rest.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
            "{rest}"
        );
        assert_eq!(&rest[14..15], "4", "version 4: {rest}");
        assert!("89ab".contains(&rest[19..20]), "RFC 4122 variant: {rest}");
        assert_eq!(timestamp_of(&k), "2019-11-14T00.38.06");
    }
}

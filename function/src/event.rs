//! Kinesis events as Lambda delivers them: the type the handler reads, and the one builder
//! the local mapping, the cost model, the tests and the benches share.
//!
//! The type is the project's own, not `aws_lambda_events`' (1.2.1): that one reads
//! `approximateArrivalTimestamp` `1573691885.58` as `…885.058` (the digits after the point
//! taken as milliseconds, so `.5` is 5 ms), and refuses more than three of them. Lambda
//! writes the number as short as it goes (the Lambda guide's own example has `.58`), so one
//! arrival in ten would be read up to 0.9 s early.

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

/// A Kinesis event: the fields the function reads (others are ignored).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct KinesisEvent {
    #[serde(rename = "Records")]
    pub records: Vec<KinesisEventRecord>,
}

/// One record of the event.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct KinesisEventRecord {
    /// `<shardId>:<sequenceNumber>`.
    #[serde(rename = "eventID", default)]
    pub event_id: Option<String>,
    pub kinesis: KinesisRecord,
}

/// The Kinesis record itself.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecord {
    pub partition_key: String,
    pub sequence_number: String,
    /// The record's bytes (base64 in the event).
    #[serde(deserialize_with = "from_base64", serialize_with = "to_base64")]
    pub data: Vec<u8>,
    /// `approximateArrivalTimestamp` (epoch seconds with a fraction), in milliseconds.
    #[serde(
        rename = "approximateArrivalTimestamp",
        deserialize_with = "from_seconds",
        serialize_with = "to_seconds"
    )]
    pub arrival_ms: i64,
}

fn from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(serde::de::Error::custom)
}

fn to_base64<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
}

/// Seconds as a JSON number (or text) to milliseconds, rounded: `1573691885.58` is
/// `1573691885580` (an `f64` holds epoch milliseconds exactly for millennia).
fn from_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(f64),
        Text(String),
    }
    let secs = match Seconds::deserialize(d)? {
        Seconds::Number(n) => n,
        Seconds::Text(t) => t.trim().parse().map_err(serde::de::Error::custom)?,
    };
    if !secs.is_finite() || secs.abs() > 1e13 {
        return Err(serde::de::Error::custom(format!(
            "approximateArrivalTimestamp {secs} is not epoch seconds"
        )));
    }
    Ok((secs * 1000.0).round() as i64)
}

fn to_seconds<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*ms as f64 / 1000.0)
}

/// What Lambda puts beside every record of one mapping.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub region: &'a str,
    pub stream_arn: &'a str,
    /// The mapping's execution role (`invokeIdentityArn`).
    pub role_arn: &'a str,
}

impl Source<'static> {
    /// A stream in a made-up account, for tests and benches.
    pub const EXAMPLE: Source<'static> = Source {
        region: "us-east-1",
        stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/s",
        role_arn: "arn:aws:iam::123456789012:role/lambda-role",
    };
}

/// One Kinesis record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub shard: &'a str,
    pub seq: &'a str,
    pub partition_key: &'a str,
    pub data: &'a [u8],
    pub arrival_ms: i64,
}

/// One record as the event's `Records` array holds it.
pub fn record_json(src: &Source<'_>, r: &Record<'_>) -> Value {
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": r.partition_key,
            "sequenceNumber": r.seq,
            "data": base64::engine::general_purpose::STANDARD.encode(r.data),
            "approximateArrivalTimestamp": r.arrival_ms as f64 / 1000.0,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("{}:{}", r.shard, r.seq),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": src.role_arn,
        "awsRegion": src.region,
        "eventSourceARN": src.stream_arn,
    })
}

/// The event's JSON: `{"Records": [...]}`.
pub fn event_json<'r>(src: &Source<'_>, records: impl IntoIterator<Item = Record<'r>>) -> Value {
    let records: Vec<Value> = records.into_iter().map(|r| record_json(src, &r)).collect();
    json!({ "Records": records })
}

/// The event as the handler's type.
pub fn event<'r>(
    src: &Source<'_>,
    records: impl IntoIterator<Item = Record<'r>>,
) -> Result<KinesisEvent, serde_json::Error> {
    serde_json::from_value(event_json(src, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_event_reads_back_as_lambda_delivers_it() {
        let r = Record {
            shard: "shardId-000000000001",
            seq: "49590338271490256608559692538361571095921575989136588898",
            partition_key: "sensor-001",
            data: br#"{"t":1}"#,
            arrival_ms: 1_573_691_885_580,
        };
        let e = event(&Source::EXAMPLE, [r]).expect("an event");
        let k = &e.records[0];
        assert_eq!(
            k.event_id.as_deref(),
            Some("shardId-000000000001:49590338271490256608559692538361571095921575989136588898")
        );
        assert_eq!(k.kinesis.partition_key, "sensor-001");
        assert_eq!(k.kinesis.data, br#"{"t":1}"#);
        assert_eq!(k.kinesis.arrival_ms, 1_573_691_885_580);
        // Written back and read again: the same event.
        let again: KinesisEvent =
            serde_json::from_value(serde_json::to_value(&e).expect("json")).expect("reads");
        assert_eq!(again, e);
    }

    #[test]
    fn arrival_times_read_as_the_numbers_they_are() {
        for (text, ms) in [
            ("1573691885.58", 1_573_691_885_580),
            ("1573691885.5", 1_573_691_885_500),
            ("1573691885.058", 1_573_691_885_058),
            ("1573691885.987", 1_573_691_885_987),
            ("1573691885", 1_573_691_885_000),
            ("1573691885.1234", 1_573_691_885_123),
            ("\"1573691885.58\"", 1_573_691_885_580),
        ] {
            let json = format!(
                r#"{{"partitionKey":"k","sequenceNumber":"1","data":"","approximateArrivalTimestamp":{text}}}"#
            );
            let r: KinesisRecord = serde_json::from_str(&json).expect(text);
            assert_eq!(r.arrival_ms, ms, "{text}");
        }
        for bad in ["\"soon\"", "1e300", "null"] {
            let json = format!(
                r#"{{"partitionKey":"k","sequenceNumber":"1","data":"","approximateArrivalTimestamp":{bad}}}"#
            );
            assert!(
                serde_json::from_str::<KinesisRecord>(&json).is_err(),
                "{bad}"
            );
        }
    }
}

//! A Kinesis event of the processor's input shape and the benches' function settings.

use aws_lambda_events::event::kinesis::KinesisEvent;
use base64::Engine;
use function::Config;
use serde_json::json;

use crate::mix;

/// A Kinesis event of `(partition key, data)` records on one shard, arriving at `T0_MS`.
pub fn event(records: &[(String, Vec<u8>)], first_seq: usize) -> KinesisEvent {
    let b64 = base64::engine::general_purpose::STANDARD;
    let recs: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(i, (pk, data))| {
            let seq = format!(
                "49568167373333333333333333333333333333333{:015}",
                first_seq + i
            );
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": pk,
                    "sequenceNumber": seq,
                    "data": b64.encode(data),
                    "approximateArrivalTimestamp": mix::T0_MS as f64 / 1000.0,
                },
                "eventSource": "aws:kinesis",
                "eventID": format!("shardId-000000000000:{seq}"),
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": recs })).unwrap_or_default()
}

pub fn config() -> Option<Config> {
    Config::from_vars(|k| match k {
        "ARCHIVE_BUCKET" => Some("archive".into()),
        "METRICS_TABLE" => Some("metrics".into()),
        // Event times are the shapes' own; do not fall back to the (fixed) arrival time.
        "MAX_PAST_AGE_SECONDS" => Some("3153600000".into()),
        "MAX_FUTURE_SKEW_SECONDS" => Some("31536000".into()),
        _ => None,
    })
    .ok()
}

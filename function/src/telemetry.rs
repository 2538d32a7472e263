//! Structured JSON logs and CloudWatch Embedded Metric Format lines.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::batch::Summary;

/// JSON logs to stdout, filtered by `RUST_LOG` (default `info`), one object per line with
/// `timestamp` (RFC 3339) and `level` at the top, as Lambda's JSON log format reads them
/// (`applicationLogLevel` filtering and level searches work on them), fields flattened.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .init();
}

/// The EMF metric counting records quarantined under `rejected/` (the stack alarms on it).
pub const REJECTED_METRIC: &str = "RecordsRejected";

/// The EMF metric counting shards of a batch whose records could not all be stored (S3 or
/// DynamoDB failing, or a permission missing): each is a `batchItemFailures` entry Lambda
/// retries. The stack alarms when it persists.
pub const ITEM_FAILURES_METRIC: &str = "BatchItemFailures";

/// The EMF document for one batch.
pub fn emf(namespace: &str, s: &Summary, elapsed: Duration, now_ms: u128) -> serde_json::Value {
    let timestamp = crate::store::iso_millis(i64::try_from(now_ms).unwrap_or(i64::MAX));
    json!({
        "timestamp": timestamp,
        "level": "INFO",
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[]],
                "Metrics": [
                    {"Name": "RecordsProcessed", "Unit": "Count"},
                    {"Name": REJECTED_METRIC, "Unit": "Count"},
                    {"Name": "DuplicatesSkipped", "Unit": "Count"},
                    {"Name": ITEM_FAILURES_METRIC, "Unit": "Count"},
                    {"Name": "BatchDuration", "Unit": "Milliseconds"},
                ],
            }],
        },
        "RecordsProcessed": s.counted,
        REJECTED_METRIC: s.rejected,
        "DuplicatesSkipped": s.duplicates,
        ITEM_FAILURES_METRIC: s.failed_shards,
        "BatchDuration": elapsed.as_secs_f64() * 1000.0,
    })
}

/// Logs the batch summary line and its EMF metrics.
pub fn batch_done(namespace: &str, s: &Summary, elapsed: Duration) {
    tracing::info!(
        kinesis_records = s.kinesis_records,
        user_records = s.user_records,
        counted = s.counted,
        rejected = s.rejected,
        duplicates = s.duplicates,
        control_messages = s.control_messages,
        time_fallbacks = s.time_fallbacks,
        id_fallbacks = s.id_fallbacks,
        refused = s.refused,
        objects = s.objects,
        items = s.items,
        pages_written = s.pages_written,
        conflicts = s.conflicts,
        queries = s.queries,
        failed_shards = s.failed_shards,
        duration_ms = elapsed.as_millis() as u64,
        "batch processed"
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    println!("{}", emf(namespace, s, elapsed, now));
}

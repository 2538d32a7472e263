//! Structured JSON logs and CloudWatch Embedded Metric Format lines.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::batch::Summary;

/// JSON logs to stdout, filtered by `RUST_LOG` (default `info`).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .without_time()
        .init();
}

/// The EMF document for one batch.
pub fn emf(namespace: &str, s: &Summary, elapsed: Duration, now_ms: u128) -> serde_json::Value {
    json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[]],
                "Metrics": [
                    {"Name": "RecordsProcessed", "Unit": "Count"},
                    {"Name": "RecordsRejected", "Unit": "Count"},
                    {"Name": "DuplicatesSkipped", "Unit": "Count"},
                    {"Name": "BatchDuration", "Unit": "Milliseconds"},
                ],
            }],
        },
        "RecordsProcessed": s.counted,
        "RecordsRejected": s.rejected,
        "DuplicatesSkipped": s.duplicates,
        "BatchDuration": elapsed.as_secs_f64() * 1000.0,
    })
}

/// Logs the batch summary line and its EMF metrics.
pub fn batch_done(namespace: &str, s: &Summary, elapsed: Duration) {
    tracing::info!(
        summary = %serde_json::to_string(s).unwrap_or_default(),
        duration_ms = elapsed.as_millis() as u64,
        "batch processed"
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    println!("{}", emf(namespace, s, elapsed, now));
}

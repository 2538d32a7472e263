//! A producer of sample IoT and clickstream records: `PutRecords` at a rate, retrying the
//! entries Kinesis rejects (throttling), with progress.

use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use indicatif::ProgressBar;
use serde_json::json;

use crate::clients::Clients;
use crate::error::Error;

/// One record to send: partition key and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub partition_key: String,
    pub data: Vec<u8>,
}

/// An access-denied answer to a put, explained (`None` for other errors).
fn denied(stream: &str, code: &str, message: &str) -> Option<Error> {
    let is_denied = code.contains("AccessDenied")
        || matches!(
            code,
            "KMSDisabledException" | "KMSNotFoundException" | "KMSInvalidStateException"
        );
    is_denied.then(|| Error::Denied {
        stream: stream.to_owned(),
        detail: format!("{code}: {message}"),
    })
}

/// `n` sample records: 70 % sensor readings, 30 % clickstream events, event times spread
/// over the last `spread_secs` before `now_ms`. Deterministic for a seed.
pub fn samples(n: usize, seed: u64, now_ms: i64, spread_secs: i64) -> Vec<Sample> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut next = move || rng.u64(..);
    (0..n)
        .map(|_| {
            let r = next();
            let t = now_ms - (r % (spread_secs.max(1) as u64 * 1000)) as i64;
            let ts = chrono::DateTime::from_timestamp_millis(t)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default();
            if r % 10 < 7 {
                let id = format!("sensor-{:03}", r % 8);
                let data = json!({
                    "sensorId": id,
                    "temperature": ((150 + (r >> 8) % 200) as f64) / 10.0,
                    "humidity": 30 + (r >> 16) % 60,
                    "timestamp": ts,
                });
                Sample {
                    partition_key: id,
                    data: data.to_string().into_bytes(),
                }
            } else {
                let id = format!("user-{}", r % 5);
                let event = ["page_view", "click", "add_to_cart"][((r >> 8) % 3) as usize];
                let data =
                    json!({ "userId": id, "event": event, "page": "/home", "timestamp": ts });
                Sample {
                    partition_key: id,
                    data: data.to_string().into_bytes(),
                }
            }
        })
        .collect()
}

/// What a send did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendReport {
    pub sent: u64,
    pub retried_entries: u64,
    pub elapsed: Duration,
}

/// Sends `records` to `stream` at about `rate` records/s (0 = as fast as possible),
/// in `PutRecords` calls of at most 500, retrying failed entries with backoff.
pub async fn send(
    c: &Clients,
    stream: &str,
    records: &[Sample],
    rate: u64,
    progress: Option<&ProgressBar>,
) -> Result<SendReport, Error> {
    let started = Instant::now();
    let mut report = SendReport::default();
    let chunk = if rate == 0 {
        500
    } else {
        (rate as usize / 10).clamp(1, 500)
    };
    for (i, part) in records.chunks(chunk).enumerate() {
        if rate > 0 {
            let due = Duration::from_secs_f64((i * chunk) as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        let mut pending: Vec<PutRecordsRequestEntry> = part
            .iter()
            .map(|s| {
                PutRecordsRequestEntry::builder()
                    .partition_key(&s.partition_key)
                    .data(Blob::new(s.data.clone()))
                    .build()
                    .map_err(Error::aws("kinesis:PutRecords"))
            })
            .collect::<Result<_, _>>()?;
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let out = c
                .kinesis
                .put_records()
                .stream_name(stream)
                .set_records(Some(pending.clone()))
                .send()
                .await
                .map_err(|e| {
                    use aws_sdk_kinesis::error::ProvideErrorMetadata;
                    let code = e
                        .as_service_error()
                        .and_then(|s| s.code())
                        .unwrap_or_default();
                    let message = e
                        .as_service_error()
                        .and_then(|s| s.message())
                        .unwrap_or_default()
                        .to_owned();
                    denied(stream, code, &message)
                        .unwrap_or_else(|| Error::aws("kinesis:PutRecords")(e))
                })?;
            // A per-record denial (the stream's KMS key) will not pass on a retry.
            if let Some(e) = out.records().iter().find_map(|r| {
                denied(
                    stream,
                    r.error_code().unwrap_or_default(),
                    r.error_message().unwrap_or_default(),
                )
            }) {
                return Err(e);
            }
            let failed: Vec<PutRecordsRequestEntry> = out
                .records()
                .iter()
                .zip(&pending)
                .filter(|(r, _)| r.error_code().is_some())
                .map(|(_, e)| e.clone())
                .collect();
            let ok = pending.len() - failed.len();
            report.sent += ok as u64;
            if let Some(p) = progress {
                p.inc(ok as u64);
            }
            if !failed.is_empty() {
                report.retried_entries += failed.len() as u64;
                attempt += 1;
                if attempt > 20 {
                    return Err(Error::Aws {
                        call: "kinesis:PutRecords",
                        source: format!("{} entries still rejected after 20 retries", failed.len())
                            .into(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt.min(10)))).await;
            }
            pending = failed;
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_is_explained_in_terms_of_producer_permissions() {
        for code in [
            "AccessDeniedException",
            "KMSAccessDeniedException",
            "KMSDisabledException",
        ] {
            let e = denied("s", code, "User is not authorized").expect("explained");
            let text = e.to_string();
            assert!(text.contains("kinesis:PutRecords") && text.contains("kms:GenerateDataKey"));
            assert!(text.contains(code) && text.contains("User is not authorized"));
        }
        assert!(denied("s", "ProvisionedThroughputExceededException", "slow down").is_none());
        assert!(denied("s", "", "").is_none());
    }
}

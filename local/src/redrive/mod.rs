//! Redrive, for the local and the deployed stack alike: every batch kept in the failed-batches
//! bucket is invoked again (through an [`Invoker`]: the local execution environment, or the
//! deployed function through `lambda:Invoke`), then the pages holding its records' domains
//! are rebuilt from the archive (`function::recover`), then the kept object is deleted. It
//! reads nothing from the stream, so it works after the stream's retention has passed.
//!
//! Killed at any point and run again, it is exact: invoking again is idempotent (marks),
//! recovery rebuilds pages from the archive, and the object is deleted only after both.
//! A batch kept past its counting deadline is not invoked ([`expired`]).

pub mod expired;

use std::future::Future;
use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use function::event::KinesisEvent;
use serde::Serialize;

use crate::clients::Clients;
use crate::error::Error;
use crate::failure::{self, FailureRecord};
use crate::response::{self, BatchResponse};
pub use expired::Expired;

/// How redrive reaches the function.
pub trait Invoker {
    /// Invokes the function once with `event` (a Kinesis event of records of `shard`).
    /// `Ok`: its response; `Err`: why the invocation failed (a function error, a timeout,
    /// a throttle, a refused call).
    fn invoke(
        &mut self,
        shard: &str,
        event: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + Send;
}

/// What a redrive did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Redrive {
    /// Kept batches whose records were all counted (and whose objects were deleted).
    pub batches: u64,
    pub records: u64,
    /// Kept batches left in the bucket, each with why (it failed again, or recovery could
    /// not read the archive: an object in GLACIER names the restore command).
    pub still_failing: Vec<(String, String)>,
    /// Kept objects that are not a readable invocation record (left in the bucket, each
    /// with the reason; the others are redriven all the same).
    pub unreadable: Vec<(String, String)>,
    /// Metrics pages rebuilt from the archive, and records they count that they did not.
    pub pages_rebuilt: u64,
    pub recounted: u64,
    /// Kept batches past their counting deadline moved to `rejected/` uncounted
    /// (`--expired quarantine`), and their records.
    pub quarantined: u64,
    pub quarantined_records: u64,
    /// Whether the bucket was left empty and the kept-batches alarm set OK.
    pub alarm_cleared: bool,
}

impl Redrive {
    /// Kept batches still waiting after this redrive.
    pub fn waiting(&self) -> usize {
        self.still_failing.len() + self.unreadable.len()
    }
}

/// A kept batch, read: its invocation record and the payload's records as Lambda wrote them.
#[derive(Debug, Clone)]
pub struct Kept {
    pub key: String,
    pub record: FailureRecord,
    /// The payload's `Records`, verbatim (a retry sends the rest of them unchanged).
    pub records: Vec<serde_json::Value>,
    pub seqs: Vec<String>,
    /// When its oldest record arrived (none for an empty batch).
    pub first_arrival_ms: Option<i64>,
}

impl Kept {
    /// Reads a kept object's invocation record; an error says what is wrong with it.
    pub fn of(key: &str, record: FailureRecord) -> Result<Self, Error> {
        // The strict reading first: every record has what redrive needs.
        let strict = record.records()?;
        let mut event: serde_json::Value = serde_json::from_str(&record.payload)
            .map_err(|e| Error::KeptBatch(format!("payload: {e}")))?;
        let records = match event.get_mut("Records").map(serde_json::Value::take) {
            Some(serde_json::Value::Array(r)) => r,
            _ => return Err(Error::KeptBatch("payload: no Records array".into())),
        };
        Ok(Self {
            key: key.to_owned(),
            first_arrival_ms: strict.iter().map(|r| r.arrival_ms).min(),
            seqs: strict.into_iter().map(|r| r.sequence_number).collect(),
            record,
            records,
        })
    }

    pub fn shard(&self) -> &str {
        &self.record.batch.shard_id
    }

    /// The Kinesis event of records `from..`.
    fn event(&self, from: usize) -> Vec<u8> {
        serde_json::json!({ "Records": &self.records[from..] })
            .to_string()
            .into_bytes()
    }

    /// The whole batch as the function's event type (what recovery reads).
    fn kinesis_event(&self) -> Result<KinesisEvent, Error> {
        serde_json::from_slice(&self.event(0))
            .map_err(|e| Error::KeptBatch(format!("payload: not a Kinesis event: {e}")))
    }
}

/// Where redrive reads and writes: the failed-batches bucket, the archive and the table
/// (named by the function's own settings).
#[derive(Debug)]
pub struct Stores<'a> {
    pub clients: &'a Clients,
    pub failed_bucket: &'a str,
    pub cfg: &'a function::Config,
    /// The kept-batches alarm, set OK once a redrive leaves the bucket empty.
    pub kept_alarm: &'a str,
}

impl Stores<'_> {
    /// Every kept batch, oldest first; an object that cannot be read is returned as the
    /// reason, with its key.
    pub async fn kept(&self) -> Result<Vec<Result<Kept, (String, String)>>, Error> {
        let mut out = Vec::new();
        for key in failure::list(self.clients, self.failed_bucket).await? {
            let read = failure::get(self.clients, self.failed_bucket, &key)
                .await
                .and_then(|r| Kept::of(&key, r));
            out.push(read.map_err(|e| (key, crate::error::text(&e))));
        }
        Ok(out)
    }

    fn archive(&self) -> crate::archive::S3Reader {
        crate::archive::S3Reader {
            client: self.clients.s3.clone(),
            bucket: self.cfg.bucket.clone(),
        }
    }

    fn metrics(&self) -> function::aws::DynamoMetrics {
        function::aws::DynamoMetrics {
            client: self.clients.dynamodb.clone(),
            table: self.cfg.table.clone(),
        }
    }
}

/// Redrives every kept batch, oldest first: invokes the function with its records (which
/// archives them and counts those past their marks; a partial response retries the rest,
/// a failed invocation is retried up to `retries` times), rebuilds from the archive every
/// page holding their (shard, partition key) domains (exact even when newer records of the
/// same keys were counted meanwhile), and deletes the object after that. A batch past its
/// counting deadline is never invoked: `expired` says whether it stays or is quarantined.
pub async fn redrive<I: Invoker>(
    stores: &Stores<'_>,
    function: &mut I,
    retries: u32,
    expired: Expired,
) -> Result<Redrive, Error> {
    let mut report = Redrive::default();
    let mut last_kept_ms = None;
    for kept in stores.kept().await? {
        let kept = match kept {
            Ok(k) => k,
            Err((key, reason)) => {
                tracing::error!(key, error = %reason, "a kept batch cannot be read; it stays in the bucket");
                report.unreadable.push((key, reason));
                continue;
            }
        };
        last_kept_ms = last_kept_ms.max(failure::kept_at_ms(&kept.key));
        let now_ms = chrono::Utc::now().timestamp_millis();
        if let Some(reason) = expired::past_deadline(&kept, stores.cfg, now_ms) {
            if expired == Expired::Keep {
                tracing::warn!(key = kept.key, %reason, "a kept batch stays in the bucket");
                report.still_failing.push((kept.key.clone(), reason));
                continue;
            }
            let records = expired::quarantine(stores, &kept, &reason).await?;
            failure::delete(stores.clients, stores.failed_bucket, &kept.key).await?;
            tracing::warn!(key = kept.key, records, %reason, "a kept batch was quarantined");
            report.quarantined += 1;
            report.quarantined_records += records;
            continue;
        }
        match redrive_one(stores, function, retries, &kept).await {
            Ok(r) => {
                failure::delete(stores.clients, stores.failed_bucket, &kept.key).await?;
                report.batches += 1;
                report.records += kept.records.len() as u64;
                report.pages_rebuilt += r.pages;
                report.recounted += r.recounted;
            }
            Err(stays) => {
                let reason = crate::error::text(&stays);
                tracing::warn!(key = kept.key, %reason, "a kept batch stays in the bucket");
                report.still_failing.push((kept.key.clone(), reason));
            }
        }
    }
    report.alarm_cleared = clear_alarm_when_empty(stores, last_kept_ms).await?;
    Ok(report)
}

/// Sets the kept-batches alarm OK, if it is in ALARM, when no kept batch is left (listed
/// again: Lambda may have kept another meanwhile). The alarm ignores quiet minutes, so only
/// this clears it: an incident is announced once, and ends when the bucket is empty.
///
/// A batch kept less than the alarm's window ago still has its datapoint in that window,
/// and CloudWatch's next evaluation would raise the alarm again over an empty bucket: the
/// redrive waits until [`clear_after`] (at most the window and a minute).
async fn clear_alarm_when_empty(
    stores: &Stores<'_>,
    last_kept_ms: Option<i64>,
) -> Result<bool, Error> {
    let cw = &stores.clients.cloudwatch;
    let empty = || async {
        Ok::<_, Error>(
            failure::list(stores.clients, stores.failed_bucket)
                .await?
                .is_empty(),
        )
    };
    if !empty().await? {
        return Ok(false);
    }
    let described = cw
        .describe_alarms()
        .alarm_names(stores.kept_alarm)
        .send()
        .await
        .map_err(Error::aws("cloudwatch:DescribeAlarms"))?;
    let Some(alarm) = described
        .metric_alarms()
        .iter()
        .find(|a| a.state_value() == Some(&StateValue::Alarm))
    else {
        // Setting OK from INSUFFICIENT_DATA would announce an incident that never was.
        return Ok(false);
    };
    let window = i64::from(alarm.period().unwrap_or(60))
        * i64::from(alarm.evaluation_periods().unwrap_or(1));
    if let Some(at) = last_kept_ms.map(|t| clear_after(t, window)) {
        let wait = at - chrono::Utc::now().timestamp_millis();
        if wait > 0 {
            tracing::info!(
                seconds = wait / 1000 + 1,
                "waiting until the last kept batch's datapoint leaves the kept-batches alarm's window"
            );
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
            if !empty().await? {
                return Ok(false);
            }
        }
    }
    cw.set_alarm_state()
        .alarm_name(stores.kept_alarm)
        .state_value(StateValue::Ok)
        .state_reason("redrive: no kept batch left in the failed-batches bucket")
        .send()
        .await
        .map_err(Error::aws("cloudwatch:SetAlarmState"))?;
    Ok(true)
}

/// When an alarm of `window_s` seconds no longer sees a batch kept at `kept_ms`: the end of
/// the window that starts at the minute of the keep, plus a minute for CloudWatch to have
/// evaluated it.
pub fn clear_after(kept_ms: i64, window_s: i64) -> i64 {
    let minute = kept_ms - kept_ms.rem_euclid(60_000);
    minute + (window_s + 60) * 1000
}

/// One kept batch: invoked to the end, then recovered. `Err`: why it stays.
async fn redrive_one<I: Invoker>(
    stores: &Stores<'_>,
    function: &mut I,
    retries: u32,
    kept: &Kept,
) -> Result<function::recover::Recovery, Stays> {
    let seqs: Vec<&str> = kept.seqs.iter().map(String::as_str).collect();
    let mut from = 0;
    let mut failures = 0;
    while from < kept.records.len() {
        let failed = match function.invoke(kept.shard(), &kept.event(from)).await {
            Ok(body) => match response::read(&body, &seqs[from..]) {
                BatchResponse::Done => {
                    from = kept.records.len();
                    continue;
                }
                BatchResponse::FailedFrom(i) if i > 0 => {
                    from += i;
                    continue;
                }
                BatchResponse::FailedFrom(_) => format!("record {} failed again", seqs[from]),
                BatchResponse::Unparsable => {
                    format!("not a batch response: {}", String::from_utf8_lossy(&body))
                }
            },
            Err(e) => crate::error::text(&e),
        };
        failures += 1;
        if failures > retries {
            return Err(Stays::FailedAgain {
                times: failures,
                last: failed,
            });
        }
        tokio::time::sleep(Duration::from_millis(200 << failures.min(4))).await;
    }
    let event = kept.kinesis_event().map_err(Stays::Unreadable)?;
    let r =
        function::recover::recover_event(&stores.archive(), &stores.metrics(), stores.cfg, &event)
            .await
            .map_err(Stays::Recovery)?;
    if r.not_counted > 0 {
        return Err(Stays::NotCounted(r.not_counted));
    }
    Ok(r)
}

/// Why a kept batch stays in the bucket after a redrive.
#[derive(Debug, thiserror::Error)]
pub enum Stays {
    /// The function failed on it again, more often than the retries allow.
    #[error("the function failed {times} times: {last}")]
    FailedAgain { times: u32, last: String },
    /// Its payload is not a Kinesis event.
    #[error("{0}")]
    Unreadable(Error),
    /// Rebuilding its pages from the archive failed (an object in GLACIER names the
    /// restore command).
    #[error("recovery from the archive")]
    Recovery(#[source] function::Error),
    /// Records the rebuild still could not count.
    #[error("{0} records are still not counted after recovery")]
    NotCounted(u64),
}

/// One kept batch as `redrive --dry-run` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct KeptView {
    pub key: String,
    pub condition: failure::Condition,
    pub invocations: u32,
    pub shard: String,
    pub records: usize,
    pub first_sequence: String,
    pub last_sequence: String,
    pub first_arrival: String,
    pub last_arrival: String,
    /// What recovery would read and rewrite.
    pub rebuild: function::recover::Preview,
    /// Why it would not be invoked: past its counting deadline.
    pub past_deadline: Option<String>,
}

/// What a redrive would do, read-only: the kept batches, their records, and the pages and
/// archive hours their recovery would read.
pub async fn dry_run(stores: &Stores<'_>) -> Result<(Vec<KeptView>, Vec<(String, String)>), Error> {
    let mut views = Vec::new();
    let mut unreadable = Vec::new();
    for kept in stores.kept().await? {
        let kept = match kept {
            Ok(k) => k,
            Err(bad) => {
                unreadable.push(bad);
                continue;
            }
        };
        let event = kept.kinesis_event()?;
        let rebuild = function::recover::preview(&stores.metrics(), stores.cfg, &event)
            .await
            .map_err(Error::function("reading the table"))?;
        let b = &kept.record.batch;
        views.push(KeptView {
            key: kept.key.clone(),
            condition: kept.record.request_context.condition,
            invocations: kept.record.request_context.approximate_invoke_count,
            shard: b.shard_id.clone(),
            records: kept.records.len(),
            first_sequence: b.start_sequence_number.clone(),
            last_sequence: b.end_sequence_number.clone(),
            first_arrival: b.approximate_arrival_of_first_record.clone(),
            last_arrival: b.approximate_arrival_of_last_record.clone(),
            rebuild,
            past_deadline: expired::past_deadline(
                &kept,
                stores.cfg,
                chrono::Utc::now().timestamp_millis(),
            ),
        });
    }
    Ok((views, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alarm_is_cleared_once_the_kept_batch_left_its_window_and_was_evaluated() {
        let minute = 1_765_000_000_000 - 1_765_000_000_000 % 60_000;
        // Kept 50 s into a minute: that minute's datapoint, a 60 s window, a minute more.
        assert_eq!(clear_after(minute + 50_000, 60), minute + 120_000);
        // Kept at the minute's start: the same minute, the same time.
        assert_eq!(clear_after(minute, 60), minute + 120_000);
        // A wider window waits longer.
        assert_eq!(clear_after(minute + 1, 300), minute + 360_000);
        let key = "aws/lambda/u/shardId-000000000000/2026/12/06/2026-12-06T16.15.42-0a1b2c3d4e5f";
        assert_eq!(failure::kept_at_ms(key), Some(1_796_573_742_000));
        assert_eq!(failure::kept_at_ms("aws/lambda/not-a-time"), None);
    }
}

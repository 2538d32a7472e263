//! Lambda's Kinesis event source mapping, run locally against the emulator's stream:
//!
//! * per shard one reader; records go to `parallelizationFactor` lanes by partition-key
//!   hash, so one key's records stay in order in one lane;
//! * a lane gathers up to `batchSize` records within the batching window and invokes its
//!   own execution environment (the packaged `bootstrap`);
//! * a partial batch response checkpoints before the lowest reported record and retries
//!   from it; a function error, crash or timeout retries the batch, bisected when
//!   `bisectBatchOnFunctionError` is on; retries stop after `maximumRetryAttempts`;
//! * records older than `maximumRecordAgeInSeconds` are not sent; batches given up on go
//!   to the on-failure queue as Lambda's `KinesisBatchInfo` record;
//! * per-shard checkpoints (everything before them is done) are kept in a file and a
//!   restarted mapping resumes after them;
//! * Lambda's CloudWatch metrics (Invocations, Errors, Throttles, Duration, IteratorAge)
//!   are published to the emulator, so the stack's alarms fire.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_kinesis::types::ShardIteratorType;
use base64::Engine;
use function::position::SeqNo;
use serde_json::json;
use tokio::sync::{Mutex, mpsc};

use crate::clients::Clients;
use crate::deploy::{Deployed, MappingSpec};
use crate::error::Error;
use crate::failure::{self, BatchInfo, Condition, FailureRecord, RequestContext, ResponseContext};
use crate::runtime::{Environment, InvokeError};

mod redrive;
pub use redrive::{Redrive, redrive};

/// One record read from a shard.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec {
    pub seq: String,
    pub partition_key: String,
    pub data: Vec<u8>,
    pub arrival_ms: i64,
}

/// Counters of the running mapping (shared with `status`).
#[derive(Debug, Default)]
pub struct Stats {
    pub records_read: AtomicU64,
    pub records_done: AtomicU64,
    pub invocations: AtomicU64,
    pub function_errors: AtomicU64,
    pub partial_failures: AtomicU64,
    pub batches_failed: AtomicU64,
    pub records_expired: AtomicU64,
    pub iterator_age_ms: AtomicU64,
}

/// Checkpoints, per shard: the sequence number up to which every record is done.
#[derive(Debug)]
pub struct Checkpoints {
    path: PathBuf,
    done: Mutex<BTreeMap<String, String>>,
}

impl Checkpoints {
    /// Loads the checkpoint file (missing = no checkpoints; unreadable or corrupt = an
    /// error naming the file, never a silent restart from the stream's start).
    pub fn load(path: &Path) -> Result<Self, Error> {
        let done = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Io {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source: e,
                });
            }
        };
        Ok(Self {
            path: path.to_owned(),
            done: Mutex::new(done),
        })
    }

    /// The checkpoint of a shard.
    pub async fn get(&self, shard: &str) -> Option<String> {
        self.done.lock().await.get(shard).cloned()
    }

    async fn set(&self, shard: &str, seq: &str) {
        let mut d = self.done.lock().await;
        d.insert(shard.to_owned(), seq.to_owned());
        let saved = serde_json::to_string_pretty(&*d)
            .map_err(std::io::Error::other)
            .and_then(|text| {
                let tmp = self.path.with_extension("tmp");
                std::fs::write(&tmp, text)?;
                std::fs::rename(&tmp, &self.path)
            });
        if let Err(e) = saved {
            // The mapping goes on (the checkpoint is in memory); a restart would re-read
            // from the last saved one, which the marks make harmless.
            tracing::error!(path = %self.path.display(), error = %e, shard, "checkpoint not saved");
        }
    }
}

/// Records of one shard read but not yet done, in sequence order.
/// Records of one shard read but not yet done, in sequence order, each with the sequence
/// number exactly as the service wrote it (a checkpoint must be given back verbatim: the
/// emulator compares zero-padded sequence numbers as strings).
struct Progress {
    pending: BTreeMap<SeqNo, (String, bool)>,
}

impl Progress {
    fn read(&mut self, seq: &str) {
        if let Some(s) = SeqNo::parse(seq) {
            self.pending.insert(s, (seq.to_owned(), false));
        }
    }

    /// Marks records done; returns the new checkpoint if it moved.
    fn done(&mut self, seqs: &[&str]) -> Option<String> {
        for s in seqs {
            if let Some(n) = SeqNo::parse(s) {
                self.pending.insert(n, ((*s).to_owned(), true));
            }
        }
        let mut moved = None;
        while let Some(entry) = self.pending.first_entry() {
            if !entry.get().1 {
                break;
            }
            moved = Some(entry.remove().0);
        }
        moved
    }
}

/// What a lane needs.
struct Lane {
    spec: MappingSpec,
    stream_arn: String,
    function_arn: String,
    function_name: String,
    region: String,
    shard: String,
    clients: Clients,
    env: Environment,
    progress: Arc<Mutex<Progress>>,
    checkpoints: Arc<Checkpoints>,
    stats: Arc<Stats>,
    metrics: mpsc::UnboundedSender<MetricDatum>,
}

impl Lane {
    /// A lane of `shard` with its own execution environment logging to `log`.
    #[allow(clippy::too_many_arguments)]
    async fn new(
        clients: &Clients,
        deployed: &Deployed,
        shard: &str,
        bootstrap: &Path,
        extra_env: BTreeMap<String, String>,
        log: PathBuf,
        progress: Arc<Mutex<Progress>>,
        checkpoints: Arc<Checkpoints>,
        stats: Arc<Stats>,
        metrics: mpsc::UnboundedSender<MetricDatum>,
    ) -> Result<Self, Error> {
        Ok(Lane {
            spec: deployed.mapping.clone(),
            stream_arn: deployed.mapping.stream_arn.clone(),
            function_arn: deployed.function.arn.clone(),
            function_name: deployed.function.name.clone(),
            region: deployed.region.clone(),
            shard: shard.to_owned(),
            clients: clients.clone(),
            env: Environment::start(&deployed.function, bootstrap, extra_env, log).await?,
            progress,
            checkpoints,
            stats,
            metrics,
        })
    }
}

/// A running mapping; stops its tasks when dropped or stopped.
#[derive(Debug)]
pub struct Running {
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops reading and invoking (in-flight invocations are abandoned like a crash).
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in &self.tasks {
            t.abort();
        }
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn lane_of(partition_key: &str, lanes: usize) -> usize {
    // FNV-1a: stable across runs, so a key always maps to the same lane.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in partition_key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % lanes.max(1) as u64) as usize
}

/// Starts the mapping for `deployed`, running `bootstrap` with `extra_env` (endpoint and
/// credentials) on top of the function's own environment.
pub async fn start(
    clients: &Clients,
    deployed: &Deployed,
    bootstrap: &Path,
    extra_env: BTreeMap<String, String>,
    state_dir: &Path,
) -> Result<Running, Error> {
    let spec = deployed.mapping.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Stats::default());
    let checkpoints = Arc::new(Checkpoints::load(&state_dir.join("checkpoints.json"))?);
    let (metrics_tx, metrics_rx) = mpsc::unbounded_channel();
    let mut tasks = vec![tokio::spawn(publish_metrics(clients.clone(), metrics_rx))];
    let shards = clients
        .kinesis
        .list_shards()
        .stream_name(&spec.stream_name)
        .send()
        .await
        .map_err(Error::aws("kinesis:ListShards"))?;
    if shards.shards().is_empty() {
        return Err(Error::Deploy {
            resource: spec.stream_name.clone(),
            reason: "ListShards returned no shards".into(),
        });
    }
    let logs = state_dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(Error::io(&logs))?;
    for shard in shards.shards() {
        let shard_id = shard.shard_id().to_owned();
        let progress = Arc::new(Mutex::new(Progress {
            pending: BTreeMap::new(),
        }));
        let mut senders = Vec::new();
        for lane in 0..spec.parallelization_factor {
            let (tx, rx) = mpsc::channel::<Rec>(20_000);
            senders.push(tx);
            let lane = Lane::new(
                clients,
                deployed,
                &shard_id,
                bootstrap,
                extra_env.clone(),
                logs.join(format!("{shard_id}-lane{lane}.log")),
                progress.clone(),
                checkpoints.clone(),
                stats.clone(),
                metrics_tx.clone(),
            )
            .await?;
            tasks.push(tokio::spawn(run_lane(lane, rx, stop.clone())));
        }
        tasks.push(tokio::spawn(read_shard(
            clients.clone(),
            spec.clone(),
            shard_id,
            senders,
            progress,
            checkpoints.clone(),
            stats.clone(),
            stop.clone(),
        )));
    }
    Ok(Running { stats, stop, tasks })
}

#[allow(clippy::too_many_arguments)]
async fn read_shard(
    c: Clients,
    spec: MappingSpec,
    shard: String,
    lanes: Vec<mpsc::Sender<Rec>>,
    progress: Arc<Mutex<Progress>>,
    checkpoints: Arc<Checkpoints>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
) {
    let mut last_read = checkpoints.get(&shard).await;
    let mut iterator: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        if iterator.is_none() {
            let mut req = c
                .kinesis
                .get_shard_iterator()
                .stream_name(&spec.stream_name)
                .shard_id(&shard);
            req = match &last_read {
                Some(seq) => req
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .starting_sequence_number(seq),
                None if spec.trim_horizon => {
                    req.shard_iterator_type(ShardIteratorType::TrimHorizon)
                }
                None => req.shard_iterator_type(ShardIteratorType::Latest),
            };
            match req.send().await {
                Ok(o) => iterator = o.shard_iterator().map(str::to_owned),
                Err(e) => {
                    tracing::warn!(error = %e, shard, "GetShardIterator failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let Some(it) = iterator.clone() else {
            tracing::warn!(
                shard,
                ?last_read,
                "GetShardIterator returned no iterator; shard reader stops"
            );
            return;
        };
        let out = match c
            .kinesis
            .get_records()
            .shard_iterator(&it)
            .limit(10_000)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, shard, "GetRecords failed");
                iterator = None;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let records = out.records();
        for r in records {
            let rec = Rec {
                seq: r.sequence_number().to_owned(),
                partition_key: r.partition_key().unwrap_or_default().to_owned(),
                data: r.data().as_ref().to_vec(),
                arrival_ms: r
                    .approximate_arrival_timestamp()
                    .map(|t| t.to_millis().unwrap_or_else(|_| now_ms()))
                    .unwrap_or_else(now_ms),
            };
            progress.lock().await.read(&rec.seq);
            stats.records_read.fetch_add(1, Ordering::Relaxed);
            last_read = Some(rec.seq.clone());
            let lane = lane_of(&rec.partition_key, lanes.len());
            if lanes[lane].send(rec).await.is_err() {
                return;
            }
        }
        iterator = out.next_shard_iterator().map(str::to_owned);
        if iterator.is_none() {
            tracing::warn!(
                shard,
                ?last_read,
                "shard closed (no next iterator); shard reader stops"
            );
            return;
        }
        if records.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Lambda's synchronous invocation payload limit: a batch closes before passing it.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// `{"Records":[` … `]}`.
const EVENT_ENVELOPE_BYTES: usize = 14;

/// Gathers batches: up to `batchSize` records, within the batching window, and never past
/// the 6 MB payload (the record that does not fit opens the next batch).
async fn run_lane(mut lane: Lane, mut rx: mpsc::Receiver<Rec>, stop: Arc<AtomicBool>) {
    let window = Duration::from_secs(lane.spec.batching_window_secs);
    let mut carry: Option<Rec> = None;
    while !stop.load(Ordering::SeqCst) {
        let first = match carry.take() {
            Some(r) => r,
            None => match rx.recv().await {
                Some(r) => r,
                None => break,
            },
        };
        let mut bytes = EVENT_ENVELOPE_BYTES + lane.record_bytes(&first);
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + window;
        while batch.len() < lane.spec.batch_size {
            let next = if window.is_zero() {
                rx.try_recv().ok()
            } else {
                tokio::time::timeout_at(deadline, rx.recv())
                    .await
                    .ok()
                    .flatten()
            };
            let Some(r) = next else {
                break;
            };
            let b = lane.record_bytes(&r);
            if bytes + b > MAX_PAYLOAD_BYTES {
                carry = Some(r);
                break;
            }
            bytes += b;
            batch.push(r);
        }
        lane.process(batch).await;
    }
    lane.env.stop().await;
}

/// How one batch ended for a group of its records.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Processed (the checkpoint may move past them).
    Done(Vec<Rec>),
    /// Given up on: their metadata goes to the failure queue.
    GiveUp {
        records: Vec<Rec>,
        condition: Condition,
        attempts: u32,
    },
}

/// Something that runs the function on a batch: `Ok(None)` all done, `Ok(Some(i))`
/// records from `i` on failed (partial batch response), `Err` the invocation failed.
pub trait Invoke {
    /// Invokes the function once.
    fn invoke(
        &mut self,
        recs: &[Rec],
    ) -> impl std::future::Future<Output = Result<Option<usize>, InvokeError>> + Send;
}

/// Lambda's retry rules for one batch, until every record is done or given up on:
/// records past `maximumRecordAgeInSeconds` are not sent; a partial batch response splits
/// the batch at the reported record and retries the rest; a failed invocation is bisected
/// when `bisectBatchOnFunctionError` is on (halves do not use up a retry) and otherwise
/// retried; after `maximumRetryAttempts` retries the records are given up on. A batch the
/// function never received (its environment could not start) is retried until its records
/// expire, without using up retries.
pub async fn drive<I: Invoke + Send>(
    batch: Vec<Rec>,
    spec: &MappingSpec,
    now_ms: impl Fn() -> i64 + Send,
    backoff: bool,
    invoker: &mut I,
) -> Vec<Resolution> {
    let max_age = spec.maximum_record_age_secs as i64 * 1000;
    let mut out = Vec::new();
    let mut work: Vec<(Vec<Rec>, u32)> = vec![(batch, 0)];
    while let Some((recs, attempts)) = work.pop() {
        let now = now_ms();
        let (expired, live): (Vec<Rec>, Vec<Rec>) =
            recs.into_iter().partition(|r| now - r.arrival_ms > max_age);
        if !expired.is_empty() {
            out.push(Resolution::GiveUp {
                records: expired,
                condition: Condition::RecordAgeExceeded,
                attempts,
            });
        }
        if live.is_empty() {
            continue;
        }
        if backoff && attempts > 0 {
            let wait = 100u64.saturating_mul(1 << attempts.min(5)).min(2_000);
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        let (failed_from, function_error) = match invoker.invoke(&live).await {
            Ok(None) => {
                out.push(Resolution::Done(live));
                continue;
            }
            Ok(Some(index)) => (index.min(live.len()), false),
            Err(InvokeError::NotInvoked(e)) => {
                tracing::warn!(error = %e, "function not invoked; retrying until the records expire");
                if backoff {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                work.push((live, attempts));
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "function error");
                (0, true)
            }
        };
        let mut live = live;
        let rest = live.split_off(failed_from);
        if !live.is_empty() {
            out.push(Resolution::Done(live));
        }
        if rest.is_empty() {
            continue;
        }
        if function_error && spec.bisect_on_error && rest.len() > 1 {
            // "Splitting a batch does not count towards the retry quota."
            let mut first = rest;
            let second = first.split_off(first.len() / 2);
            work.push((second, attempts));
            work.push((first, attempts));
        } else if attempts >= spec.maximum_retry_attempts {
            out.push(Resolution::GiveUp {
                records: rest,
                condition: Condition::RetryAttemptsExhausted,
                attempts: attempts + 1,
            });
        } else {
            work.push((rest, attempts + 1));
        }
    }
    out
}

impl Invoke for Lane {
    fn invoke(
        &mut self,
        recs: &[Rec],
    ) -> impl std::future::Future<Output = Result<Option<usize>, InvokeError>> + Send {
        self.invoke_function(recs)
    }
}

impl Lane {
    /// Processes one batch to the end: done, or given up on to the failure queue.
    async fn process(&mut self, batch: Vec<Rec>) {
        let spec = self.spec.clone();
        for r in drive(batch, &spec, now_ms, true, self).await {
            match r {
                Resolution::Done(recs) => self.finish(&recs).await,
                Resolution::GiveUp {
                    records,
                    condition,
                    attempts,
                } => {
                    if condition == Condition::RecordAgeExceeded {
                        self.stats
                            .records_expired
                            .fetch_add(records.len() as u64, Ordering::Relaxed);
                    }
                    self.give_up(&records, condition, attempts).await;
                }
            }
        }
    }

    /// Invokes the function; `Ok(None)` all done, `Ok(Some(i))` records from `i` failed.
    async fn invoke_function(&mut self, recs: &[Rec]) -> Result<Option<usize>, InvokeError> {
        let event = self.event(recs);
        let started = Instant::now();
        let age = recs
            .last()
            .map(|r| (now_ms() - r.arrival_ms).max(0))
            .unwrap_or(0);
        self.stats
            .iterator_age_ms
            .store(age as u64, Ordering::Relaxed);
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        let result = match self.env.invoke(&event).await {
            Ok(r) => r,
            Err(e) => Err(InvokeError::NotInvoked(e.to_string())),
        };
        if let Err(InvokeError::NotInvoked(_)) = &result {
            return result.map(|_| None);
        }
        let errored = result.is_err();
        if errored {
            self.stats.function_errors.fetch_add(1, Ordering::Relaxed);
        }
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        for (name, value, unit) in [
            ("Invocations", 1.0, StandardUnit::Count),
            ("Errors", f64::from(u8::from(errored)), StandardUnit::Count),
            ("Throttles", 0.0, StandardUnit::Count),
            ("Duration", elapsed, StandardUnit::Milliseconds),
            ("IteratorAge", age as f64, StandardUnit::Milliseconds),
        ] {
            let d = MetricDatum::builder()
                .metric_name(name)
                .value(value)
                .unit(unit)
                .dimensions(
                    Dimension::builder()
                        .name("FunctionName")
                        .value(&self.function_name)
                        .build(),
                )
                .build();
            let _ = self.metrics.send(d);
        }
        let body = result?;
        if !self.spec.report_batch_item_failures {
            return Ok(None);
        }
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct Resp {
            #[serde(default)]
            batch_item_failures: Vec<Item>,
        }
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct Item {
            #[serde(default)]
            item_identifier: Option<String>,
        }
        // Lambda: an empty or null response is a success; an unparsable one, or an empty,
        // null or unknown identifier, fails the whole batch.
        let text = String::from_utf8_lossy(&body);
        if text.trim().is_empty() || text.trim() == "null" {
            return Ok(None);
        }
        let Ok(resp) = serde_json::from_slice::<Resp>(&body) else {
            self.stats.partial_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(response = %text, "unparsable batch response: the whole batch failed");
            return Ok(Some(0));
        };
        let mut lowest: Option<usize> = None;
        if !resp.batch_item_failures.is_empty() {
            self.stats.partial_failures.fetch_add(1, Ordering::Relaxed);
        }
        for f in resp.batch_item_failures {
            let idx = f
                .item_identifier
                .and_then(|id| recs.iter().position(|r| r.seq == id))
                .unwrap_or(0);
            lowest = Some(lowest.map_or(idx, |l| l.min(idx)));
        }
        Ok(lowest)
    }

    /// One record of the invocation event, as Lambda writes it.
    fn record_json(&self, r: &Rec) -> serde_json::Value {
        let b64 = base64::engine::general_purpose::STANDARD;
        json!({
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": r.partition_key,
                "sequenceNumber": r.seq,
                "data": b64.encode(&r.data),
                "approximateArrivalTimestamp": r.arrival_ms as f64 / 1000.0,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": format!("{}:{}", self.shard, r.seq),
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": format!("arn:aws:iam::{}:role/local", crate::deploy::LOCAL_ACCOUNT),
            "awsRegion": self.region,
            "eventSourceARN": self.stream_arn,
        })
    }

    /// Bytes `r` adds to an invocation event (its JSON and a separating comma).
    fn record_bytes(&self, r: &Rec) -> usize {
        self.record_json(r).to_string().len() + 1
    }

    fn event(&self, recs: &[Rec]) -> Vec<u8> {
        let records: Vec<_> = recs.iter().map(|r| self.record_json(r)).collect();
        json!({ "Records": records }).to_string().into_bytes()
    }

    async fn finish(&self, recs: &[Rec]) {
        if recs.is_empty() {
            return;
        }
        self.stats
            .records_done
            .fetch_add(recs.len() as u64, Ordering::Relaxed);
        let seqs: Vec<&str> = recs.iter().map(|r| r.seq.as_str()).collect();
        let moved = self.progress.lock().await.done(&seqs);
        if let Some(cp) = moved {
            self.checkpoints.set(&self.shard, &cp).await;
        }
    }

    /// Keeps the batch in the on-failure bucket (Lambda's invocation record) and moves on.
    async fn give_up(&self, recs: &[Rec], condition: Condition, attempts: u32) {
        let (Some(first), Some(last)) = (recs.first(), recs.last()) else {
            return;
        };
        let iso = |ms: i64| function::store::iso_millis(ms);
        let payload = serde_json::from_slice(&self.event(recs));
        let record = payload.map(|payload| FailureRecord {
            request_context: RequestContext {
                request_id: format!("local-{}-{}", self.shard, first.seq),
                function_arn: self.function_arn.clone(),
                condition,
                approximate_invoke_count: attempts,
            },
            response_context: ResponseContext {
                status_code: 200,
                executed_version: "$LATEST".into(),
                function_error: Some("Unhandled".into()),
            },
            version: "1.0".into(),
            timestamp: iso(now_ms()),
            batch: BatchInfo {
                shard_id: self.shard.clone(),
                start_sequence_number: first.seq.clone(),
                end_sequence_number: last.seq.clone(),
                approximate_arrival_of_first_record: iso(first.arrival_ms),
                approximate_arrival_of_last_record: iso(last.arrival_ms),
                batch_size: recs.len(),
                stream_arn: self.stream_arn.clone(),
            },
            payload,
        });
        let kept = match record {
            Ok(r) => {
                failure::put(
                    &self.clients,
                    &self.spec.failure_bucket,
                    &self.spec.uuid,
                    now_ms(),
                    &r,
                )
                .await
            }
            Err(e) => Err(Error::Runtime(e.to_string())),
        };
        if let Err(e) = kept {
            // As on AWS, a destination that cannot be written does not stop the shard;
            // the records are still in the archive when they were archived.
            tracing::error!(error = %e, shard = %self.shard, "could not keep a failed batch in the on-failure bucket");
        }
        self.stats.batches_failed.fetch_add(1, Ordering::Relaxed);
        self.finish(recs).await;
    }
}

/// Sends the mapping's metrics to CloudWatch in batches (under `AWS/Lambda`, as Lambda does).
async fn publish_metrics(c: Clients, mut rx: mpsc::UnboundedReceiver<MetricDatum>) {
    while let Some(first) = rx.recv().await {
        let mut data = vec![first];
        tokio::time::sleep(Duration::from_millis(500)).await;
        while let Ok(d) = rx.try_recv() {
            data.push(d);
        }
        for chunk in data.chunks(500) {
            let r = c
                .cloudwatch
                .put_metric_data()
                .namespace("AWS/Lambda")
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "PutMetricData failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_checkpoint_is_the_sequence_number_as_the_service_wrote_it() {
        let mut p = Progress {
            pending: BTreeMap::new(),
        };
        for seq in [
            "000000017960230979720000000081",
            "000000017960230979720000000082",
        ] {
            p.read(seq);
        }
        assert_eq!(p.done(&["000000017960230979720000000082"]), None);
        assert_eq!(
            p.done(&["000000017960230979720000000081"]).as_deref(),
            Some("000000017960230979720000000082")
        );
    }

    fn spec(retries: u32, bisect: bool) -> MappingSpec {
        MappingSpec {
            stream_arn: "arn".into(),
            stream_name: "s".into(),
            batch_size: 100,
            batching_window_secs: 0,
            parallelization_factor: 1,
            maximum_retry_attempts: retries,
            maximum_record_age_secs: 3600,
            bisect_on_error: bisect,
            report_batch_item_failures: true,
            trim_horizon: true,
            failure_bucket: "failed".into(),
            uuid: "local-test".into(),
        }
    }

    fn recs(n: usize) -> Vec<Rec> {
        (0..n)
            .map(|i| Rec {
                seq: format!("{}", 1000 + i),
                partition_key: "k".into(),
                data: vec![],
                arrival_ms: 1_000_000,
            })
            .collect()
    }

    /// A function that fails on `poison`: with an error, or with a partial response at it;
    /// `heal_after` invocations later it succeeds.
    struct Fake {
        poison: Option<String>,
        partial: bool,
        heal_after: Option<usize>,
        calls: Vec<Vec<String>>,
    }

    impl Invoke for Fake {
        fn invoke(
            &mut self,
            recs: &[Rec],
        ) -> impl std::future::Future<Output = Result<Option<usize>, InvokeError>> + Send {
            self.calls
                .push(recs.iter().map(|r| r.seq.clone()).collect());
            let healed = self.heal_after.is_some_and(|n| self.calls.len() > n);
            let hit = self
                .poison
                .as_ref()
                .and_then(|p| recs.iter().position(|r| &r.seq == p))
                .filter(|_| !healed);
            let r = match (hit, self.partial) {
                (None, _) => Ok(None),
                (Some(i), true) => Ok(Some(i)),
                (Some(_), false) => Err(InvokeError::Function {
                    error_type: "Retryable".into(),
                    message: "boom".into(),
                }),
            };
            std::future::ready(r)
        }
    }

    fn run(batch: Vec<Rec>, spec: &MappingSpec, fake: &mut Fake) -> Vec<Resolution> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(drive(batch, spec, || 1_000_500, false, fake))
    }

    fn fake(poison: Option<&str>, partial: bool, heal_after: Option<usize>) -> Fake {
        Fake {
            poison: poison.map(str::to_owned),
            partial,
            heal_after,
            calls: Vec::new(),
        }
    }

    fn seqs(r: &[Rec]) -> Vec<&str> {
        r.iter().map(|r| r.seq.as_str()).collect()
    }

    #[test]
    fn a_function_error_is_bisected_down_to_the_poison_record() {
        let mut f = fake(Some("1005"), false, None);
        let out = run(recs(8), &spec(3, true), &mut f);
        let given_up: Vec<_> = out
            .iter()
            .filter_map(|r| match r {
                Resolution::GiveUp {
                    records,
                    condition,
                    attempts,
                } => Some((seqs(records), *condition, *attempts)),
                Resolution::Done(_) => None,
            })
            .collect();
        assert_eq!(
            given_up,
            [(vec!["1005"], Condition::RetryAttemptsExhausted, 4)]
        );
        let done: usize = out
            .iter()
            .map(|r| match r {
                Resolution::Done(d) => d.len(),
                Resolution::GiveUp { .. } => 0,
            })
            .sum();
        assert_eq!(done, 7);
        // 8 → 4+4 → 2+2 → 1+1: the halves holding the poison record were retried.
        assert_eq!(f.calls[1], ["1000", "1001", "1002", "1003"]);
        assert_eq!(f.calls[2], ["1004", "1005", "1006", "1007"]);
    }

    #[test]
    fn bisected_halves_do_not_use_up_retries() {
        // No retries at all: bisection still isolates the poison record.
        let mut f = fake(Some("1005"), false, None);
        let out = run(recs(8), &spec(0, true), &mut f);
        let given_up: Vec<_> = out
            .iter()
            .filter_map(|r| match r {
                Resolution::GiveUp { records, .. } => Some(seqs(records)),
                Resolution::Done(_) => None,
            })
            .collect();
        assert_eq!(given_up, [vec!["1005"]]);
    }

    /// Fails with `NotInvoked` the first `n` times, then succeeds; the clock advances a
    /// minute per call.
    struct NotStarting {
        n: usize,
        calls: usize,
        clock: std::sync::Arc<std::sync::atomic::AtomicI64>,
    }

    impl Invoke for NotStarting {
        fn invoke(
            &mut self,
            _recs: &[Rec],
        ) -> impl std::future::Future<Output = Result<Option<usize>, InvokeError>> + Send {
            self.calls += 1;
            self.clock.fetch_add(60_000, Ordering::SeqCst);
            let r = if self.calls <= self.n {
                Err(InvokeError::NotInvoked("runtime did not start".into()))
            } else {
                Ok(None)
            };
            std::future::ready(r)
        }
    }

    fn run_not_starting(n: usize) -> (Vec<Resolution>, usize) {
        let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1_000_500));
        let mut f = NotStarting {
            n,
            calls: 0,
            clock: clock.clone(),
        };
        let now = move || clock.load(Ordering::SeqCst);
        let out = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(drive(recs(3), &spec(2, true), now, false, &mut f));
        (out, f.calls)
    }

    #[test]
    fn a_function_that_never_ran_is_retried_until_the_records_expire() {
        // Ten failed starts are more than the 2 retries, yet the batch is done once the
        // environment starts (not-invoked attempts do not use up retries).
        let (out, calls) = run_not_starting(10);
        assert_eq!(calls, 11);
        assert!(matches!(&out[..], [Resolution::Done(d)] if d.len() == 3));
        // Never starting: given up only when the records pass their maximum age (1 h).
        let (out, calls) = run_not_starting(usize::MAX);
        assert_eq!(calls, 60);
        assert!(matches!(
            &out[..],
            [Resolution::GiveUp { condition: Condition::RecordAgeExceeded, records, attempts: 0 }] if records.len() == 3
        ));
    }

    #[test]
    fn without_bisect_the_whole_batch_is_given_up() {
        let mut f = fake(Some("1005"), false, None);
        let out = run(recs(8), &spec(2, false), &mut f);
        assert_eq!(f.calls.len(), 3, "first try plus two retries");
        assert!(matches!(&out[..], [Resolution::GiveUp { records, .. }] if records.len() == 8));
    }

    #[test]
    fn a_partial_response_checkpoints_before_the_reported_record() {
        let mut f = fake(Some("1003"), true, Some(2));
        let out = run(recs(6), &spec(3, true), &mut f);
        assert_eq!(f.calls[0].len(), 6);
        // Split at the reported record, only the rest retried, not bisected.
        assert_eq!(f.calls[1], ["1003", "1004", "1005"]);
        assert!(matches!(&out[0], Resolution::Done(d) if seqs(d) == ["1000", "1001", "1002"]));
        assert!(out.iter().all(|r| matches!(r, Resolution::Done(_))));
    }

    #[test]
    fn old_records_are_not_sent() {
        let mut f = fake(None, false, None);
        let mut batch = recs(3);
        batch[0].arrival_ms = 1_000_500 - 3_600_001;
        let out = run(batch, &spec(3, true), &mut f);
        assert_eq!(f.calls, [["1001", "1002"]]);
        assert!(
            matches!(&out[0], Resolution::GiveUp { condition: Condition::RecordAgeExceeded, records, .. } if records.len() == 1)
        );
    }

    proptest! {
        #[test]
        fn every_record_is_resolved_exactly_once(
            n in 1usize..40,
            poison in proptest::option::of(0usize..40),
            partial in any::<bool>(),
            heal in proptest::option::of(0usize..6),
            retries in 0u32..5,
            bisect in any::<bool>(),
        ) {
            let batch = recs(n);
            let poison_seq = poison.filter(|p| *p < n).map(|p| format!("{}", 1000 + p));
            let mut f = fake(poison_seq.as_deref(), partial, heal);
            let out = run(batch.clone(), &spec(retries, bisect), &mut f);
            let mut seen: Vec<String> = out
                .iter()
                .flat_map(|r| match r {
                    Resolution::Done(d) => d.clone(),
                    Resolution::GiveUp { records, .. } => records.clone(),
                })
                .map(|r| r.seq)
                .collect();
            seen.sort();
            let mut want: Vec<String> = batch.iter().map(|r| r.seq.clone()).collect();
            want.sort();
            prop_assert_eq!(seen, want);
            // Attempts are bounded by the retry limit (bisection adds no attempts beyond it).
            for r in &out {
                if let Resolution::GiveUp { attempts, .. } = r {
                    prop_assert!(*attempts <= retries + 1);
                }
            }
        }
    }
}

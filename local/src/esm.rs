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
use crate::runtime::{Environment, InvokeError};

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
    /// Loads the checkpoint file (missing = no checkpoints).
    pub fn load(path: &Path) -> Self {
        let done = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Self {
            path: path.to_owned(),
            done: Mutex::new(done),
        }
    }

    /// The checkpoint of a shard.
    pub async fn get(&self, shard: &str) -> Option<String> {
        self.done.lock().await.get(shard).cloned()
    }

    async fn set(&self, shard: &str, seq: &str) {
        let mut d = self.done.lock().await;
        d.insert(shard.to_owned(), seq.to_owned());
        if let Ok(text) = serde_json::to_string_pretty(&*d) {
            let tmp = self.path.with_extension("tmp");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, &self.path);
            }
        }
    }
}

/// Records of one shard read but not yet done, in sequence order.
struct Progress {
    shard: String,
    pending: BTreeMap<SeqNo, bool>,
}

impl Progress {
    fn read(&mut self, seq: &str) {
        if let Some(s) = SeqNo::parse(seq) {
            self.pending.insert(s, false);
        }
    }

    /// Marks records done; returns the new checkpoint if it moved.
    fn done(&mut self, seqs: &[&str]) -> Option<String> {
        for s in seqs {
            if let Some(s) = SeqNo::parse(s) {
                self.pending.insert(s, true);
            }
        }
        let mut moved = None;
        while let Some(entry) = self.pending.first_entry() {
            if !*entry.get() {
                break;
            }
            moved = Some(entry.key().as_str().to_owned());
            entry.remove();
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
    let checkpoints = Arc::new(Checkpoints::load(&state_dir.join("checkpoints.json")));
    let (metrics_tx, metrics_rx) = mpsc::unbounded_channel();
    let mut tasks = vec![tokio::spawn(publish_metrics(
        clients.clone(),
        deployed.function.name.clone(),
        metrics_rx,
    ))];
    tasks.push(tokio::spawn(publish_queue_depth(
        clients.clone(),
        spec.failure_queue_url.clone(),
        metrics_tx.clone(),
        stop.clone(),
    )));
    let shards = clients
        .kinesis
        .list_shards()
        .stream_name(&spec.stream_name)
        .send()
        .await
        .map_err(Error::aws("kinesis:ListShards"))?;
    let logs = state_dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(Error::io(&logs))?;
    for shard in shards.shards() {
        let shard_id = shard.shard_id().to_owned();
        let progress = Arc::new(Mutex::new(Progress {
            shard: shard_id.clone(),
            pending: BTreeMap::new(),
        }));
        let mut senders = Vec::new();
        for lane in 0..spec.parallelization_factor {
            let (tx, rx) = mpsc::channel::<Rec>(20_000);
            senders.push(tx);
            let env = Environment::start(
                &deployed.function,
                bootstrap,
                extra_env.clone(),
                logs.join(format!("{shard_id}-lane{lane}.log")),
            )
            .await?;
            let lane = Lane {
                spec: spec.clone(),
                stream_arn: spec.stream_arn.clone(),
                function_arn: deployed.function.arn.clone(),
                function_name: deployed.function.name.clone(),
                region: deployed.region.clone(),
                shard: shard_id.clone(),
                clients: clients.clone(),
                env,
                progress: progress.clone(),
                checkpoints: checkpoints.clone(),
                stats: stats.clone(),
                metrics: metrics_tx.clone(),
            };
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
            return; // shard closed
        }
        if records.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn run_lane(mut lane: Lane, mut rx: mpsc::Receiver<Rec>, stop: Arc<AtomicBool>) {
    let window = Duration::from_secs(lane.spec.batching_window_secs);
    while !stop.load(Ordering::SeqCst) {
        let Some(first) = rx.recv().await else {
            break;
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + window;
        while batch.len() < lane.spec.batch_size {
            if window.is_zero() {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            } else {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(r)) => batch.push(r),
                    _ => break,
                }
            }
        }
        lane.process(batch).await;
    }
    lane.env.stop().await;
}

impl Lane {
    /// Processes one batch to the end: done, or given up on to the failure queue.
    async fn process(&mut self, batch: Vec<Rec>) {
        let max_age = self.spec.maximum_record_age_secs as i64 * 1000;
        let mut work: Vec<(Vec<Rec>, u32)> = vec![(batch, 0)];
        while let Some((recs, attempts)) = work.pop() {
            let now = now_ms();
            let (expired, live): (Vec<Rec>, Vec<Rec>) =
                recs.into_iter().partition(|r| now - r.arrival_ms > max_age);
            if !expired.is_empty() {
                self.stats
                    .records_expired
                    .fetch_add(expired.len() as u64, Ordering::Relaxed);
                self.give_up(&expired, "RecordAgeExceeded", attempts).await;
            }
            if live.is_empty() {
                continue;
            }
            if attempts > 0 {
                let backoff = 100u64.saturating_mul(1 << attempts.min(5)).min(2_000);
                tokio::time::sleep(Duration::from_millis(backoff)).await;
            }
            let outcome = self.invoke(&live).await;
            let failed_from = match outcome {
                Ok(None) => {
                    self.finish(&live).await;
                    continue;
                }
                Ok(Some(index)) => {
                    self.stats.partial_failures.fetch_add(1, Ordering::Relaxed);
                    index
                }
                Err(e) => {
                    tracing::warn!(error = %e, shard = self.shard, "function error");
                    self.stats.function_errors.fetch_add(1, Ordering::Relaxed);
                    0
                }
            };
            let (ok, rest) = live.split_at(failed_from);
            self.finish(ok).await;
            let rest = rest.to_vec();
            if attempts >= self.spec.maximum_retry_attempts {
                self.give_up(&rest, "RetryAttemptsExhausted", attempts + 1)
                    .await;
            } else if failed_from == 0 && self.spec.bisect_on_error && rest.len() > 1 {
                let (a, b) = rest.split_at(rest.len() / 2);
                work.push((b.to_vec(), attempts + 1));
                work.push((a.to_vec(), attempts + 1));
            } else {
                work.push((rest, attempts + 1));
            }
        }
    }

    /// Invokes the function; `Ok(None)` all done, `Ok(Some(i))` records from `i` failed.
    async fn invoke(&mut self, recs: &[Rec]) -> Result<Option<usize>, InvokeError> {
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
            Err(e) => Err(InvokeError::Crashed(e.to_string())),
        };
        let errored = result.is_err();
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
        // Lambda: an unparsable response or an unknown identifier fails the whole batch.
        let resp: Resp = serde_json::from_slice(&body).unwrap_or_default();
        let mut lowest: Option<usize> = None;
        for f in resp.batch_item_failures {
            let idx = f
                .item_identifier
                .and_then(|id| recs.iter().position(|r| r.seq == id))
                .unwrap_or(0);
            lowest = Some(lowest.map_or(idx, |l| l.min(idx)));
        }
        Ok(lowest)
    }

    fn event(&self, recs: &[Rec]) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let records: Vec<_> = recs
            .iter()
            .map(|r| {
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
            })
            .collect();
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
            let shard = self.progress.lock().await.shard.clone();
            self.checkpoints.set(&shard, &cp).await;
        }
    }

    /// Sends the batch's metadata to the on-failure queue (Lambda's format) and moves on.
    async fn give_up(&self, recs: &[Rec], condition: &str, attempts: u32) {
        let (Some(first), Some(last)) = (recs.first(), recs.last()) else {
            return;
        };
        let iso = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default()
        };
        let body = json!({
            "requestContext": {
                "requestId": format!("local-{}-{}", self.shard, first.seq),
                "functionArn": self.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "version": "1.0",
            "timestamp": iso(now_ms()),
            "KinesisBatchInfo": {
                "shardId": self.shard,
                "startSequenceNumber": first.seq,
                "endSequenceNumber": last.seq,
                "approximateArrivalOfFirstRecord": iso(first.arrival_ms),
                "approximateArrivalOfLastRecord": iso(last.arrival_ms),
                "batchSize": recs.len(),
                "streamArn": self.stream_arn,
            },
        });
        let sent = self
            .clients
            .sqs
            .send_message()
            .queue_url(&self.spec.failure_queue_url)
            .message_body(body.to_string())
            .send()
            .await;
        if let Err(e) = sent {
            tracing::error!(error = %e, "could not send failed batch metadata to the failure queue");
        }
        self.stats.batches_failed.fetch_add(1, Ordering::Relaxed);
        self.finish(recs).await;
    }
}

async fn publish_metrics(
    c: Clients,
    function: String,
    mut rx: mpsc::UnboundedReceiver<MetricDatum>,
) {
    let _ = function;
    while let Some(first) = rx.recv().await {
        let mut lambda = vec![first];
        let mut sqs = Vec::new();
        tokio::time::sleep(Duration::from_millis(500)).await;
        while let Ok(d) = rx.try_recv() {
            lambda.push(d);
        }
        lambda.retain(|d| {
            let is_sqs = d.metric_name() == Some("ApproximateNumberOfMessagesVisible");
            if is_sqs {
                sqs.push(d.clone());
            }
            !is_sqs
        });
        for (ns, data) in [("AWS/Lambda", lambda), ("AWS/SQS", sqs)] {
            for chunk in data.chunks(500) {
                let r = c
                    .cloudwatch
                    .put_metric_data()
                    .namespace(ns)
                    .set_metric_data(Some(chunk.to_vec()))
                    .send()
                    .await;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "PutMetricData failed");
                }
            }
        }
    }
}

async fn publish_queue_depth(
    c: Clients,
    queue_url: String,
    tx: mpsc::UnboundedSender<MetricDatum>,
    stop: Arc<AtomicBool>,
) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let name = queue_url.rsplit('/').next().unwrap_or_default().to_owned();
    while !stop.load(Ordering::SeqCst) {
        if let Ok(a) = c
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
        {
            let visible = a
                .attributes()
                .and_then(|m| m.get(&QueueAttributeName::ApproximateNumberOfMessages))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_default();
            let d = MetricDatum::builder()
                .metric_name("ApproximateNumberOfMessagesVisible")
                .value(visible)
                .unit(StandardUnit::Count)
                .dimensions(Dimension::builder().name("QueueName").value(&name).build())
                .build();
            let _ = tx.send(d);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// What a redrive did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redrive {
    /// Failure-queue messages whose records were all processed (and deleted).
    pub batches: u64,
    pub records: u64,
    /// Messages left in the queue because their records failed again.
    pub still_failing: u64,
}

/// Redrives the failure queue: re-reads each failed batch's records from the stream
/// (`startSequenceNumber`..=`endSequenceNumber`), invokes the function with them and deletes
/// the message once they succeed. Exactly-once makes re-processing safe.
pub async fn redrive(
    clients: &Clients,
    deployed: &Deployed,
    bootstrap: &Path,
    extra_env: BTreeMap<String, String>,
    state_dir: &Path,
) -> Result<Redrive, Error> {
    let spec = deployed.mapping.clone();
    let (metrics_tx, _metrics_rx) = mpsc::unbounded_channel();
    let mut report = Redrive::default();
    let mut lanes: BTreeMap<String, Lane> = BTreeMap::new();
    loop {
        let msgs = clients
            .sqs
            .receive_message()
            .queue_url(&spec.failure_queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(Error::aws("sqs:ReceiveMessage"))?;
        if msgs.messages().is_empty() {
            break;
        }
        for m in msgs.messages() {
            let body: serde_json::Value =
                serde_json::from_str(m.body().unwrap_or_default()).unwrap_or_default();
            let info = &body["KinesisBatchInfo"];
            let shard = info["shardId"].as_str().unwrap_or_default().to_owned();
            let start = info["startSequenceNumber"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let end = SeqNo::parse(info["endSequenceNumber"].as_str().unwrap_or_default());
            let recs = read_range(clients, &spec.stream_name, &shard, &start, end.as_ref()).await?;
            if !lanes.contains_key(&shard) {
                let env = Environment::start(
                    &deployed.function,
                    bootstrap,
                    extra_env.clone(),
                    state_dir.join("logs").join(format!("{shard}-redrive.log")),
                )
                .await?;
                let lane = Lane {
                    spec: spec.clone(),
                    stream_arn: spec.stream_arn.clone(),
                    function_arn: deployed.function.arn.clone(),
                    function_name: deployed.function.name.clone(),
                    region: deployed.region.clone(),
                    shard: shard.clone(),
                    clients: clients.clone(),
                    env,
                    progress: Arc::new(Mutex::new(Progress {
                        shard: shard.clone(),
                        pending: BTreeMap::new(),
                    })),
                    checkpoints: Arc::new(Checkpoints::load(
                        &state_dir.join("redrive-progress.json"),
                    )),
                    stats: Arc::new(Stats::default()),
                    metrics: metrics_tx.clone(),
                };
                lanes.insert(shard.clone(), lane);
            }
            let Some(lane) = lanes.get_mut(&shard) else {
                continue;
            };
            let mut ok = true;
            for chunk in recs.chunks(spec.batch_size.max(1)) {
                let mut rest = chunk.to_vec();
                let mut attempts = 0;
                while !rest.is_empty() {
                    match lane.invoke(&rest).await {
                        Ok(None) => rest.clear(),
                        Ok(Some(i)) if i > 0 => rest = rest.split_off(i),
                        _ => {
                            attempts += 1;
                            if attempts > spec.maximum_retry_attempts {
                                ok = false;
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
                if !ok {
                    break;
                }
            }
            if ok {
                report.batches += 1;
                report.records += recs.len() as u64;
                if let Some(h) = m.receipt_handle() {
                    clients
                        .sqs
                        .delete_message()
                        .queue_url(&spec.failure_queue_url)
                        .receipt_handle(h)
                        .send()
                        .await
                        .map_err(Error::aws("sqs:DeleteMessage"))?;
                }
            } else {
                report.still_failing += 1;
            }
        }
        if report.still_failing > 0 {
            break;
        }
    }
    for lane in lanes.values_mut() {
        lane.env.stop().await;
    }
    Ok(report)
}

/// Reads a shard's records from `start` through `end` (inclusive).
async fn read_range(
    c: &Clients,
    stream: &str,
    shard: &str,
    start: &str,
    end: Option<&SeqNo>,
) -> Result<Vec<Rec>, Error> {
    let it = c
        .kinesis
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .starting_sequence_number(start)
        .send()
        .await
        .map_err(Error::aws("kinesis:GetShardIterator"))?;
    let mut iterator = it.shard_iterator().map(str::to_owned);
    let mut out = Vec::new();
    while let Some(i) = iterator {
        let page = c
            .kinesis
            .get_records()
            .shard_iterator(i)
            .send()
            .await
            .map_err(Error::aws("kinesis:GetRecords"))?;
        if page.records().is_empty() {
            break;
        }
        for r in page.records() {
            let seq = SeqNo::parse(r.sequence_number());
            if let (Some(s), Some(e)) = (&seq, end)
                && s > e
            {
                return Ok(out);
            }
            out.push(Rec {
                seq: r.sequence_number().to_owned(),
                partition_key: r.partition_key().unwrap_or_default().to_owned(),
                data: r.data().as_ref().to_vec(),
                arrival_ms: r
                    .approximate_arrival_timestamp()
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or_else(now_ms),
            });
        }
        iterator = page.next_shard_iterator().map(str::to_owned);
    }
    Ok(out)
}

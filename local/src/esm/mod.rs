//! Lambda's Kinesis event source mapping, run locally against the emulator's stream:
//!
//! * per shard one reader; records go to `parallelizationFactor` lanes by partition-key
//!   hash, so one key's records stay in order in one lane;
//! * a lane gathers up to `batchSize` records within the batching window and invokes its
//!   own execution environment (the packaged `bootstrap`);
//! * a partial batch response checkpoints before the lowest reported record and retries
//!   from it; a function error, crash or timeout retries the batch, bisected when
//!   `bisectBatchOnFunctionError` is on (halves do not use up retries); retries stop after
//!   `maximumRetryAttempts`; a batch the function never received is retried until its
//!   records expire; a batch closes at `batchSize`, the window, or 6 MB;
//! * records older than `maximumRecordAgeInSeconds` are not sent; batches given up on are
//!   kept whole in the on-failure bucket as Lambda's invocation record;
//! * per-shard checkpoints (everything before them is done) are kept in a file and a
//!   restarted mapping resumes after them;
//! * Lambda's CloudWatch metrics (Invocations, Errors, Throttles, Duration, IteratorAge)
//!   are published to the emulator, so the stack's alarms fire.

// The submodules' shared prelude (`use super::*`).
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

mod checkpoint; // checkpoints file and per-shard progress
mod drive; // the sans-IO retry state machine
mod lane; // batching, invocation, give-up
mod metrics; // CloudWatch metrics
mod reader; // one shard reader
mod redrive; // kept batches → function → recovery

pub use checkpoint::Checkpoints;
use checkpoint::Progress;
pub use drive::{Invoke, Resolution, drive};
pub use lane::MAX_PAYLOAD_BYTES;
use lane::{Lane, run_lane};
use metrics::publish_metrics;
use reader::read_shard;
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

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
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

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
//!   are published to the emulator, so the stack's alarms fire; so are the function's EMF
//!   metrics, as CloudWatch Logs extracts them on AWS (`emf`).

// The submodules' shared prelude (`use super::*`).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_kinesis::types::ShardIteratorType;
use function::position::SeqNo;
use serde_json::json;
use tokio::sync::{Mutex, mpsc};

use crate::clients::Clients;
use crate::deploy::{Deployed, FunctionSpec, MappingSpec};
use crate::error::Error;
use crate::failure::{self, BatchInfo, Condition, FailureRecord, RequestContext, ResponseContext};
use crate::runtime::{Environment, Hold, InvokeError};

mod checkpoint; // checkpoints file and per-shard progress
mod drive; // the sans-IO retry state machine
pub mod emf; // the function's EMF lines, put to CloudWatch as CloudWatch Logs would
mod lane; // batching, invocation, give-up
mod metrics; // CloudWatch metrics
mod reader; // one shard reader
pub use reader::lane_of;
mod redrive; // the local function redrive invokes
mod shards; // which shards may be read (children after parents)
mod stats; // the counters and the function's outcomes, under one lock

use crate::response::{self, BatchResponse};
pub use checkpoint::Checkpoints;
use checkpoint::Progress;
pub use drive::{Invoke, Resolution, drive};
pub use lane::MAX_PAYLOAD_BYTES;
use lane::{Lane, run_lane};
use metrics::publish_metrics;
use reader::{Ending, read_shard};
pub use redrive::LocalFunction;
use shards::ShardInfo;
pub use stats::{Counters, Stats, Tally};

/// One record read from a shard.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec {
    pub seq: String,
    pub partition_key: String,
    pub data: Vec<u8>,
    pub arrival_ms: i64,
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

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Everything a shard's reader and lanes need (shared by the supervisor).
struct ShardCtx {
    clients: Clients,
    deployed: Deployed,
    bootstrap: PathBuf,
    extra_env: BTreeMap<String, String>,
    logs: PathBuf,
    checkpoints: Arc<Checkpoints>,
    stats: Arc<Stats>,
    metrics: mpsc::UnboundedSender<MetricDatum>,
    stop: Arc<AtomicBool>,
    /// A test's hold on responses (every lane's environment shares it).
    hold: Option<Hold>,
}

/// How often the supervisor lists the stream's shards again (resharding).
const RELIST_EVERY: Duration = Duration::from_secs(5);

/// The stream's shards and their parents. By hand: the SDK has no paginator for
/// `ListShards`, whose `NextToken` replaces `StreamName` instead of joining it.
async fn list_shards(c: &Clients, stream: &str) -> Result<Vec<ShardInfo>, Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let req = c.kinesis.list_shards();
        let req = match &token {
            Some(t) => req.next_token(t),
            None => req.stream_name(stream),
        };
        let page = req.send().await.map_err(Error::aws("kinesis:ListShards"))?;
        out.extend(page.shards().iter().map(|s| {
            ShardInfo {
                id: s.shard_id().to_owned(),
                parents: [s.parent_shard_id(), s.adjacent_parent_shard_id()]
                    .into_iter()
                    .flatten()
                    .map(str::to_owned)
                    .collect(),
            }
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Starts a shard's lanes (errors surface here) and one task that runs its reader and
/// lanes to the end; the task says whether the shard was read to its end.
async fn spawn_shard(
    ctx: &Arc<ShardCtx>,
    shard: &str,
) -> Result<impl std::future::Future<Output = (String, bool)> + Send + 'static, Error> {
    let spec = ctx.deployed.mapping.clone();
    let progress = Arc::new(Mutex::new(Progress {
        pending: BTreeMap::new(),
    }));
    let mut senders = Vec::new();
    let mut lanes = Vec::new();
    for lane in 0..spec.parallelization_factor {
        let (tx, rx) = mpsc::channel::<Rec>(20_000);
        senders.push(tx);
        let lane = Lane::new(
            &ctx.clients,
            &ctx.deployed,
            shard,
            &ctx.bootstrap,
            ctx.extra_env.clone(),
            ctx.logs.join(format!("{shard}-lane{lane}.log")),
            progress.clone(),
            ctx.checkpoints.clone(),
            ctx.stats.clone(),
            ctx.metrics.clone(),
        )
        .await?;
        lane.env.set_hold(ctx.hold.clone()).await;
        lanes.push(run_lane(lane, rx, ctx.stop.clone()));
    }
    let reader = read_shard(
        ctx.clients.clone(),
        spec,
        shard.to_owned(),
        senders,
        progress,
        ctx.checkpoints.clone(),
        ctx.stats.clone(),
        ctx.stop.clone(),
    );
    let shard = shard.to_owned();
    Ok(async move {
        // The reader drops its senders when it ends; the lanes then drain and end.
        let (ending, _) = tokio::join!(reader, futures::future::join_all(lanes));
        (shard, matches!(ending, Ending::Closed | Ending::Gone))
    })
}

/// Starts the readers of shards as they become ready (children after their parents).
async fn supervise(
    ctx: Arc<ShardCtx>,
    mut listed: Vec<ShardInfo>,
    mut running: tokio::task::JoinSet<(String, bool)>,
    mut started: BTreeSet<String>,
) {
    let mut finished: BTreeSet<String> = BTreeSet::new();
    while !ctx.stop.load(Ordering::SeqCst) {
        let ready: Vec<String> = shards::ready(&listed, &started, &finished)
            .into_iter()
            .map(str::to_owned)
            .collect();
        for id in ready {
            match spawn_shard(&ctx, &id).await {
                Ok(task) => {
                    tracing::info!(shard = %id, "shard reader starts");
                    started.insert(id);
                    running.spawn(task);
                }
                Err(e) => {
                    tracing::error!(shard = %id, error = %function::error::chain(&e), "shard reader could not start")
                }
            }
        }
        tokio::select! {
            Some(Ok((id, ended))) = running.join_next() => {
                if ended {
                    finished.insert(id);
                }
            }
            _ = tokio::time::sleep(RELIST_EVERY) => {
                match list_shards(&ctx.clients, &ctx.deployed.mapping.stream_name).await {
                    Ok(l) => listed = l,
                    Err(e) => tracing::warn!(error = %function::error::chain(&e), "ListShards failed"),
                }
            }
        }
    }
}

/// Starts the mapping for `deployed`, running `bootstrap` with `extra_env` (endpoint and
/// credentials) on top of the function's own environment. Shards are read as Lambda reads
/// them: a child only once its parents were read to their end (`shards::ready`). `hold`
/// is a test's seam (see [`Hold`]); `None` in every command.
pub async fn start(
    clients: &Clients,
    deployed: &Deployed,
    bootstrap: &Path,
    extra_env: BTreeMap<String, String>,
    state_dir: &Path,
    hold: Option<Hold>,
) -> Result<Running, Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Stats::default());
    let checkpoints = Arc::new(Checkpoints::load(&state_dir.join("checkpoints.json"))?);
    let (metrics_tx, metrics_rx) = mpsc::unbounded_channel();
    let mut tasks = vec![tokio::spawn(publish_metrics(clients.clone(), metrics_rx))];
    let listed = list_shards(clients, &deployed.mapping.stream_name).await?;
    if listed.is_empty() {
        return Err(Error::Deploy {
            resource: deployed.mapping.stream_name.clone(),
            reason: "ListShards returned no shards".into(),
        });
    }
    let logs = state_dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(Error::io(&logs))?;
    tasks.push(tokio::spawn(emf::forward(clients.clone(), logs.clone())));
    let ctx = Arc::new(ShardCtx {
        clients: clients.clone(),
        deployed: deployed.clone(),
        bootstrap: bootstrap.to_owned(),
        extra_env,
        logs,
        checkpoints,
        stats: stats.clone(),
        metrics: metrics_tx,
        stop: stop.clone(),
        hold,
    });
    // The shards readable now start here, so their errors reach the caller.
    let mut running = tokio::task::JoinSet::new();
    let mut started = BTreeSet::new();
    for id in shards::ready(&listed, &started, &BTreeSet::new()) {
        running.spawn(spawn_shard(&ctx, id).await?);
        tracing::info!(shard = %id, "shard reader starts");
        started.insert(id.to_owned());
    }
    tasks.push(tokio::spawn(supervise(ctx, listed, running, started)));
    Ok(Running { stats, stop, tasks })
}

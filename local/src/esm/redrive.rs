//! Redrive: every batch kept in the on-failure bucket is invoked again, then its pages are
//! rebuilt from the archive, then the kept object is deleted. It reads nothing from the
//! stream, so it works after the stream's retention has passed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};

use super::{Checkpoints, Lane, Progress, Rec, Stats};
use crate::clients::Clients;
use crate::deploy::Deployed;
use crate::error::Error;
use crate::failure::{self, FailureRecord};

/// What a redrive did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redrive {
    /// Kept batches whose records were all counted (and whose objects were deleted).
    pub batches: u64,
    pub records: u64,
    /// Kept batches left in the bucket because their records failed again.
    pub still_failing: u64,
    /// Kept objects that are not a readable invocation record (left in the bucket, each
    /// with the reason; the others are redriven all the same).
    pub unreadable: Vec<(String, String)>,
    /// Metrics pages rebuilt from the archive, and records they count that they did not.
    pub pages_rebuilt: u64,
    pub recounted: u64,
}

/// The Kinesis records of a kept batch, as the mapping read them.
fn records_of(r: &FailureRecord) -> Result<Vec<Rec>, Error> {
    Ok(r.records()?
        .into_iter()
        .map(|k| Rec {
            seq: k.sequence_number,
            partition_key: k.partition_key,
            data: k.data,
            arrival_ms: k.arrival_ms,
        })
        .collect())
}

/// Redrives every kept batch, oldest first: invokes the function with its records (which
/// archives them and counts those past their marks), rebuilds from the archive every page
/// holding their (shard, partition key) domains (`function::recover`: exact even when newer
/// records of the same keys were counted meanwhile), and deletes the object after that.
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
    for key in failure::list(clients, &spec.failure_bucket).await? {
        let read = failure::get(clients, &spec.failure_bucket, &key)
            .await
            .and_then(|kept| Ok((kept.batch.shard_id.clone(), records_of(&kept)?)));
        let (shard, recs) = match read {
            Ok(r) => r,
            Err(e) => {
                let reason = crate::cli::terminal::error_text(&e);
                tracing::error!(key, error = %reason, "a kept batch cannot be read; it stays in the bucket");
                report.unreadable.push((key, reason));
                continue;
            }
        };
        if !lanes.contains_key(&shard) {
            // Redrive keeps its progress apart from the mapping's checkpoints.
            let lane = Lane::new(
                clients,
                deployed,
                &shard,
                bootstrap,
                extra_env.clone(),
                state_dir.join("logs").join(format!("{shard}-redrive.log")),
                Arc::new(Mutex::new(Progress {
                    pending: BTreeMap::new(),
                })),
                Arc::new(Checkpoints::load(&state_dir.join("redrive-progress.json"))?),
                Arc::new(Stats::default()),
                metrics_tx.clone(),
            )
            .await?;
            lanes.insert(shard.clone(), lane);
        }
        let Some(lane) = lanes.get_mut(&shard) else {
            continue;
        };
        let mut ok = invoke_all(lane, &recs, spec.batch_size, spec.maximum_retry_attempts).await;
        if ok {
            match recover_batch(clients, deployed, lane, &recs).await {
                Ok(r) if r.not_counted == 0 => {
                    report.pages_rebuilt += r.pages;
                    report.recounted += r.recounted;
                }
                Ok(r) => {
                    tracing::warn!(?r, key, "records of a redriven batch are still not counted");
                    ok = false;
                }
                Err(e) => {
                    tracing::warn!(error = %e, key, "recovery from the archive failed");
                    ok = false;
                }
            }
        }
        if ok {
            report.batches += 1;
            report.records += recs.len() as u64;
            failure::delete(clients, &spec.failure_bucket, &key).await?;
        } else {
            report.still_failing += 1;
        }
    }
    for lane in lanes.values_mut() {
        lane.env.stop().await;
    }
    Ok(report)
}

/// Invokes the function with `recs` in batches, retrying the rest after a partial failure.
async fn invoke_all(lane: &mut Lane, recs: &[Rec], batch_size: usize, retries: u32) -> bool {
    for chunk in recs.chunks(batch_size.max(1)) {
        let mut rest = chunk.to_vec();
        let mut attempts = 0;
        while !rest.is_empty() {
            match lane.invoke_function(&rest).await {
                Ok(None) => rest.clear(),
                Ok(Some(i)) if i > 0 => rest = rest.split_off(i),
                _ => {
                    attempts += 1;
                    if attempts > retries {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    true
}

/// Rebuilds the pages of a redriven batch's records from the archive.
async fn recover_batch(
    clients: &Clients,
    deployed: &Deployed,
    lane: &Lane,
    recs: &[Rec],
) -> Result<function::recover::Recovery, Error> {
    let env = &deployed.function.env;
    let cfg = function::Config::from_vars(|k| env.get(k).cloned())
        .map_err(|e| Error::Runtime(e.to_string()))?;
    let event: aws_lambda_events::event::kinesis::KinesisEvent =
        serde_json::from_slice(&lane.event(recs)).map_err(|e| Error::Runtime(e.to_string()))?;
    let archive = crate::archive::S3Reader {
        client: clients.s3.clone(),
        bucket: cfg.bucket.clone(),
    };
    let metrics = function::aws::DynamoMetrics {
        client: clients.dynamodb.clone(),
        table: cfg.table.clone(),
    };
    function::recover::recover_event(&archive, &metrics, &cfg, &event)
        .await
        .map_err(|e| Error::Runtime(format!("recovery: {e}")))
}

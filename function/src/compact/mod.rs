//! Compaction: each hour's archive objects merged, per shard, into few large ones, so the
//! lifecycle's GLACIER and DEEP_ARCHIVE transitions (priced per object, with 40 KB of
//! overhead each) and readers of the archive pay per hour, not per batch.
//!
//! Per shard and hour prefix (`raw/…/hour=HH/`, `rejected/…`) that holds a batch's object:
//! merge every object of that shard there (batch and earlier compacted ones) in position
//! order, each (shard, sequence, sub-sequence) once; put the parts; read each back and check
//! it holds exactly the positions merged into it; then delete the inputs, the compacted ones
//! first and the batch objects last. So a run stopped at any point leaves a batch object
//! behind whenever anything is still to do, and the next run merges everything again: every
//! record stays in the hour, at worst twice (readers de-duplicate on the triple) until that
//! run ends. Records that arrive in an hour after it was compacted are a new batch object
//! and are merged by the next run. One compaction runs at a time (the function's reserved
//! concurrency is 1).

pub mod keys;
pub mod merge;
pub mod request;

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde::Serialize;

use crate::Error;
use crate::archive::{ArchiveDelete, ArchiveReader, ArchiveStore};
use keys::ObjectName;
use merge::{Merge, Part, Parts, Step, Unsafe};

/// The Lambda handler setting that runs the compactor (`_HANDLER` in the environment).
pub const HANDLER: &str = "compact";
/// Objects fetched ahead of the merge.
pub const PREFETCH: usize = 32;

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Hour prefixes listed.
    pub prefixes: u64,
    /// Shard-hours merged.
    pub shard_hours: u64,
    pub objects_read: u64,
    pub objects_written: u64,
    pub objects_deleted: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Distinct lines written, and their bytes uncompressed.
    pub lines: u64,
    pub line_bytes: u64,
    /// Lines dropped as copies of a line already written.
    pub duplicates: u64,
    /// Shard-hours left as they were, and why (an object that is not a readable archive
    /// object of its shard): nothing of them was deleted.
    pub left: Vec<String>,
}

/// A bucket compaction can read, write and delete in.
pub trait Bucket: ArchiveReader + ArchiveStore + ArchiveDelete {}
impl<B: ArchiveReader + ArchiveStore + ArchiveDelete> Bucket for B {}

/// Compacts every shard of one hour prefix (`<kind>/year=…/hour=HH/`).
pub async fn compact_prefix<B: Bucket>(
    bucket: &B,
    prefix: &str,
    part_bytes: usize,
    report: &mut Report,
) -> Result<(), Error> {
    report.prefixes += 1;
    let mut shards: BTreeMap<String, Vec<ObjectName>> = BTreeMap::new();
    for key in bucket.keys(prefix).await? {
        if let Some(name) = ObjectName::parse(prefix, &key) {
            shards.entry(name.shard.clone()).or_default().push(name);
        }
    }
    for (shard, inputs) in shards {
        if inputs.iter().all(|o| o.compacted) {
            continue;
        }
        match merge_shard(bucket, prefix, &shard, &inputs, part_bytes, report).await? {
            Ok(written) => {
                delete_inputs(bucket, &inputs, &written, report).await?;
                report.shard_hours += 1;
            }
            Err(unsafe_) => {
                tracing::error!(%prefix, %shard, problem = %unsafe_, "shard-hour left as it is");
                report.left.push(format!("{prefix}{shard}: {unsafe_}"));
            }
        }
    }
    Ok(())
}

/// Merges and writes one shard-hour; the keys written, or why it was not safe to.
async fn merge_shard<B: Bucket>(
    bucket: &B,
    prefix: &str,
    shard: &str,
    inputs: &[ObjectName],
    part_bytes: usize,
    report: &mut Report,
) -> Result<Result<BTreeSet<String>, Unsafe>, Error> {
    let mut merge = Merge::new(inputs.to_vec());
    let mut parts = Parts::new(prefix, shard, part_bytes);
    let mut written = BTreeSet::new();
    // The merge takes objects in a known order: fetch ahead, a few at a time (a shard-hour
    // of small objects is thousands of GETs, each ~10-20 ms within a region).
    // Compacted objects (tens of MB each) are fetched when the merge reaches them, not
    // ahead: memory holds the small objects fetched ahead and the parts being read.
    let mut fetched = futures::stream::iter(merge.order())
        .map(|o| async move {
            match o.compacted {
                true => Ok((o.key, None)),
                false => bucket.get(&o.key).await.map(|body| (o.key, Some(body))),
            }
        })
        .buffered(PREFETCH);
    let io = |e: std::io::Error| Unsafe {
        key: format!("{prefix}{shard}"),
        reason: format!("compressing: {e}"),
    };
    loop {
        while let Some(name) = merge.wants() {
            let (key, body) = match fetched.next().await {
                Some(Ok((key, Some(body)))) => (key, body),
                Some(Ok((key, None))) => {
                    let body = bucket.get(&key).await?;
                    (key, body)
                }
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(Error::ArchiveRead {
                        key: name.key.clone(),
                        source: "not fetched ahead of the merge".into(),
                    });
                }
            };
            debug_assert_eq!(key, name.key);
            report.objects_read += 1;
            report.bytes_read += body.len() as u64;
            if let Err(e) = merge.supply(body) {
                return Ok(Err(e));
            }
        }
        let step = match merge.step() {
            Ok(step) => step,
            Err(e) => return Ok(Err(e)),
        };
        let done = step == Step::Done;
        let cut = match step {
            Step::Line(l) => parts.push(&l),
            Step::Repeat => Ok(()),
            Step::Done => parts.cut(),
        };
        if let Err(e) = cut {
            return Ok(Err(io(e)));
        }
        for part in std::mem::take(&mut parts.ready) {
            written.insert(part.key.clone());
            put_verified(bucket, shard, part, report).await?;
        }
        if done {
            break;
        }
    }
    report.duplicates += merge.duplicates;
    report.line_bytes += parts.line_bytes;
    Ok(Ok(written))
}

/// Puts a part and reads it back: what the bucket holds must be what was merged.
async fn put_verified<B: Bucket>(
    bucket: &B,
    shard: &str,
    mut part: Part,
    report: &mut Report,
) -> Result<(), Error> {
    let body = std::mem::take(&mut part.body);
    report.bytes_written += body.len() as u64;
    bucket.put(&part.key, body).await?;
    let stored = bucket.get(&part.key).await?;
    merge::verify(&part, shard, &stored).map_err(|e| Error::Archive {
        key: part.key.clone(),
        source: Box::new(e),
    })?;
    report.objects_written += 1;
    report.lines += part.merged.0;
    Ok(())
}

/// Deletes what was merged: earlier compacted objects first, batch objects last (a batch
/// object left behind is what makes the next run merge the shard-hour again).
async fn delete_inputs<B: Bucket>(
    bucket: &B,
    inputs: &[ObjectName],
    written: &BTreeSet<String>,
    report: &mut Report,
) -> Result<(), Error> {
    for compacted in [true, false] {
        let keys: Vec<String> = inputs
            .iter()
            .filter(|o| o.compacted == compacted && !written.contains(&o.key))
            .map(|o| o.key.clone())
            .collect();
        for chunk in keys.chunks(1000) {
            bucket.delete(chunk).await?;
            report.objects_deleted += chunk.len() as u64;
        }
    }
    Ok(())
}

/// Compacts both kinds (`raw/`, `rejected/`) of each hour (epoch ms of its start).
pub async fn compact_hours<B: Bucket>(
    bucket: &B,
    hours: &[i64],
    part_bytes: usize,
) -> Result<Report, Error> {
    let mut report = Report::default();
    for hour in hours {
        for prefix in keys::hour_prefixes(*hour) {
            compact_prefix(bucket, &prefix, part_bytes, &mut report).await?;
        }
    }
    Ok(report)
}

/// The compactor as the Lambda runtime drives it.
#[derive(Debug)]
pub struct Compactor<B> {
    pub config: crate::config::compactor::CompactConfig,
    pub bucket: B,
}

impl<B: Bucket> Compactor<B> {
    /// One invocation: the request's hours compacted; an error if any shard-hour was left.
    pub async fn handle(&self, event: serde_json::Value) -> Result<Report, Error> {
        let request: request::Request = serde_json::from_value(event).map_err(|e| {
            Error::Event(format!(
                "not a scheduled event or {{\"hours\": [\"YYYY-MM-DDTHH\", …]}}: {e}"
            ))
        })?;
        let hours = request.hours(self.config.lookback_hours, self.config.delay_minutes)?;
        let report = compact_hours(&self.bucket, &hours, self.config.part_bytes).await?;
        tracing::info!(
            hours = hours.len(),
            shard_hours = report.shard_hours,
            objects_read = report.objects_read,
            objects_written = report.objects_written,
            objects_deleted = report.objects_deleted,
            lines = report.lines,
            duplicates = report.duplicates,
            "compacted"
        );
        if report.left.is_empty() {
            Ok(report)
        } else {
            Err(Error::CompactionLeft(report.left))
        }
    }
}

//! What a workload asks of AWS, counted on the production path: records arrive at a rate
//! over a number of entities, are batched the way the event source mapping batches them
//! (per shard and lane: at the batch size or when the batching window closes), and each
//! batch goes through `Processor::process` over in-memory stores that bill like S3 and
//! DynamoDB (the larger of the item before and after, per KB). No emulator, no network.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use function::archive::MemoryArchive;
use function::event::{KinesisEvent, Record, Source};
use function::handler::{Backoff, Processor};
use function::store::MemoryTable;
use serde_json::json;

use crate::error::Error;

/// The workload and the settings that shape its requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    /// Records per second.
    pub rate: u32,
    /// Distinct entities (sensors, users) the records spread over.
    pub entities: u32,
    /// Seconds of traffic simulated.
    pub seconds: u32,
    pub shards: u32,
    pub parallelization: u32,
    pub batch_size: u32,
    pub batching_window_secs: u32,
    /// The aggregation window (`windowSeconds`).
    pub window_secs: u32,
}

/// What the simulated traffic cost in requests and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub records: u64,
    pub record_bytes: u64,
    /// Kinesis PUT payload units: 25 KB chunks, at least one per record.
    pub put_units: u64,
    pub invocations: u64,
    pub archive_objects: u64,
    pub archive_bytes: u64,
    /// Archive objects of at least 128 KB (the only ones S3 transitions under
    /// `all_storage_classes_128K`), and their bytes.
    pub large_objects: u64,
    pub large_bytes: u64,
    pub write_units: u64,
    pub item_puts: u64,
    /// The simulated archive compacted (`function::compact`, the compactor's own code).
    pub compacted: Compacted,
}

/// What compacting the simulated archive read and wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Compacted {
    /// Batch objects read (one GET each).
    pub objects_read: u64,
    /// Compacted bytes (gzip) and the bytes of their lines.
    pub bytes: u64,
    pub line_bytes: u64,
}

impl Usage {
    /// Records per invocation.
    pub fn mean_batch(&self) -> f64 {
        self.records as f64 / self.invocations.max(1) as f64
    }
}

/// A fixed start (2026-01-01T00:00:00Z): the counts do not depend on the clock.
const T0_MS: i64 = 1_767_225_600_000;

/// A record of the seed's shapes: entities 0–6 of every 10 send IoT readings, 7–9
/// clickstream events.
pub(crate) fn record(i: u64, entity: u32, t_ms: i64) -> (String, Vec<u8>) {
    let ts = chrono::DateTime::from_timestamp_millis(t_ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    if entity % 10 < 7 {
        let id = format!("sensor-{entity:06}");
        let data = json!({
            "sensorId": id,
            "temperature": 15.0 + (i % 200) as f64 / 10.0,
            "humidity": 30 + i % 60,
            "timestamp": ts,
        });
        (id, data.to_string().into_bytes())
    } else {
        let id = format!("user-{entity:06}");
        let event = ["page_view", "click", "add_to_cart"][(i % 3) as usize];
        let data = json!({ "userId": id, "event": event, "page": format!("/p/{}", i % 50), "timestamp": ts });
        (id, data.to_string().into_bytes())
    }
}

/// One batch the mapping would invoke with.
struct Batch {
    shard: u32,
    closes_ms: i64,
    records: Vec<(String, Vec<u8>, i64)>,
}

/// A Kinesis event as Lambda delivers it: `(partition key, data, arrival ms)` records on
/// one shard, sequence numbers from `first_seq`.
pub(crate) fn event_json(
    shard: u32,
    first_seq: u64,
    records: &[(String, Vec<u8>, i64)],
) -> serde_json::Value {
    let shard_id = format!("shardId-{shard:012}");
    let seqs: Vec<String> = (first_seq..)
        .take(records.len())
        .map(|n| format!("4956816737{n:046}"))
        .collect();
    let recs = records
        .iter()
        .zip(&seqs)
        .map(|((pk, data, t), seq)| Record {
            shard: &shard_id,
            seq,
            partition_key: pk,
            data,
            arrival_ms: *t,
        });
    function::event::event_json(&Source::EXAMPLE, recs)
}

/// [`event_json`] as the handler's type.
fn event(
    shard: u32,
    first_seq: u64,
    records: &[(String, Vec<u8>, i64)],
) -> Result<KinesisEvent, Error> {
    serde_json::from_value(event_json(shard, first_seq, records))
        .map_err(Error::json("a simulated event"))
}

/// Batches as the mapping forms them: per (shard, lane), closed by size or window
/// (a window under 1 s is the shard's 1 s polling interval).
fn batches(w: &Workload) -> Vec<Batch> {
    let lanes = (w.shards * w.parallelization).max(1);
    let window_ms = i64::from(w.batching_window_secs.max(1)) * 1000;
    let total = u64::from(w.rate) * u64::from(w.seconds);
    let mut open: BTreeMap<u32, Batch> = BTreeMap::new();
    let mut done = Vec::new();
    let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
    for i in 0..total {
        let entity = rng.u32(..w.entities.max(1));
        let t = T0_MS + (i * 1000 / u64::from(w.rate.max(1))) as i64;
        let (pk, data) = record(i, entity, t);
        let lane = crate::esm::lane_of(&pk, lanes as usize) as u32;
        let shard = lane / w.parallelization.max(1);
        if let Some(b) = open.get(&lane)
            && t >= b.closes_ms
        {
            done.extend(open.remove(&lane));
        }
        let b = open.entry(lane).or_insert_with(|| Batch {
            shard,
            closes_ms: t + window_ms,
            records: Vec::new(),
        });
        b.records.push((pk, data, t));
        if b.records.len() >= w.batch_size.max(1) as usize
            && let Some(mut full) = open.remove(&lane)
        {
            full.closes_ms = t;
            done.push(full);
        }
    }
    done.extend(open.into_values());
    done.sort_by_key(|b| b.closes_ms);
    done
}

/// Runs the workload through the processor; returns what it used.
pub async fn simulate(w: &Workload) -> Result<Usage, Error> {
    let config = function::Config::from_vars(|k| match k {
        function::config::ARCHIVE_BUCKET => Some("archive".into()),
        function::config::METRICS_TABLE => Some("metrics".into()),
        function::config::WINDOW_SECONDS => Some(w.window_secs.to_string()),
        _ => None,
    })
    .map_err(Error::function("the cost model's settings"))?;
    let archive = Arc::new(MemoryArchive::default());
    let table = Arc::new(MemoryTable::default());
    let mut p = Processor::new(config, archive.clone(), table.clone());
    p.backoff = Backoff::NONE;
    let mut usage = Usage::default();
    let mut seq: BTreeMap<u32, u64> = BTreeMap::new();
    for b in batches(w) {
        let first = seq.entry(b.shard).or_default();
        let ev = event(b.shard, *first, &b.records)?;
        *first += b.records.len() as u64;
        let (response, _) = p
            .process(&ev)
            .await
            .map_err(Error::function("a simulated batch"))?;
        if !response.batch_item_failures.is_empty() {
            return Err(Error::Measure(
                "a simulated batch reported a failed record".into(),
            ));
        }
        usage.invocations += 1;
        usage.records += b.records.len() as u64;
        for r in &b.records {
            usage.record_bytes += r.1.len() as u64;
            usage.put_units += (r.1.len() as u64).div_ceil(25 * 1024).max(1);
        }
    }
    let objects = archive.snapshot();
    usage.archive_objects = objects.len() as u64;
    usage.archive_bytes = objects.values().map(|o| o.len() as u64).sum();
    let large = objects.values().filter(|o| o.len() >= 128 * 1024);
    usage.large_objects = large.clone().count() as u64;
    usage.large_bytes = large.map(|o| o.len() as u64).sum();
    usage.write_units = table.write_units.load(Ordering::Relaxed);
    usage.item_puts = table.puts.load(Ordering::Relaxed);
    let hours: Vec<i64> = (0..=u64::from(w.seconds) / 3600)
        .map(|h| T0_MS + h as i64 * 3_600_000)
        .collect();
    let part = function::config::compactor::PART_KIB.default as usize * 1024;
    let report = function::compact::compact_hours(&*archive, &hours, part)
        .await
        .map_err(Error::function("compacting the simulated archive"))?;
    usage.compacted = Compacted {
        objects_read: report.objects_read,
        bytes: report.bytes_written,
        line_bytes: report.line_bytes,
    };
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(rate: u32, batch_size: u32, batching_window_secs: u32) -> Workload {
        Workload {
            rate,
            entities: 100,
            seconds: 20,
            shards: 2,
            parallelization: 2,
            batch_size,
            batching_window_secs,
            window_secs: 60,
        }
    }

    #[test]
    fn batches_close_at_size_or_window_and_keep_every_record() {
        // 400 records/s over 4 lanes is ~100 per lane-second: a 5 s window fills 100.
        let w = workload(400, 100, 5);
        let b = batches(&w);
        let n: usize = b.iter().map(|b| b.records.len()).sum();
        assert_eq!(n, 8_000);
        assert!(b.iter().all(|b| b.records.len() <= 100));
        // 4 records/s: the window closes batches of ~5 records per lane.
        let slow = batches(&workload(4, 100, 5));
        let mean = 80.0 / slow.len() as f64;
        assert!((3.0..=6.0).contains(&mean), "{mean}");
    }

    #[test]
    fn bigger_batches_write_less_per_record() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let small = rt.block_on(simulate(&workload(200, 100, 1))).expect("runs");
        let big = rt
            .block_on(simulate(&workload(200, 1_000, 20)))
            .expect("runs");
        assert_eq!(small.records, big.records);
        assert!(big.invocations < small.invocations);
        assert!(big.archive_objects < small.archive_objects);
        assert!(big.write_units < small.write_units);
    }
}

//! One reader per shard: `GetRecords` from `TRIM_HORIZON` (or after the checkpoint), each
//! record to the lane its partition key hashes to, so one key's records stay in order.

use super::*;

/// The lane a partition key's records go to: FNV-1a, stable across runs, so a key always
/// maps to the same lane (the cost model batches with it too).
pub fn lane_of(partition_key: &str, lanes: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in partition_key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % lanes.max(1) as u64) as usize
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn read_shard(
    c: Clients,
    spec: MappingSpec,
    shard: String,
    lanes: Vec<mpsc::Sender<Rec>>,
    progress: Arc<Mutex<Progress>>,
    checkpoints: Arc<Checkpoints>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
) -> Ending {
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
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    tracing::warn!(
                        shard,
                        "shard no longer exists (past retention); reader ends"
                    );
                    return Ending::Gone;
                }
                Err(e) => {
                    tracing::warn!(error = %function::error::chain(&e), shard, "GetShardIterator failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let Some(it) = iterator.clone() else {
            tracing::warn!(
                shard,
                ?last_read,
                "GetShardIterator returned no iterator; shard reader ends"
            );
            return Ending::Closed;
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
                tracing::warn!(error = %function::error::chain(&e), shard, "GetRecords failed");
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
            stats.update(|t| t.mapping.records_read += 1);
            last_read = Some(rec.seq.clone());
            let lane = lane_of(&rec.partition_key, lanes.len());
            if lanes[lane].send(rec).await.is_err() {
                return Ending::Stopped;
            }
        }
        iterator = out.next_shard_iterator().map(str::to_owned);
        if iterator.is_none() {
            tracing::info!(
                shard,
                ?last_read,
                "shard closed (no next iterator); reader ends"
            );
            return Ending::Closed;
        }
        if records.is_empty() {
            // Caught up, and every record read is done: nothing is behind (Lambda reports
            // no IteratorAge for an idle stream; the status shows 0, not the last batch's).
            stats.update(|t| {
                if t.mapping.records_done >= t.mapping.records_read {
                    t.mapping.iterator_age_ms = 0;
                }
            });
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ending::Stopped
}

/// Why a shard reader ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// Read to the end of a closed shard: its children may be read once its lanes drain.
    Closed,
    /// The shard no longer exists (past the stream's retention).
    Gone,
    /// The mapping is stopping.
    Stopped,
}

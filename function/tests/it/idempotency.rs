//! Exactly-once: any delivery schedule with duplicates gives the table of delivering each
//! record once, and the invariants of `invariants` hold after every step.
//!
//! The model follows Lambda's Kinesis event source mapping: per shard, records are split
//! into lanes by partition key (parallelization factor 2); each lane delivers batches from
//! its checkpoint; a batch may succeed, time out after writing (full redelivery), be
//! checkpointed part-way (partial batch response or bisection), hit a failing table or
//! archive (the handler's own `batchItemFailures` decide the new checkpoint), or the whole
//! mapping may be replaced (replay from TRIM_HORIZON). Lanes of both shards interleave and
//! batches go to one of three warm containers, whose item caches are therefore stale.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use function::archive::MemoryArchive;
use function::handler::{Backoff, Processor};
use function::recover;
use function::store::{MemoryTable, Totals};
use proptest::prelude::*;
use serde_json::json;

use crate::arb::{GenRecord, Next, User, arb_shard, arb_step};
use crate::invariants::{check_invariants, sent};
use crate::support::{Crashing, In, SHARDS, T0_MS, block_on, config, event, seq, totals};

/// Builds the Kinesis records of one shard.
pub(crate) fn shard_records(shard: usize, recs: &[GenRecord]) -> Vec<In> {
    recs.iter()
        .enumerate()
        .map(|(i, (pk, users, kind))| {
            let payload = |(entity, dt, v): &User| {
                json!({
                    "sensorId": format!("sensor-{entity}"),
                    "reading": v,
                    "timestamp": (T0_MS / 1000) + dt,
                })
                .to_string()
            };
            let partition_key = format!("pk-{pk}");
            let data = match kind {
                0..=5 => payload(&users[0]).into_bytes(),
                6..=8 => {
                    let bodies: Vec<String> = users.iter().map(payload).collect();
                    let keys: Vec<String> = (0..users.len()).map(|j| format!("u{j}")).collect();
                    let refs: Vec<(&str, &[u8])> = keys
                        .iter()
                        .zip(&bodies)
                        .map(|(k, b)| (k.as_str(), b.as_bytes()))
                        .collect();
                    crate::producer::kpl(&refs)
                }
                _ => b"\x00garbage".to_vec(),
            };
            In {
                shard: SHARDS[shard],
                seq: seq(i as u64 * 3 + 1),
                partition_key,
                data,
                arrival_ms: T0_MS + i as i64 * 100,
            }
        })
        .collect()
}

pub(crate) type Containers = Vec<Processor<Arc<MemoryArchive>, Arc<MemoryTable>>>;

pub(crate) fn containers(
    n: usize,
    archive: &Arc<MemoryArchive>,
    table: &Arc<MemoryTable>,
    marks_budget: usize,
) -> Containers {
    (0..n)
        .map(|_| {
            let mut cfg = config();
            cfg.marks_budget = marks_budget;
            let mut p = Processor::new(cfg, archive.clone(), table.clone());
            p.backoff = Backoff::NONE;
            p
        })
        .collect()
}

/// Archived (shard, seq, sub) triples, de-duplicated as a reader would.
fn archived(archive: &MemoryArchive) -> BTreeSet<(String, String, u64)> {
    archive
        .lines("")
        .iter()
        .map(|l| {
            (
                l["shardId"].as_str().unwrap_or_default().to_owned(),
                l["sequenceNumber"].as_str().unwrap_or_default().to_owned(),
                l["subSequenceNumber"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_delivery_schedule_counts_each_record_once(
        s0 in arb_shard(),
        s1 in arb_shard(),
        steps in prop::collection::vec(arb_step(), 0..40),
        // 40 bytes: about one mark per page, so domains spread over many pages.
        marks_budget in prop_oneof![Just(40usize), Just(8 * 1024)],
    ) {
        let shards = [shard_records(0, &s0), shard_records(1, &s1)];
        // Lanes: per shard, partition keys hashed onto 2 concurrent lanes, order kept.
        let lanes: Vec<Vec<In>> = shards
            .iter()
            .flat_map(|recs| {
                (0..2).map(move |lane| {
                    recs.iter()
                        .filter(|r| r.partition_key.bytes().map(usize::from).sum::<usize>() % 2 == lane)
                        .cloned()
                        .collect::<Vec<_>>()
                })
            })
            .filter(|l| !l.is_empty())
            .collect();

        // Reference: every lane delivered once, in one batch each, by one container.
        let (ref_archive, ref_table) = (Arc::new(MemoryArchive::default()), Arc::new(MemoryTable::default()));
        let reference = containers(1, &ref_archive, &ref_table, 8 * 1024);
        for lane in &lanes {
            let (resp, _) = block_on(reference[0].process(&event(lane))).expect("processed");
            prop_assert!(resp.batch_item_failures.is_empty());
        }

        // The schedule.
        let (archive, table) = (Arc::new(MemoryArchive::default()), Arc::new(MemoryTable::default()));
        let warm = containers(3, &archive, &table, marks_budget);
        let mut cursor = vec![0usize; lanes.len()];
        let mut given_up: Vec<In> = Vec::new();
        let sent: Vec<_> = sent(0, &s0).into_iter().chain(sent(1, &s1)).collect();
        let invariants = |given_up: &[In]| {
            let pages = table.pages().expect("every item is a page");
            check_invariants(&pages, &sent, given_up)
        };
        for (lane_pick, len, next, container) in steps {
            // The invariants hold after every step (here: after the step before).
            if let Err(e) = invariants(&given_up) {
                prop_assert!(false, "{}", e);
            }
            if let Next::Redrive = next {
                redrive(&warm[container], &archive, &table, &mut given_up)?;
                continue;
            }
            if let Next::Compact(part_bytes, crash) = next {
                let before = archived(&archive);
                compact(&archive, part_bytes, crash);
                prop_assert_eq!(archived(&archive), before, "compaction lost or invented a record");
                continue;
            }
            let l = lane_pick.index(lanes.len());
            let lane = &lanes[l];
            if cursor[l] >= lane.len() {
                continue;
            }
            let end = (cursor[l] + len).min(lane.len());
            let batch = &lane[cursor[l]..end];
            match next {
                Next::FailingTable | Next::GiveUp(0) => table.failing.store(true, Ordering::SeqCst),
                Next::FailingArchive | Next::GiveUp(1) => {
                    if let Ok(mut f) = archive.fail_prefixes.lock() {
                        f.push("raw/".into());
                    }
                }
                Next::GiveUp(_) => {
                    if let Ok(mut e) = table.failing_entity.lock() {
                        *e = Some("sensor-0".into());
                    }
                }
                _ => {}
            }
            let (resp, _) = block_on(warm[container].process(&event(batch))).expect("processed");
            table.failing.store(false, Ordering::SeqCst);
            if let Ok(mut e) = table.failing_entity.lock() {
                *e = None;
            }
            if let Ok(mut f) = archive.fail_prefixes.lock() {
                f.clear();
            }
            let reported = resp.batch_item_failures.first().and_then(|f| f.item_identifier.clone());
            if let Next::GiveUp(_) = next {
                // Retries exhausted: what was not done goes to the failure destination and
                // the lane moves on past the batch.
                let from = reported
                    .and_then(|f| batch.iter().position(|r| r.seq == f))
                    .unwrap_or(batch.len());
                given_up.extend_from_slice(&batch[from..]);
                cursor[l] = end;
                continue;
            }
            cursor[l] = match (next, reported) {
                // Lambda checkpoints before the reported record and retries from it.
                (_, Some(failed)) => {
                    cursor[l] + batch.iter().position(|r| r.seq == failed).expect("reported record is in the batch")
                }
                (Next::Success | Next::FailingTable | Next::FailingArchive, None) => end,
                (Next::Redeliver, None) => cursor[l],
                (Next::Partial(i), None) => cursor[l] + i.index(batch.len()),
                (Next::Replay, None) => 0,
                (Next::GiveUp(_) | Next::Redrive | Next::Compact(..), None) => {
                    unreachable!("handled above")
                }
            };
        }
        // Drain: every lane delivered to the end, then what waits is redriven.
        for (l, lane) in lanes.iter().enumerate() {
            if cursor[l] < lane.len() {
                let (resp, _) = block_on(warm[0].process(&event(&lane[cursor[l]..]))).expect("processed");
                prop_assert!(resp.batch_item_failures.is_empty());
            }
        }
        if let Err(e) = invariants(&given_up) {
            prop_assert!(false, "after the drain: {}", e);
        }
        redrive(&warm[1], &archive, &table, &mut given_up)?;
        // Nothing pending: every page counts exactly what its marks cover.
        if let Err(e) = invariants(&given_up) {
            prop_assert!(false, "after the last redrive: {}", e);
        }

        let (got, want) = (totals(&table), totals(&ref_table));
        prop_assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
        for (k, item) in &want {
            // How many pages an aggregate spans depends on the schedule; its values do not.
            let got = Totals { pages: item.pages, ..got[k].clone() };
            prop_assert_eq!(&got, item, "item {:?}", k);
        }
        prop_assert_eq!(archived(&archive), archived(&ref_archive));
        // Compacted to the end: only compacted objects, every record in exactly one.
        compact(&archive, 256 << 20, None);
        let lines = archive.lines("").len();
        prop_assert_eq!(lines, archived(&archive).len(), "a record archived twice after compaction");
        prop_assert!(archive.snapshot().keys().all(|k| k.ends_with("-compacted.ndjson.gz")));
        prop_assert_eq!(archived(&archive), archived(&ref_archive));
        let total: usize = shards.iter().map(Vec::len).sum();
        prop_assert!(archived(&ref_archive).len() >= total);
    }
}

/// Compacts the hours the shards arrived in; `crash`: the run is killed after that many
/// bucket calls (what it did stays; the next run picks up).
pub(crate) fn compact(archive: &MemoryArchive, part_bytes: usize, crash: Option<usize>) {
    let hours = [T0_MS.div_euclid(3_600_000) * 3_600_000];
    let bucket = Crashing::new(archive, crash);
    let done = block_on(function::compact::compact_hours(
        &bucket, &hours, part_bytes,
    ));
    if crash.is_none() {
        let report = done.expect("compaction runs to its end");
        assert!(report.left.is_empty(), "{report:?}");
    }
}

/// Recovery as the operator runs it: invoke the function with the given-up records, then
/// rebuild the pages holding their domains from the archive.
pub(crate) fn redrive(
    container: &Processor<Arc<MemoryArchive>, Arc<MemoryTable>>,
    archive: &Arc<MemoryArchive>,
    table: &Arc<MemoryTable>,
    given_up: &mut Vec<In>,
) -> Result<(), TestCaseError> {
    if given_up.is_empty() {
        return Ok(());
    }
    let ev = event(given_up);
    let (resp, _) = block_on(container.process(&ev)).expect("processed");
    prop_assert!(
        resp.batch_item_failures.is_empty(),
        "no fault during a redrive"
    );
    let report = block_on(recover::recover_event(
        &**archive,
        &**table,
        &container.config,
        &ev,
    ))
    .expect("recovered");
    prop_assert_eq!(report.not_counted, 0, "{:?}", report);
    given_up.clear();
    Ok(())
}

/// A fixed schedule, readable: duplicate, partial retry and replay of one shard.
#[test]
fn redelivery_partial_retry_and_replay_do_not_double_count() {
    let recs = shard_records(
        0,
        &(0..6)
            .map(|i| (i % 2, vec![(0, i as i64, 10)], 0u8))
            .collect::<Vec<_>>(),
    );
    let (archive, table) = (
        Arc::new(MemoryArchive::default()),
        Arc::new(MemoryTable::default()),
    );
    let c = containers(2, &archive, &table, 40);
    for batch in [
        &recs[0..4],
        &recs[0..4],
        &recs[2..6],
        &recs[..],
        &recs[5..6],
    ] {
        block_on(c[1].process(&event(batch))).expect("processed");
        block_on(c[0].process(&event(batch))).expect("processed");
    }
    let items = totals(&table);
    let count: u64 = items.values().map(|t| t.count).sum();
    assert_eq!(count, 6);
    assert!(items.values().all(|t| t.metrics.contains_key("reading")));
}

//! Compaction examples: objects it cannot place are left whole, late arrivals are merged by
//! the next run, parts are cut (the exactly-once property with crashes is in `idempotency`).

use function::archive::{ArchiveStore, MemoryArchive};
use function::compact::{Compactor, compact_hours};
use function::config::compactor::CompactConfig;

use crate::support::{Crashing, In, SHARDS, T0_MS, block_on, event, processor, seq};

const HOUR: i64 = T0_MS / 3_600_000 * 3_600_000;

fn records(shard: usize, from: u64, n: u64) -> Vec<In> {
    (from..from + n)
        .map(|i| In {
            shard: SHARDS[shard],
            seq: seq(i),
            partition_key: format!("pk-{}", i % 3),
            data: format!(r#"{{"sensorId":"s-{i}","temperature":{i}}}"#).into_bytes(),
            arrival_ms: T0_MS + i as i64,
        })
        .collect()
}

fn keys(archive: &MemoryArchive) -> Vec<String> {
    archive.snapshot().into_keys().collect()
}

/// Every archived line's (shard, sequence number), in the order the objects hold them.
fn positions(archive: &MemoryArchive) -> Vec<(String, String)> {
    archive
        .lines("raw/")
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
            (s("shardId"), s("sequenceNumber"))
        })
        .collect()
}

#[test]
fn late_arrivals_are_merged_by_the_next_run_and_parts_are_cut_between_records() {
    let (p, archive, _) = processor();
    for batch in records(0, 0, 40).chunks(7) {
        block_on(p.process(&event(batch))).expect("processed");
    }
    // Parts of ~300 compressed bytes: several per shard-hour, each a range of its own.
    let report = block_on(compact_hours(&*archive, &[HOUR], 300)).expect("compacted");
    assert!(report.objects_written > 1, "{report:?}");
    assert!(
        keys(&archive)
            .iter()
            .all(|k| k.ends_with("-compacted.ndjson.gz"))
    );
    assert_eq!(positions(&archive).len(), 40);
    // A late batch (a redrive) with a redelivered record: merged, each record once.
    block_on(p.process(&event(&records(0, 39, 5)))).expect("processed");
    let report = block_on(compact_hours(&*archive, &[HOUR], 256 << 20)).expect("compacted");
    assert_eq!((report.duplicates, report.lines), (1, 44), "{report:?}");
    let got = positions(&archive);
    assert_eq!(got.len(), 44);
    let mut sorted = got.clone();
    sorted.sort_by(|a, b| (a.1.len(), &a.1).cmp(&(b.1.len(), &b.1)));
    assert_eq!(got, sorted, "a compacted hour is in position order");
    assert_eq!(keys(&archive).len(), 1);
    // Nothing left to do: a clean hour is listed, not read.
    let report = block_on(compact_hours(&*archive, &[HOUR], 256 << 20)).expect("compacted");
    assert_eq!((report.objects_read, report.objects_written), (0, 0));
}

#[test]
fn an_object_it_cannot_place_leaves_its_shard_hour_whole_and_fails_the_invocation() {
    let (p, archive, _) = processor();
    block_on(p.process(&event(&records(0, 0, 5)))).expect("processed");
    block_on(p.process(&event(&records(1, 0, 5)))).expect("processed");
    let hour = "raw/year=2024/month=01/day=15/hour=10/";
    let odd = format!("{hour}{}-100-200.ndjson.gz", SHARDS[1]);
    block_on(archive.put(&odd, b"not gzip".to_vec())).expect("put");
    let before: Vec<String> = keys(&archive)
        .into_iter()
        .filter(|k| k.contains(SHARDS[1]))
        .collect();
    let compactor = Compactor {
        config: CompactConfig::from_vars(|k| match k {
            "ARCHIVE_BUCKET" => Some("archive".into()),
            "RETENTION_HOURS" => Some("24".into()),
            _ => None,
        })
        .expect("config"),
        bucket: archive.clone(),
    };
    let request = serde_json::json!({ "hours": ["2024-01-15T10"] });
    let err = block_on(compactor.handle(request)).expect_err("a shard-hour was left");
    assert!(err.to_string().contains("not gzip"), "{err}");
    assert_eq!(err.kind(), function::ErrorKind::Fatal);
    let after = keys(&archive);
    assert!(
        before.iter().all(|k| after.contains(k)),
        "nothing of shard 1 deleted"
    );
    // The other shard was compacted.
    assert!(
        after
            .iter()
            .any(|k| k.contains(SHARDS[0]) && k.ends_with("-compacted.ndjson.gz"))
    );
    assert!(
        !after
            .iter()
            .any(|k| k.contains(SHARDS[0]) && !k.ends_with("-compacted.ndjson.gz"))
    );
}

/// Every (shard, sequence, sub-sequence) in `raw/` and `rejected/`, with how often.
fn triples(archive: &MemoryArchive) -> std::collections::BTreeMap<(String, String, u64), usize> {
    let mut seen = std::collections::BTreeMap::new();
    for l in archive.lines("") {
        let s = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
        let t = (
            s("shardId"),
            s("sequenceNumber"),
            l["subSequenceNumber"].as_u64().unwrap_or(0),
        );
        *seen.entry(t).or_insert(0) += 1;
    }
    seen
}

/// The exhaustive version of the property's random kills: a run stopped after each of its
/// bucket calls in turn, then run again, leaves every record exactly once.
#[test]
fn a_run_killed_after_any_of_its_bucket_calls_then_run_again_leaves_every_record_once() {
    let (p, archive, _) = processor();
    // Both shards, redeliveries (overlapping batches), a poison record (rejected/), an
    // earlier compaction and a late batch after it.
    for shard in 0..2 {
        let recs = records(shard, 0, 30);
        for batch in recs.chunks(7).chain(recs[5..20].chunks(15)) {
            block_on(p.process(&event(batch))).expect("processed");
        }
    }
    let mut poison = records(1, 40, 1);
    poison[0].data = b"\x00not json".to_vec();
    block_on(p.process(&event(&poison))).expect("processed");
    // One part per shard-hour now; the runs below cut small parts, so the earlier part is
    // an input they must delete (before the batch objects).
    block_on(compact_hours(&*archive, &[HOUR], 256 << 20)).expect("compacted");
    block_on(p.process(&event(&records(0, 28, 6)))).expect("processed");
    let start = archive.snapshot();
    let want: Vec<_> = triples(&archive).into_keys().collect();
    assert!(
        want.iter().any(|t| t.0 == SHARDS[1] && t.1 == seq(40)),
        "the poison record"
    );
    for calls in 0.. {
        let a = MemoryArchive::default();
        for (k, v) in &start {
            block_on(a.put(k, v.clone())).expect("put");
        }
        let killed = Crashing::new(&a, Some(calls));
        let finished = block_on(compact_hours(&killed, &[HOUR], 300)).is_ok();
        assert_eq!(
            triples(&a).into_keys().collect::<Vec<_>>(),
            want,
            "lost after {calls} calls"
        );
        let report = block_on(compact_hours(&a, &[HOUR], 300)).expect("the next run");
        assert!(report.left.is_empty(), "{report:?}");
        let once = triples(&a);
        assert_eq!(
            once.keys().cloned().collect::<Vec<_>>(),
            want,
            "after {calls} calls"
        );
        assert!(
            once.values().all(|n| *n == 1),
            "a record twice after {calls} calls"
        );
        assert!(keys(&a).iter().all(|k| k.ends_with("-compacted.ndjson.gz")));
        if finished {
            assert!(
                calls > 10,
                "a run of this archive makes more calls: {calls}"
            );
            break;
        }
    }
}

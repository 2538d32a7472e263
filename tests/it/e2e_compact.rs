//! End to end: the archive compacted on the local stack by the packaged compactor, killed
//! midway and run again, with batches given up and redriven around it: every record once in
//! the archive, and the table exact after the recovery that reads the compacted hours.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use local::LocalStack;
use local::producer::{self, Sample};

use crate::e2e::{
    archive, archive_keys, assert_table, break_table, now_ms, restore_table, send, up, wait_done,
};

/// Every archive key, and the hours (`YYYY-MM-DDTHH`) they lie in.
async fn keys(s: &LocalStack) -> (Vec<String>, BTreeSet<String>) {
    let keys = archive_keys(s, "").await;
    let hours = keys
        .iter()
        .filter_map(|k| {
            let field = |name: &str| k.split('/').find_map(|p| p.strip_prefix(name));
            Some(format!(
                "{}-{}-{}T{}",
                field("year=")?,
                field("month=")?,
                field("day=")?,
                field("hour=")?
            ))
        })
        .collect();
    (keys, hours)
}

/// (shard, sequence, sub-sequence) of every archived line under `raw/`, with how often each
/// appears.
async fn triples(s: &LocalStack) -> BTreeMap<(String, String, u64), usize> {
    let mut seen = BTreeMap::new();
    for l in archive(s, "raw/").await {
        let t = (
            l["shardId"].as_str().unwrap_or_default().to_owned(),
            l["sequenceNumber"].as_str().unwrap_or_default().to_owned(),
            l["subSequenceNumber"].as_u64().unwrap_or_default(),
        );
        *seen.entry(t).or_insert(0) += 1;
    }
    seen
}

fn compacted(key: &str) -> bool {
    key.ends_with("-compacted.ndjson.gz")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn a_compaction_killed_midway_and_run_again_leaves_every_record_once_and_recovery_exact() {
    let mut s = up("dev", "compact").await;
    let first = producer::samples(1_500, 31, now_ms(), 60);
    send(&s, &first).await;
    wait_done(&s, 1_500).await;

    // Give-ups: the table unreachable, so Lambda retries, bisects (the same records in
    // several archive objects) and keeps the batches.
    let table = break_table(&mut s).await;
    let second_now = now_ms();
    let second = producer::samples(200, 32, second_now, 60);
    send(&s, &second).await;
    wait_done(&s, 200).await;
    assert!(s.counters().batches_failed >= 1, "{:?}", s.counters());
    restore_table(&mut s, table).await;
    let third = producer::samples(300, 33, second_now, 60);
    send(&s, &third).await;
    wait_done(&s, 300).await;
    s.stop_mapping().await;

    let before = triples(&s).await;
    assert_eq!(before.len(), 2_000, "every record archived");
    let (batch_keys, hours) = keys(&s).await;
    let hours: Vec<String> = hours.into_iter().collect();

    // Parts of 1 KiB: hundreds of parts per shard, each put and read back, so a shard's
    // first part is seconds before its deletes: the kill lands between them.
    let mut compactor = s.compactor().expect("compactor");
    compactor
        .spec
        .env
        .insert("COMPACT_PART_KIB".into(), "1".into());
    let request = serde_json::json!({ "hours": hours });
    let run = tokio::spawn({
        let compactor = compactor.clone();
        let request = request.clone();
        async move { compactor.invoke(&request).await }
    });
    let started = std::time::Instant::now();
    while !keys(&s).await.0.iter().any(|k| compacted(k)) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no compacted part"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Killed: the task drops its execution environment, whose process is SIGKILLed.
    run.abort();
    let _ = run.await;
    let (midway, _) = keys(&s).await;
    assert!(
        midway.iter().any(|k| !compacted(k)) && midway.iter().any(|k| compacted(k)),
        "killed midway: batch objects and compacted parts side by side"
    );
    let after_kill = triples(&s).await;
    assert_eq!(
        after_kill.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "nothing lost by the kill"
    );

    // Run again (default part size): every record exactly once, only compacted objects.
    let report = s.compact(&hours).await.expect("compaction runs to its end");
    assert!(report.left.is_empty(), "{report:?}");
    let (after, _) = keys(&s).await;
    assert!(after.iter().all(|k| compacted(k)), "{after:?}");
    assert!(
        after.len() < batch_keys.len() / 10,
        "{} objects from {}",
        after.len(),
        batch_keys.len()
    );
    let once = triples(&s).await;
    assert_eq!(
        once.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    assert!(
        once.values().all(|n| *n == 1),
        "a record twice after compaction"
    );

    // Recovery reads the compacted hours: the table is exact over every record.
    let r = s.redrive().await.expect("redrive");
    assert_eq!((r.records, r.waiting()), (200, 0), "{r:?}");
    let all: Vec<Sample> = first.iter().chain(&second).chain(&third).cloned().collect();
    assert_table(&s, &all).await;
    // The redrive archived its records again (late arrivals in compacted hours): the next
    // run merges them, still once each.
    let report = s.compact(&hours).await.expect("compaction");
    assert!(report.duplicates >= 200, "{report:?}");
    let again = triples(&s).await;
    assert_eq!(again.len(), 2_000);
    assert!(again.values().all(|n| *n == 1));
    assert!(keys(&s).await.0.iter().all(|k| compacted(k)));
    assert_table(&s, &all).await;
    s.down().await;
}

//! Valid input inside DynamoDB's hard limits never fails a batch: wide records, thousands
//! of partition keys per item, empty and oversized ids, against a table as strict as
//! DynamoDB and an oracle computed from the generated records alone.

use std::collections::BTreeMap;
use std::sync::Arc;

use function::archive::MemoryArchive;
use function::handler::{Backoff, Processor};
use function::store::{MemoryTable, item};
use proptest::prelude::*;

use crate::arb::{Reading, arb_readings};
use crate::support::{In, SHARDS, T0_MS, block_on, config, event, seq, totals};

/// (entity, window label) → (count, metric → (count, sum, min, max)).
type Oracle = BTreeMap<(String, String), (u64, BTreeMap<String, (u64, i64, i64, i64)>)>;

/// What the table must hold, from the readings alone: the id names the entity when it is
/// a valid key value (1..=2,048 bytes), else the partition key; one-minute windows.
fn oracle(readings: &[Reading]) -> Oracle {
    let mut out = Oracle::new();
    for r in readings {
        let entity = if !r.id.is_empty() && r.id.len() <= 2048 {
            r.id.clone()
        } else {
            r.partition_key.clone()
        };
        let secs = T0_MS / 1000 + r.second;
        let window = chrono::DateTime::from_timestamp(secs - secs.rem_euclid(60), 0)
            .expect("in range")
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let e = out.entry((entity, window)).or_default();
        e.0 += 1;
        for (i, v) in r.values.iter().enumerate() {
            let m =
                e.1.entry(Reading::name(i))
                    .or_insert((0, 0, i64::MAX, i64::MIN));
            m.0 += 1;
            m.1 += v;
            m.2 = m.2.min(*v);
            m.3 = m.3.max(*v);
        }
    }
    out
}

fn records(readings: &[Reading]) -> Vec<In> {
    readings
        .iter()
        .enumerate()
        .map(|(i, r)| In {
            shard: SHARDS[i % 2],
            seq: seq(i as u64 + 1),
            partition_key: r.partition_key.clone(),
            data: r.json().into_bytes(),
            arrival_ms: T0_MS + r.second * 1000,
        })
        .collect()
}

/// Processes `batches` (slices of `recs`) and checks: no failures, nothing refused, every
/// item within DynamoDB's limits, totals equal to the oracle.
#[track_caller]
fn check(readings: &[Reading], batch_size: usize, marks_budget: usize) -> Arc<MemoryTable> {
    let recs = records(readings);
    let table = Arc::new(MemoryTable::default());
    let mut cfg = config();
    cfg.marks_budget = marks_budget;
    let mut p = Processor::new(cfg, Arc::new(MemoryArchive::default()), table.clone());
    p.backoff = Backoff::NONE;
    for shard in SHARDS {
        let mine: Vec<In> = recs.iter().filter(|r| r.shard == shard).cloned().collect();
        for batch in mine.chunks(batch_size.max(1)) {
            let (resp, summary) = block_on(p.process(&event(batch))).expect("processed");
            assert!(resp.batch_item_failures.is_empty(), "{summary:?}");
            assert_eq!((summary.refused, summary.rejected), (0, 0), "{summary:?}");
        }
    }
    for (key, it) in table.snapshot() {
        let size = item::item_size(&it);
        assert!(size <= item::MAX_ITEM_BYTES, "{key:?} is {size} bytes");
    }
    let got = totals(&table);
    let want = oracle(readings);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, (count, metrics)) in &want {
        let t = &got[k];
        assert_eq!(t.count, *count, "count of {k:?}");
        assert_eq!(t.not_aggregated, 0, "{k:?}");
        assert_eq!(t.metrics.len(), metrics.len(), "metrics of {k:?}");
        for (name, (n, sum, min, max)) in metrics {
            let s = &t.metrics[name];
            let got = (s.count, s.sum.to_f64(), s.min.to_f64(), s.max.to_f64());
            assert_eq!(
                got,
                (*n, *sum as f64, *min as f64, *max as f64),
                "{name} of {k:?}"
            );
        }
    }
    table
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn wide_records_many_keys_and_odd_ids_are_counted_exactly(
        readings in arb_readings(),
        batch_size in 1usize..400,
        small_pages in any::<bool>(),
    ) {
        check(&readings, batch_size, if small_pages { 256 } else { 8 * 1024 });
    }
}

/// One batch of 1,000 records with 1,000 partition keys, all for one item: it spills over
/// pages, stays inside the limits and counts exactly; redelivered to a cold container it
/// counts nothing again.
#[test]
fn one_batch_of_a_thousand_keys_for_one_item() {
    let readings: Vec<Reading> = (0..1000)
        .map(|i| Reading {
            id: "sensor-hot".into(),
            partition_key: format!("{i:08x}-7d1e-4c7a-9e52-{i:012x}"),
            second: (i % 50) as i64,
            values: vec![i as i64 % 7, 3],
        })
        .collect();
    let table = check(&readings, 1000, 8 * 1024);
    let pages = table.pages().expect("pages");
    assert!(
        pages.len() > 2,
        "1,000 keys need several pages: {}",
        pages.len()
    );
    let mut p = Processor::new(config(), Arc::new(MemoryArchive::default()), table.clone());
    p.backoff = Backoff::NONE;
    let before = table.snapshot();
    for shard in SHARDS {
        let mine: Vec<In> = records(&readings)
            .into_iter()
            .filter(|r| r.shard == shard)
            .collect();
        let (resp, s) = block_on(p.process(&event(&mine))).expect("processed");
        assert!(resp.batch_item_failures.is_empty());
        assert_eq!((s.counted, s.duplicates), (0, mine.len() as u64));
    }
    assert_eq!(table.snapshot(), before);
}

/// 5,000 keys for one entity and window, wide records of 120 fields, empty and 3,000-byte
/// ids: exact, no failure, no item near 400 KB.
#[test]
fn five_thousand_keys_wide_records_and_bad_ids() {
    let readings: Vec<Reading> = (0..5000)
        .map(|i| Reading {
            id: match i % 50 {
                0 => String::new(),
                1 => "x".repeat(3000),
                _ => "sensor-wide".into(),
            },
            partition_key: format!("key-{i:05}"),
            second: 7,
            values: (0..120).map(|f| (i + f) as i64 % 1000).collect(),
        })
        .collect();
    let table = check(&readings, 500, 8 * 1024);
    let largest = table
        .snapshot()
        .values()
        .map(item::item_size)
        .max()
        .unwrap_or_default();
    assert!(largest < 64 * 1024, "largest page {largest} bytes");
}

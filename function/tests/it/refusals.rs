//! One record's value never costs its neighbours: a record carrying an odd value shares an
//! aggregate with three ordinary ones, and the three are always counted — against a table
//! as strict as DynamoDB, and against one that refuses a marked record's page (where only
//! the record the table refuses is quarantined, found by halving the refused write).

use std::sync::Arc;

use function::archive::MemoryArchive;
use function::handler::{Backoff, Processor};
use function::store::{MemoryTable, MetricsStore};
use serde_json::{Value, json};

use crate::support::{In, Refusing, SHARDS, T0_MS, block_on, config, event, seq, totals};

/// `n` ordinary records of `sensor-1` in one minute, keys `k0…`, then `odd` records, keys
/// `odd0…`; every record has `temperature: 20.5`.
fn batch(n: usize, odd: &[Value]) -> Vec<In> {
    let secs = T0_MS / 1000;
    let ordinary = (0..n).map(|i| {
        (
            format!("k{i}"),
            json!({"sensorId": "sensor-1", "timestamp": secs, "temperature": 20.5}),
        )
    });
    let odd = odd.iter().enumerate().map(|(i, v)| {
        let mut fields = json!({"sensorId": "sensor-1", "timestamp": secs, "temperature": 20.5});
        if let (Some(o), Some(extra)) = (fields.as_object_mut(), v.as_object()) {
            o.extend(extra.clone());
        }
        (format!("odd{i}"), fields)
    });
    ordinary
        .chain(odd)
        .enumerate()
        .map(|(i, (key, data))| In {
            shard: SHARDS[0],
            seq: seq(i as u64 + 1),
            partition_key: key,
            data: data.to_string().into_bytes(),
            arrival_ms: T0_MS,
        })
        .collect()
}

/// Processes `recs` and checks what must hold whatever the odd records carry: no batch
/// failure, every ordinary record (keys `k…`) counted, nothing quarantined but odd records,
/// and every record either counted or quarantined. Returns the quarantined lines.
#[track_caller]
fn check<M: MetricsStore + Send + Sync>(
    p: &Processor<Arc<MemoryArchive>, M>,
    archive: &MemoryArchive,
    table: &MemoryTable,
    recs: &[In],
    case: &str,
) -> Vec<Value> {
    let (resp, summary) = block_on(p.process(&event(recs))).expect("processed");
    assert!(resp.batch_item_failures.is_empty(), "{case}: {summary:?}");
    let rejected = archive.lines("rejected/");
    for line in &rejected {
        let key = line["partitionKey"].as_str().unwrap_or_default();
        assert!(
            key.starts_with("odd"),
            "{case}: an ordinary record was quarantined: {line}"
        );
    }
    let ordinary = recs
        .iter()
        .filter(|r| r.partition_key.starts_with('k'))
        .count() as u64;
    let sensor: u64 = totals(table)
        .iter()
        .filter(|((entity, _), _)| entity == "sensor-1")
        .map(|(_, t)| t.count)
        .sum();
    let elsewhere: u64 = totals(table)
        .iter()
        .filter(|((entity, _), _)| entity != "sensor-1")
        .map(|(_, t)| t.count)
        .sum();
    assert!(
        sensor >= ordinary,
        "{case}: {sensor} counted of {ordinary} ordinary"
    );
    assert_eq!(
        sensor + elsewhere + rejected.len() as u64,
        recs.len() as u64,
        "{case}: every record counted or quarantined, once"
    );
    rejected
}

/// Every record here is valid JSON with a usable entity: the strict table never sees a
/// value it refuses (an empty event value, like an empty metric name, is not aggregated).
#[test]
fn an_odd_value_never_costs_its_neighbours_on_a_strict_table() {
    let long = "x".repeat(300);
    let huge = "y".repeat(70_000);
    let odd: Vec<Value> = vec![
        json!({"event": ""}),
        json!({"eventType": ""}),
        json!({"event": "", "eventType": ""}),
        json!({"event": long}),
        json!({"event": huge}),
        json!({"event": "\u{0}"}),
        json!({"event": "nul\u{0}inside"}),
        json!({"event": "温度/テスト 🌡"}),
        json!({"event": "a.b.c"}),
        json!({"event": "#1"}),
        json!({"event": 123}),
        json!({"event": true}),
        json!({"event": null}),
        json!({"event": {}}),
        json!({"event": ["click"]}),
        json!({"event": {"nested": "x"}}),
        json!({"": 5}),
        json!({"a.b": 1}),
        json!({long.clone(): 1}),
        json!({"m": 1e308}),
        json!({"m": -1e308}),
        json!({"m": 1e-300}),
        json!({"m": 123_456_789_012_345_678_901_234_567_890.0_f64}),
        json!({"m": 999_999_999_999_999.9}),
        json!({"m": -0.0}),
        json!({"temperature": "hot"}),
        json!({"sensorId": ""}),
        json!({"sensorId": "\u{0}"}),
        json!({"sensorId": huge}),
        json!({"sensorId": 42}),
        json!({"timestamp": "not a time"}),
        json!({"timestamp": -1}),
    ];
    for v in &odd {
        let archive = Arc::new(MemoryArchive::default());
        let table = Arc::new(MemoryTable::default());
        let mut p = Processor::new(config(), archive.clone(), table.clone());
        p.backoff = Backoff::NONE;
        let case = v.to_string().chars().take(80).collect::<String>();
        let rejected = check(
            &p,
            &archive,
            &table,
            &batch(3, std::slice::from_ref(v)),
            &case,
        );
        // Each of these records can be counted: the value the table cannot hold is left
        // out (counted in `not_aggregated`) or an id or time falls back, and the record
        // itself is counted, never quarantined for its value.
        assert!(rejected.is_empty(), "{case}: quarantined {rejected:?}");
    }
}

/// The message of a table that refuses any page holding the event `refuse-me`.
const MESSAGE: &str = "One or more parameter values were invalid: refuse-me";

#[test]
fn a_refused_write_quarantines_only_the_records_the_table_refuses() {
    let poison = json!({"event": "refuse-me"});
    let fine = json!({"event": "click"});
    for (ordinary, odd) in [
        (3, vec![poison.clone()]),
        (9, vec![poison.clone()]),
        (
            40,
            vec![fine.clone(), poison.clone(), fine.clone(), poison.clone()],
        ),
        (0, vec![poison.clone()]),
    ] {
        let archive = Arc::new(MemoryArchive::default());
        let table = Arc::new(MemoryTable::default());
        let refusing = Refusing {
            table: table.clone(),
            refuses: |w| w.page.events.contains_key("refuse-me"),
            message: MESSAGE,
        };
        let mut p = Processor::new(config(), archive.clone(), refusing);
        p.backoff = Backoff::NONE;
        let case = format!("{ordinary} ordinary, {} odd", odd.len());
        let recs = batch(ordinary, &odd);
        let rejected = check(&p, &archive, &table, &recs, &case);
        let poisoned = odd.iter().filter(|v| **v == poison).count();
        assert_eq!(rejected.len(), poisoned, "{case}: {rejected:?}");
        for line in &rejected {
            assert_eq!(line["data"]["event"], "refuse-me", "{case}: {line}");
            let reason = line["reason"].as_str().unwrap_or_default();
            assert!(reason.contains(MESSAGE), "{case}: {reason}");
        }
        // A redelivery changes nothing: the counted are duplicates, the refused refused again.
        let (_, again) = block_on(p.process(&event(&recs))).expect("processed again");
        assert_eq!(again.counted, 0, "{case}: {again:?}");
    }
}

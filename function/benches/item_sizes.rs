//! Metrics item sizes and DynamoDB write units per record, measured on the production path
//! (`Processor::process` on the in-memory table, which bills writes as DynamoDB does: the
//! larger of the item before and after, per KB). Not a timing: a table for BENCHMARKS.md.
//! `cargo bench -p function --bench item_sizes`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use function::archive::MemoryArchive;
use function::handler::Processor;
use function::store::{MemoryTable, item};
use serde_json::json;

// Shared by the bench binaries; this one uses only the record mix.
#[path = "common/kinesis.rs"]
mod kinesis;
#[allow(dead_code)]
#[path = "common/mix.rs"]
mod mix;
use kinesis::{config, event};

/// Runs `records` through the processor in batches, with `quantiles` sketches; prints one
/// table row.
fn row(name: &str, records: &[(String, Vec<u8>)], batch: usize) {
    let mut cfg = config();
    let quantiles = QUANTILES.with(|q| q.get());
    cfg.quantiles = quantiles;
    let table = Arc::new(MemoryTable::default());
    let p = Processor::new(cfg, Arc::new(MemoryArchive::default()), table.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    for (i, chunk) in records.chunks(batch).enumerate() {
        let (response, _) = rt
            .block_on(p.process(&event(chunk, i * batch)))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            response.batch_item_failures.is_empty(),
            "{name}: a record failed"
        );
    }
    let items = table.snapshot();
    let sizes: Vec<usize> = items.values().map(item::item_size).collect();
    let aggregates = table
        .pages()
        .map(|p| function::store::totals(&p).len())
        .expect("every item is a page");
    let (wru, puts) = (
        table.write_units.load(Ordering::Relaxed),
        table.puts.load(Ordering::Relaxed),
    );
    let n = records.len() as f64;
    println!(
        "| {name} | {} | {} | {batch} | {aggregates} | {} | {:.0} | {} | {puts} | {wru} | {:.2} | {:.3} |",
        quantiles.map_or("off".to_owned(), |a| format!("{} ‰", a.get())),
        records.len(),
        sizes.len(),
        sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64,
        sizes.iter().max().copied().unwrap_or_default(),
        wru as f64 / puts.max(1) as f64,
        wru as f64 / n,
    );
}

thread_local! {
    /// The sketches' accuracy of the rows being printed.
    static QUANTILES: std::cell::Cell<Option<function::sketch::Accuracy>> =
        const { std::cell::Cell::new(None) };
}

fn main() {
    println!(
        "| shape | sketches | records | batch | aggregates | pages | mean page B | max page B | puts | WRU | WRU/put | WRU/record |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let coarse = function::sketch::Accuracy::per_mille(50);
    for q in [Some(function::sketch::Accuracy::DEFAULT), coarse, None] {
        QUANTILES.with(|c| c.set(q));
        rows();
    }
}

/// Every shape's rows.
fn rows() {
    let seed = mix::records(20_000);
    row(
        "seed mix (70% IoT, 30% clickstream; key = device/user)",
        &seed,
        100,
    );
    row("seed mix", &seed, 1_000);
    let ts = "2024-01-15T10:30:07Z";
    let wide: Vec<_> = (0..2_000)
        .map(|i| {
            let mut fields = serde_json::Map::new();
            fields.insert("sensorId".into(), json!(format!("sensor-{:02}", i % 20)));
            fields.insert("timestamp".into(), json!(ts));
            for f in 0..120 {
                fields.insert(format!("channel{f:03}"), json!((i * 7 + f) % 1000));
            }
            (
                format!("sensor-{:02}", i % 20),
                serde_json::Value::Object(fields).to_string().into_bytes(),
            )
        })
        .collect();
    row(
        "wide: 120 numeric fields, 20 sensors, one minute",
        &wide,
        100,
    );
    let many: Vec<_> = (0..5_000)
        .map(|i| {
            let key = format!(
                "{:08x}-7d1e-4c7a-9e52-{:012x}",
                i * 2_654_435_761u64 as usize,
                i
            );
            let data = json!({"sensorId": "sensor-hot", "temperature": i % 40, "timestamp": ts});
            (key, data.to_string().into_bytes())
        })
        .collect();
    row(
        "many keys: 5,000 UUID partition keys, one entity, one minute",
        &many,
        100,
    );
    row("many keys", &many, 1_000);
    // CloudWatch Logs subscription payloads (gzip JSON), as CloudWatch Logs writes them to
    // Kinesis: one busy log group, 10 log events per record, an opaque random partition key
    // per record, so each record is its own ordering domain.
    let logs: Vec<_> = (0..2_000u64)
        .map(|i| {
            let events: Vec<_> = (0..10u64)
                .map(|j| {
                    json!({
                        "id": format!("{}", i * 10 + j),
                        "timestamp": 1_705_314_607_000u64 + (i % 60) * 1000,
                        "message": format!("GET /api/items/{} 200 {}ms", (i * 10 + j) % 97, j * 3),
                    })
                })
                .collect();
            let body = json!({
                "messageType": "DATA_MESSAGE",
                "owner": "123456789012",
                "logGroup": "/aws/app/busy",
                "logStream": format!("stream-{}", i % 4),
                "subscriptionFilters": ["all"],
                "logEvents": events,
            });
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, body.to_string().as_bytes())
                .expect("gzip in memory");
            let key = format!(
                "{:032x}",
                u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c)
            );
            (key, gz.finish().expect("gzip in memory"))
        })
        .collect();
    row(
        "CloudWatch Logs: one busy log group, 10 events a record, random keys, one minute",
        &logs,
        100,
    );
    row("CloudWatch Logs", &logs, 1_000);
}

//! Decode + extract + aggregate throughput on a realistic mix, and peak memory per batch.
//!
//! 70 % IoT readings, 30 % clickstream events, ~100-byte JSON records, 2 % of them
//! KPL-aggregated. `cargo bench -p function --bench decode_aggregate`.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use function::aggregate::aggregate;
use function::decode::{self, Body, Decoded, Limits};
use function::extract::{self, Envelope, Observation, Rules};
use peak_alloc::PeakAlloc;

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

const T0_MS: i64 = 1_705_314_600_000;

/// `n` records: (partition key, data).
fn records(n: usize) -> Vec<(String, Vec<u8>)> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let r = next();
            let ts = T0_MS / 1000 + (r % 300) as i64;
            if r % 10 < 7 {
                let id = format!("sensor-{:03}", r % 200);
                let json = format!(
                    r#"{{"sensorId":"{id}","temperature":{:.1},"humidity":{},"timestamp":{ts}}}"#,
                    15.0 + (r % 200) as f64 / 10.0,
                    30 + r % 60
                );
                (id, json.into_bytes())
            } else {
                let id = format!("user-{}", r % 1000);
                let ev = ["page_view", "click", "add_to_cart"][(r % 3) as usize];
                let json = format!(
                    r#"{{"userId":"{id}","event":"{ev}","page":"/p/{}","timestamp":{ts}}}"#,
                    i % 50
                );
                (id, json.into_bytes())
            }
        })
        .collect()
}

/// The work the function does per batch before any I/O.
fn decode_and_aggregate(batch: &[(String, Vec<u8>)], rules: &Rules) -> usize {
    let decoded: Vec<_> = batch
        .iter()
        .map(|(pk, d)| decode::decode(d, pk, Limits::default()))
        .collect();
    let mut obs: Vec<Observation<'_>> = Vec::with_capacity(batch.len());
    for d in &decoded {
        if let Ok(Decoded::Units(units)) = d {
            for u in units {
                if let Body::Json(b) = &u.body {
                    let env = Envelope {
                        partition_key: "pk",
                        arrival_ms: T0_MS,
                        default_time_ms: None,
                    };
                    if let Ok(o) = extract::extract(b, env, rules) {
                        obs.push(o);
                    }
                }
            }
        }
    }
    aggregate(&obs, 60).len()
}

fn bench(c: &mut Criterion) {
    let rules = Rules::default();
    let mut g = c.benchmark_group("decode_aggregate");
    for n in [100usize, 10_000] {
        let batch = records(n);
        let bytes: usize = batch.iter().map(|(_, d)| d.len()).sum();
        eprintln!("{n} records, mean {} bytes", bytes / n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("batch_of_{n}"), |b| {
            b.iter(|| decode_and_aggregate(black_box(&batch), &rules))
        });
    }
    g.finish();
}

fn peak_memory_per_batch() {
    let rules = Rules::default();
    let batch = records(100);
    let base = PEAK.current_usage();
    PEAK.reset_peak_usage();
    black_box(decode_and_aggregate(&batch, &rules));
    let peak = PEAK.peak_usage().saturating_sub(base);
    println!("peak heap for one 100-record batch (decode+extract+aggregate): {peak} bytes");
}

fn main() {
    peak_memory_per_batch();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}

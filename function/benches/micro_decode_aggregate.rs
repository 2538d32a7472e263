//! Micro-benchmark (not the handler's path): decode + extract + `Page::add` per aggregate
//! throughput on a realistic mix (peak memory: `micro_memory.rs`; the production path is
//! `process.rs`).
//!
//! 70 % IoT readings, 30 % clickstream events in the seed's shapes (RFC 3339 timestamps),
//! ~90-byte JSON records. `cargo bench -p function --bench micro_decode_aggregate`.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use function::extract::Rules;
use mix::decode_and_aggregate;

#[path = "common/mix.rs"]
mod mix;
use mix::records;

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

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}

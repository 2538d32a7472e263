//! The production path's CPU: `Processor::process` — decode, extract, plan, the conditional
//! page writes and the archive gzip — on the in-memory stores (which enforce DynamoDB's
//! limits; no SDK, no network). The seed's record mix in batches of 100 (the seed's batch
//! size) and 1,000; "cold" writes every aggregate new, "warm" processes a batch into a table
//! that already holds the previous batch's pages of the same minutes (the steady state).
//! `cargo bench -p function --bench process`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput};
use function::archive::MemoryArchive;
use function::handler::{Backoff, Processor};
use function::store::MemoryTable;

#[path = "common/kinesis.rs"]
mod kinesis;
#[allow(dead_code)]
#[path = "common/mix.rs"]
mod mix;

type P = Processor<Arc<MemoryArchive>, Arc<MemoryTable>>;

fn processor() -> P {
    let mut p = Processor::new(
        kinesis::config(),
        Arc::new(MemoryArchive::default()),
        Arc::new(MemoryTable::default()),
    );
    p.backoff = Backoff::NONE;
    p
}

/// Processes `batch`, which must succeed: a failed batch is not a measurement.
fn run(rt: &tokio::runtime::Runtime, p: &P, batch: &function::event::KinesisEvent) {
    let (response, _) = rt
        .block_on(p.process(batch))
        .expect("the batch is processed");
    assert!(response.batch_item_failures.is_empty(), "no record failed");
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut g = c.benchmark_group("process");
    for n in [100usize, 1_000] {
        let records = mix::records(2 * n);
        let (first, second) = records.split_at(n);
        let warmup = kinesis::event(first, 0);
        let batch = kinesis::event(second, n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("cold_batch_of_{n}"), |b| {
            b.iter_batched(
                processor,
                |p| run(&rt, &p, black_box(&batch)),
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("warm_batch_of_{n}"), |b| {
            b.iter_batched(
                || {
                    let p = processor();
                    run(&rt, &p, &warmup);
                    p
                },
                |p| run(&rt, &p, black_box(&batch)),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}

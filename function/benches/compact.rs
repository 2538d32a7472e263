//! Compaction's CPU on the production path: `function::compact::compact_hours` — list,
//! fetch, decode, merge by position, gzip parts, read each back and verify, delete — over
//! an in-memory archive that `Processor::process` filled with the seed's record mix in
//! batches of 100 (one shard, one hour: 100 batch objects, 10,000 records). No S3: the
//! bill's other half, request latency, is what `cost` assumes per request.
//! `cargo bench -p function --bench compact`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput};
use function::archive::{ArchiveReader, ArchiveStore, MemoryArchive};
use function::compact::{Report, compact_hours};
use function::handler::{Backoff, Processor};
use function::store::MemoryTable;

#[path = "common/kinesis.rs"]
mod kinesis;
#[allow(dead_code)]
#[path = "common/mix.rs"]
mod mix;

const BATCHES: usize = 100;
const BATCH: usize = 100;

/// The archive 100 batches of 100 records leave.
fn archive(rt: &tokio::runtime::Runtime) -> Arc<MemoryArchive> {
    let archive = Arc::new(MemoryArchive::default());
    let mut p = Processor::new(
        kinesis::config(),
        archive.clone(),
        Arc::new(MemoryTable::default()),
    );
    p.backoff = Backoff::NONE;
    let records = mix::records(BATCHES * BATCH);
    for (i, batch) in records.chunks(BATCH).enumerate() {
        let (response, _) = rt
            .block_on(p.process(&kinesis::event(batch, i * BATCH)))
            .expect("the batch is processed");
        assert!(response.batch_item_failures.is_empty(), "no record failed");
    }
    archive
}

fn copy(rt: &tokio::runtime::Runtime, from: &MemoryArchive) -> MemoryArchive {
    let to = MemoryArchive::default();
    for (k, v) in from.snapshot() {
        rt.block_on(to.put(&k, v)).expect("put");
    }
    to
}

fn compact(rt: &tokio::runtime::Runtime, a: &MemoryArchive) -> Report {
    let hour = mix::T0_MS.div_euclid(3_600_000) * 3_600_000;
    let part = function::config::compactor::PART_KIB.default as usize * 1024;
    let r = rt
        .block_on(compact_hours(a, &[hour], part))
        .expect("compaction runs");
    assert!(r.left.is_empty() && r.objects_written > 0, "{r:?}");
    r
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let source = archive(&rt);
    let objects = rt.block_on(source.keys("raw/")).expect("keys").len();
    assert_eq!(objects, BATCHES, "one object per batch");
    // What one run reads and writes (printed once: the bench's sizes, not timings).
    let r = compact(&rt, &copy(&rt, &source));
    eprintln!(
        "compact: {} objects ({} B gzip) -> {} object(s) ({} B gzip); {} lines, {} B of lines",
        r.objects_read, r.bytes_read, r.objects_written, r.bytes_written, r.lines, r.line_bytes
    );
    let mut g = c.benchmark_group("compact");
    g.throughput(Throughput::Elements((BATCHES * BATCH) as u64));
    g.bench_function("hour_of_100_batches_of_100", |b| {
        b.iter_batched(
            || copy(&rt, &source),
            |a| black_box(compact(&rt, &a)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}

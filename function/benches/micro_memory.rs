//! Micro-benchmark (not the handler's path): peak heap of decode + extract + aggregate for
//! one batch (counting allocator). `cargo bench -p function --bench micro_memory`.

use std::hint::black_box;

use function::extract::Rules;
use peak_alloc::PeakAlloc;

#[path = "common/mix.rs"]
mod mix;

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

fn main() {
    let rules = Rules::default();
    for n in [100usize, 10_000] {
        let batch = mix::records(n);
        let base = PEAK.current_usage();
        PEAK.reset_peak_usage();
        black_box(mix::decode_and_aggregate(&batch, &rules));
        let peak = PEAK.peak_usage().saturating_sub(base);
        println!("peak heap for one {n}-record batch (decode+extract+aggregate): {peak} bytes");
    }
}

//! What the hourly compaction adds to the bill (its runs, GETs, PUTs, LISTs; DELETEs are
//! free) and what it changes: the lifecycle tiers the compacted objects, not one object per
//! batch, and the deleted batch objects stay noncurrent in STANDARD for a while.

use super::HOURS_PER_MONTH;
use super::usage::{Usage, Workload};

/// The compactor's settings and what its runs are priced with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionCost {
    pub memory_mb: u32,
    /// The stream's retention: each run lists every hour it can still deliver into.
    pub retention_hours: u32,
    /// Days a deleted batch object stays, in STANDARD, as a noncurrent version
    /// (`archiveNoncurrentDays`).
    pub noncurrent_days: u32,
    /// Assumed milliseconds of one S3 request within a region (not measurable here).
    pub s3_request_ms: f64,
    /// Measured CPU milliseconds per MB of lines merged, on a full core (BENCHMARKS.md,
    /// Compaction).
    pub cpu_ms_per_mb: f64,
}

/// What compaction adds to and changes in a month's bill.
pub(super) struct Compaction {
    pub runs: f64,
    pub gets: f64,
    pub puts_and_lists: f64,
    pub gb_s: f64,
    /// Compacted objects and their GB: what the lifecycle tiers.
    pub objects: f64,
    pub gb: f64,
    /// GB of deleted batch objects held noncurrent in STANDARD, in month-equivalents.
    pub noncurrent_gb_months: f64,
}

/// The share of a vCPU a function of `memory_mb` gets (a full one at 1,769 MB): CPU-bound
/// work takes that much longer, and is billed so.
fn cpu_share(memory_mb: u32) -> f64 {
    (f64::from(memory_mb) / 1769.0).min(1.0)
}

impl Compaction {
    pub(super) fn of(c: &CompactionCost, w: &Workload, u: &Usage, scale: f64) -> Self {
        let shard_hours = f64::from(w.shards) * HOURS_PER_MONTH;
        let line_bytes = u.compacted.line_bytes as f64 * scale;
        let part_bytes = function::config::compactor::PART_KIB.default as f64 * 1024.0;
        let objects = shard_hours * (line_bytes / shard_hours / part_bytes).ceil().max(1.0);
        let read = u.compacted.objects_read as f64 * scale;
        // Each hourly run lists both prefixes of every hour the stream can deliver into
        // (one LIST per 1,000 keys the first time an hour is listed).
        let runs = HOURS_PER_MONTH;
        let lists = runs * 2.0 * f64::from(c.retention_hours + 2) + read / 1000.0;
        // GETs overlap (`PREFETCH` at a time); each part is put, then read back.
        let prefetch = function::compact::PREFETCH as f64;
        let ms = read * c.s3_request_ms / prefetch
            + objects * 2.0 * c.s3_request_ms
            + lists * c.s3_request_ms
            + line_bytes / 1e6 * c.cpu_ms_per_mb / cpu_share(c.memory_mb);
        Self {
            runs,
            gets: read + objects,
            puts_and_lists: objects + lists,
            gb_s: ms / 1000.0 * f64::from(c.memory_mb) / 1024.0,
            objects,
            gb: u.compacted.bytes as f64 * scale / 1e9,
            noncurrent_gb_months: u.archive_bytes as f64 * scale / 1e9
                * f64::from(c.noncurrent_days)
                / 30.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::usage;
    use crate::cost::{Estimate, Line, Prices, Profile, estimate};
    use stackgen::settings::{Architecture, TransitionMinimumSize};

    /// The S3 lines a per-object archive pays: PUTs, GETs and LISTs, transitions, and the
    /// 40 KB overhead of each tiered object.
    fn s3_requests_and_overhead(e: &Estimate) -> f64 {
        e.lines
            .iter()
            .filter(|l| {
                ["S3 PUTs", "S3 GETs", "S3 lifecycle", "S3 per-object"]
                    .iter()
                    .any(|p| l.component.starts_with(p))
            })
            .map(|l| l.per_million_records)
            .sum()
    }

    /// The bar, on the production path (the processor, then the compactor, over
    /// stores that bill like AWS): at the seed's settings and 1,000 records/s, compaction
    /// cuts the S3 request and per-object lines at least tenfold, tiers kept.
    #[test]
    fn compaction_cuts_the_archive_s_per_object_lines_tenfold_at_the_seed_settings() {
        let prices = Prices::us_east_1().expect("prices parse");
        let workload = Workload {
            rate: 1_000,
            entities: 1_200,
            seconds: 20,
            shards: 2,
            parallelization: 2,
            batch_size: 100,
            batching_window_secs: 5,
            window_secs: 60,
        };
        let without = Profile {
            workload,
            memory_mb: 512,
            architecture: Architecture::X86_64,
            invocation_base_ms: 40.0,
            invocation_per_record_ms: 0.02,
            glacier_days: 30,
            deep_archive_days: 120,
            transition_minimum_size: TransitionMinimumSize::VariesByStorageClass,
            compaction: None,
        };
        let with = Profile {
            compaction: Some(CompactionCost {
                memory_mb: 1024,
                retention_hours: 24,
                noncurrent_days: 30,
                s3_request_ms: 20.0,
                cpu_ms_per_mb: 16.0,
            }),
            ..without
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let used = rt.block_on(usage::simulate(&workload)).expect("simulated");
        assert!(used.compacted.objects_read == used.archive_objects);
        let (a, b) = (
            estimate(&prices, &without, &used),
            estimate(&prices, &with, &used),
        );
        let (before, after) = (s3_requests_and_overhead(&a), s3_requests_and_overhead(&b));
        assert!(
            before >= 10.0 * after,
            "{before} $/M before, {after} $/M after"
        );
        // The tiers are kept: the compacted objects transition.
        assert!(line(&b, "S3 lifecycle").quantity > 0.0);
        assert!(b.per_million() < a.per_million());
    }

    fn line<'a>(e: &'a Estimate, name: &str) -> &'a Line {
        e.lines
            .iter()
            .find(|l| l.component.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line"))
    }
}

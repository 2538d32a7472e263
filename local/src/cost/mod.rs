//! `cost`: what the pipeline costs at AWS list prices, per million records and per month at
//! a rate. Request counts come from [`usage::simulate`] (the production code path over
//! stores that bill like AWS); prices from a dated file (`local/prices/us-east-1.json`).

pub mod compaction;
pub mod usage;

use compaction::Compaction;
pub use compaction::CompactionCost;

use std::fmt::Write;

use stackgen::settings::{Architecture, TransitionMinimumSize};

use crate::error::Error;
use usage::{Usage, Workload};

/// List prices of one region (see the file's `note` for their date and sources).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub region: String,
    pub currency: String,
    pub as_of: String,
    pub note: String,
    pub sources: Vec<String>,
    pub kinesis_shard_hour: f64,
    pub kinesis_put_payload_units_per_million: f64,
    pub lambda_requests_per_million: f64,
    pub lambda_gb_second_x86_64: f64,
    pub lambda_gb_second_arm64: f64,
    pub dynamodb_write_request_units_per_million: f64,
    pub dynamodb_storage_gb_month: f64,
    pub s3_standard_put_per_thousand: f64,
    pub s3_standard_get_per_thousand: f64,
    pub s3_standard_gb_month: f64,
    pub s3_transition_glacier_per_thousand: f64,
    pub s3_transition_deep_archive_per_thousand: f64,
    pub s3_glacier_gb_month: f64,
    pub s3_deep_archive_gb_month: f64,
    pub cloudwatch_logs_ingestion_gb: f64,
    pub cloudwatch_logs_storage_gb_month: f64,
    pub cloudwatch_custom_metric_month: f64,
    pub cloudwatch_alarm_month: f64,
    pub cloudwatch_dashboard_month: f64,
    pub kms_key_month: f64,
}

impl Prices {
    /// The committed us-east-1 prices.
    pub fn us_east_1() -> Result<Self, Error> {
        serde_json::from_str(include_str!("../../prices/us-east-1.json"))
            .map_err(Error::json("local/prices/us-east-1.json"))
    }
}

/// Hours in a month, as AWS bills them.
pub(crate) const HOURS_PER_MONTH: f64 = 730.0;
/// Function log bytes per invocation: Lambda's JSON START, END and REPORT lines plus the
/// function's summary and EMF lines (measured on the local stack: ~0.9 KB of the
/// function's own; ~0.7 KB assumed for the platform lines).
pub const LOG_BYTES_PER_INVOCATION: f64 = 1_600.0;
/// S3 charges archived objects 32 KB at the archive tier's rate and 8 KB at STANDARD's.
const ARCHIVE_OVERHEAD_KB: (f64, f64) = (32.0, 8.0);
/// Custom metrics: the function's 4 EMF metrics and the mapping's 7 `EventCount` ones.
const CUSTOM_METRICS: f64 = 11.0;
/// Alarm metrics (CloudWatch bills an alarm per metric it evaluates): eight alarms on one
/// metric, and the stalled-mapping alarm's metric math over two.
const ALARM_METRICS: f64 = 10.0;

/// The settings a cost depends on besides the workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub workload: Workload,
    pub memory_mb: u32,
    pub architecture: Architecture,
    /// Billed milliseconds of one invocation: `base + per_record × batch` (assumed:
    /// in-region S3 and DynamoDB latencies cannot be measured on this machine).
    pub invocation_base_ms: f64,
    pub invocation_per_record_ms: f64,
    /// Days before GLACIER and DEEP_ARCHIVE, and months of archive kept for the storage line.
    pub glacier_days: u32,
    pub deep_archive_days: u32,
    /// Which objects S3 transitions (`archiveTransitionMinimumSize`).
    pub transition_minimum_size: TransitionMinimumSize,
    /// The hourly compaction (`compactionSchedule` ENABLED), or none.
    pub compaction: Option<CompactionCost>,
}

/// One priced component: monthly quantity, its unit, dollars per month.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Line {
    pub component: &'static str,
    pub quantity: f64,
    pub unit: &'static str,
    pub per_month: f64,
    pub per_million_records: f64,
}

/// A priced profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub records_per_month: f64,
    pub mean_batch: f64,
    pub worst_latency_secs: f64,
    pub lines: Vec<Line>,
}

impl Estimate {
    pub fn per_month(&self) -> f64 {
        self.lines.iter().map(|l| l.per_month).sum()
    }
    pub fn per_million(&self) -> f64 {
        self.lines.iter().map(|l| l.per_million_records).sum()
    }
}

/// Prices `usage` (scaled to a month at the workload's rate) for `profile`.
pub fn estimate(p: &Prices, profile: &Profile, u: &Usage) -> Estimate {
    let w = &profile.workload;
    let records = f64::from(w.rate) * 3600.0 * HOURS_PER_MONTH;
    let scale = records / u.records.max(1) as f64;
    let per = |x: u64| x as f64 * scale;
    let invocations = per(u.invocations);
    let gb_s = invocations
        * (profile.invocation_base_ms + profile.invocation_per_record_ms * u.mean_batch()).ceil()
        / 1000.0
        * f64::from(profile.memory_mb)
        / 1024.0;
    let gb_price = match profile.architecture {
        Architecture::X86_64 => p.lambda_gb_second_x86_64,
        Architecture::Arm64 => p.lambda_gb_second_arm64,
    };
    let objects = per(u.archive_objects);
    let batch_gb = per(u.archive_bytes) / 1e9;
    let compaction = profile.compaction.map(|c| Compaction::of(&c, w, u, scale));
    // What the lifecycle tiers: the batch objects, or the compacted ones that replace them
    // (whose deleted inputs stay noncurrent, in STANDARD, for archiveNoncurrentDays).
    let (tiered, archive_gb, noncurrent) = match &compaction {
        None => (objects, batch_gb, 0.0),
        Some(c) => (c.objects, c.gb, c.noncurrent_gb_months),
    };
    // Objects that transition; the others stay in STANDARD.
    let (moving, moving_gb) = match profile.transition_minimum_size {
        TransitionMinimumSize::VariesByStorageClass => (tiered, archive_gb),
        TransitionMinimumSize::AllStorageClasses128K => match &compaction {
            None => (per(u.large_objects), per(u.large_bytes) / 1e9),
            Some(_) if archive_gb * 1e9 / tiered.max(1.0) >= 128.0 * 1024.0 => (tiered, archive_gb),
            Some(_) => (0.0, 0.0),
        },
    };
    let staying_gb = archive_gb - moving_gb;
    // A month's archive, held a year: Standard until the Glacier day, Glacier until Deep
    // Archive's, then Deep Archive (the per-object overhead from the first transition on).
    let months = |days: u32| f64::from(days) / 30.0;
    let (g, d) = (
        months(profile.glacier_days),
        months(profile.deep_archive_days),
    );
    // In steady state, a month's bill holds the last 12 months' archives: the same sum.
    let (tier_kb, standard_kb) = ARCHIVE_OVERHEAD_KB;
    let overhead = |tier_price: f64| {
        moving * (tier_kb * tier_price + standard_kb * p.s3_standard_gb_month) / 1e6
    };
    let storage = noncurrent * p.s3_standard_gb_month
        + staying_gb * 12.0 * p.s3_standard_gb_month
        + moving_gb * g * p.s3_standard_gb_month
        + moving_gb * p.s3_glacier_gb_month * (d - g)
        + moving_gb * p.s3_deep_archive_gb_month * (12.0 - d).max(0.0);
    let per_object_overhead = overhead(p.s3_glacier_gb_month) * (d - g)
        + overhead(p.s3_deep_archive_gb_month) * (12.0 - d).max(0.0);
    let log_gb = invocations * LOG_BYTES_PER_INVOCATION / 1e9;
    let mut lines = vec![
        (
            "Kinesis shard-hours",
            f64::from(w.shards) * HOURS_PER_MONTH,
            "shard-h",
            p.kinesis_shard_hour,
        ),
        (
            "Kinesis PUT payload units",
            per(u.put_units),
            "units",
            p.kinesis_put_payload_units_per_million / 1e6,
        ),
        (
            "Lambda requests",
            invocations + compaction.as_ref().map_or(0.0, |c| c.runs),
            "requests",
            p.lambda_requests_per_million / 1e6,
        ),
        ("Lambda compute", gb_s, "GB-s", gb_price),
        (
            "DynamoDB writes",
            per(u.write_units),
            "WRU",
            p.dynamodb_write_request_units_per_million / 1e6,
        ),
        (
            "S3 PUTs (archive)",
            objects,
            "PUT",
            p.s3_standard_put_per_thousand / 1e3,
        ),
        (
            "S3 lifecycle transitions",
            moving * 2.0,
            "requests",
            (p.s3_transition_glacier_per_thousand + p.s3_transition_deep_archive_per_thousand)
                / 2.0
                / 1e3,
        ),
        (
            "S3 storage (a month's archive, kept 12 months)",
            archive_gb,
            "GB",
            storage / archive_gb.max(1e-12),
        ),
        (
            "S3 per-object overhead of tiered objects (40 KB each)",
            moving,
            "objects",
            per_object_overhead / moving.max(1e-12),
        ),
        (
            "S3 GETs (compaction)",
            compaction.as_ref().map_or(0.0, |c| c.gets),
            "GET",
            p.s3_standard_get_per_thousand / 1e3,
        ),
        (
            "S3 PUTs and LISTs (compaction)",
            compaction.as_ref().map_or(0.0, |c| c.puts_and_lists),
            "requests",
            p.s3_standard_put_per_thousand / 1e3,
        ),
        (
            "Lambda compute (compactor, hourly)",
            compaction.as_ref().map_or(0.0, |c| c.gb_s),
            "GB-s",
            gb_price,
        ),
        (
            "CloudWatch Logs ingestion",
            log_gb,
            "GB",
            p.cloudwatch_logs_ingestion_gb,
        ),
        (
            "CloudWatch metrics, alarms, dashboard",
            1.0,
            "stack",
            CUSTOM_METRICS * p.cloudwatch_custom_metric_month
                + ALARM_METRICS * p.cloudwatch_alarm_month
                + p.cloudwatch_dashboard_month,
        ),
        ("KMS key", 1.0, "key", p.kms_key_month),
    ]
    .into_iter()
    .map(|(component, quantity, unit, price)| Line {
        component,
        quantity,
        unit,
        per_month: quantity * price,
        per_million_records: quantity * price / records * 1e6,
    })
    .collect::<Vec<_>>();
    lines.retain(|l| l.quantity > 0.0);
    Estimate {
        records_per_month: records,
        mean_batch: u.mean_batch(),
        worst_latency_secs: f64::from(w.batching_window_secs.max(1))
            + (profile.invocation_base_ms
                + profile.invocation_per_record_ms * f64::from(w.batch_size))
                / 1000.0,
        lines,
    }
}

/// The estimate as a table.
pub fn render(name: &str, e: &Estimate) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{name}: {:.0} M records/month, {:.1} records per invocation, worst-case latency ~{:.0} s",
        e.records_per_month / 1e6,
        e.mean_batch,
        e.worst_latency_secs
    );
    for l in &e.lines {
        let _ = writeln!(
            out,
            "  {:<48} {:>16.1} {:<8} ${:>10.2}/month  ${:>8.4}/M records",
            l.component, l.quantity, l.unit, l.per_month, l.per_million_records
        );
    }
    let _ = writeln!(
        out,
        "  {:<48} {:>16} {:<8} ${:>10.2}/month  ${:>8.4}/M records",
        "total",
        "",
        "",
        e.per_month(),
        e.per_million()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alarm_metrics_priced_are_the_programs() {
        let program = stackgen::stack::program().expect("program");
        let metrics: usize = program
            .resources
            .values()
            .filter(|r| r.ty == "aws:cloudwatch:MetricAlarm")
            .map(|r| match r.properties.get("metricQueries") {
                Some(q) => q.as_array().map_or(0, |q| {
                    q.iter().filter(|q| q.get("metric").is_some()).count()
                }),
                None => 1,
            })
            .sum();
        assert_eq!(metrics as f64, ALARM_METRICS);
    }

    fn line<'a>(e: &'a Estimate, name: &str) -> &'a Line {
        e.lines
            .iter()
            .find(|l| l.component.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line"))
    }

    /// 1 record/s is 2,628,000 records a month; a usage of exactly that size is not scaled,
    /// so each line is quantity × list price, worked out by hand.
    #[test]
    fn lines_are_quantity_times_list_price() {
        let prices = Prices::us_east_1().expect("prices parse");
        let profile = Profile {
            workload: Workload {
                rate: 1,
                entities: 1,
                seconds: 10,
                shards: 2,
                parallelization: 1,
                batch_size: 100,
                batching_window_secs: 5,
                window_secs: 60,
            },
            memory_mb: 512,
            architecture: Architecture::Arm64,
            invocation_base_ms: 40.0,
            invocation_per_record_ms: 0.0,
            glacier_days: 30,
            deep_archive_days: 120,
            transition_minimum_size: TransitionMinimumSize::VariesByStorageClass,
            compaction: None,
        };
        let usage = Usage {
            records: 2_628_000,
            put_units: 2_628_000,
            invocations: 26_280,
            archive_objects: 26_280,
            archive_bytes: 1_000_000_000,
            write_units: 2_628_000,
            ..Usage::default()
        };
        let e = estimate(&prices, &profile, &usage);
        let close = |got: f64, want: f64| (got - want).abs() < 1e-9 * want.max(1.0);
        assert!(close(line(&e, "DynamoDB").per_month, 1.6425));
        assert!(close(line(&e, "S3 PUTs").per_month, 0.1314));
        assert!(close(line(&e, "S3 lifecycle").per_month, 2.1024));
        assert!(close(line(&e, "Lambda requests").per_month, 0.005256));
        // 26,280 × 40 ms × 0.5 GB = 525.6 GB-s at the arm64 rate.
        assert!(close(line(&e, "Lambda compute").quantity, 525.6));
        assert!(close(
            line(&e, "Kinesis shard").per_month,
            2.0 * 730.0 * 0.015
        ));
        // 1 GB: Standard 1 month, Glacier 3, Deep Archive 8; and 40 KB per object.
        let storage = 0.023 + 3.0 * 0.0036 + 8.0 * 0.00099;
        assert!(close(line(&e, "S3 storage").per_month, storage));
        let overhead = 26_280.0
            * (3.0 * (32.0 * 0.0036 + 8.0 * 0.023) + 8.0 * (32.0 * 0.00099 + 8.0 * 0.023))
            / 1e6;
        assert!(close(line(&e, "S3 per-object").per_month, overhead));
        assert!(close(e.per_million() * 2.628, e.per_month()));
    }
}

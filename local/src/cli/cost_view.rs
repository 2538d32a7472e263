//! `cost`: the stack's settings priced next to cheaper alternatives.

use stackgen::settings::{Architecture, ScheduleState, Settings, TransitionMinimumSize};

use crate::cost::usage::{self, Workload};
use crate::cost::{self, CompactionCost, Estimate, Prices, Profile};
use crate::error::Error;

/// The traffic and the assumptions a `cost` run prices.
#[derive(Debug, Clone, Copy)]
pub struct Traffic {
    pub rate: u32,
    pub entities: u32,
    pub seconds: u32,
    pub invocation_ms: f64,
    pub record_ms: f64,
    /// Assumed milliseconds of one S3 request (the compactor's runs).
    pub s3_request_ms: f64,
}

/// CPU milliseconds per MB of lines the compactor merges, on a full core: `cargo bench -p
/// function --bench compact` measured 15.8 (BENCHMARKS.md, Compaction), rounded up.
pub const COMPACTION_CPU_MS_PER_MB: f64 = 16.0;

/// The stack's settings as a priced profile.
fn profile(s: &Settings, t: Traffic) -> Profile {
    Profile {
        workload: Workload {
            rate: t.rate,
            entities: t.entities,
            seconds: t.seconds,
            shards: s.shard_count.get(),
            parallelization: s.parallelization_factor.get(),
            batch_size: s.batch_size.get(),
            batching_window_secs: s.batching_window_seconds.get(),
            window_secs: s.window_seconds.get(),
        },
        memory_mb: s.lambda_memory_mb.get(),
        architecture: s.lambda_architecture,
        invocation_base_ms: t.invocation_ms,
        invocation_per_record_ms: t.record_ms,
        glacier_days: s.archive_glacier_days.get(),
        deep_archive_days: s.archive_deep_archive_days.get(),
        transition_minimum_size: s.archive_transition_minimum_size,
        compaction: match s.compaction_schedule {
            ScheduleState::Enabled => Some(compaction(s, t)),
            ScheduleState::Disabled => None,
        },
    }
}

/// The stack's compactor as priced, whether its schedule is on or not.
fn compaction(s: &Settings, t: Traffic) -> CompactionCost {
    CompactionCost {
        memory_mb: s.compactor_memory_mb.get(),
        retention_hours: s.retention_hours.get(),
        noncurrent_days: s.archive_noncurrent_days.get(),
        s3_request_ms: t.s3_request_ms,
        cpu_ms_per_mb: COMPACTION_CPU_MS_PER_MB,
    }
}

/// The alternatives shown next to the stack's own settings, with the config that sets them;
/// `compactor` is the stack's compactor, priced for the alternative that turns it on.
fn alternatives(base: Profile, compactor: CompactionCost) -> Vec<(String, Profile)> {
    let mut toggled = base;
    toggled.compaction = match base.compaction {
        Some(_) => None,
        None => Some(compactor),
    };
    let toggled_name = match base.compaction {
        Some(_) => "compactionSchedule DISABLED (one archive object per batch)",
        None => "compactionSchedule ENABLED",
    };
    let mut bigger = base;
    bigger.workload.batch_size = 1_000;
    bigger.workload.batching_window_secs = 30;
    let mut graviton = bigger;
    graviton.architecture = Architecture::Arm64;
    // Small objects kept out of the tiers: the way to a cheap archive without compaction
    // (compacted objects are large, so the setting changes nothing with it).
    let mut untiered = base;
    untiered.compaction = None;
    untiered.transition_minimum_size = TransitionMinimumSize::AllStorageClasses128K;
    vec![
        (toggled_name.to_owned(), toggled),
        (
            "compactionSchedule DISABLED, archiveTransitionMinimumSize all_storage_classes_128K \
             (small objects never tiered)"
                .to_owned(),
            untiered,
        ),
        (
            "batchSize 1000, batchingWindowSeconds 30".to_owned(),
            bigger,
        ),
        (
            "batchSize 1000, batchingWindowSeconds 30, lambdaArchitecture arm64".to_owned(),
            graviton,
        ),
    ]
}

#[derive(serde::Serialize)]
struct Row {
    profile: String,
    estimate: Estimate,
}

/// `cost`: the assumptions checked, then the stack's settings priced.
pub async fn command(stack: &str, traffic: Traffic, json: bool) -> Result<(), Error> {
    if !(0.0..=900_000.0).contains(&traffic.invocation_ms)
        || !(0.0..=1_000.0).contains(&traffic.record_ms)
        || !(0.0..=60_000.0).contains(&traffic.s3_request_ms)
    {
        return Err(Error::Usage(
            "--invocation-ms must be 0..=900000, --record-ms 0..=1000 and \
             --s3-request-ms 0..=60000"
                .into(),
        ));
    }
    let settings = crate::stack::load_stack_file(&crate::repo_root(), stack)?.settings;
    run(stack, &settings, traffic, json).await
}

/// A shard takes 1,000 records/s (or 1 MB/s) of writes: above that the producers are
/// throttled, and the prices below are for a stack that cannot take the rate.
fn over_capacity(shards: u32, rate: u64) -> Option<String> {
    let capacity = u64::from(shards) * 1_000;
    (rate > capacity).then(|| {
        format!(
            "{rate} records/s is more than {shards} shard(s) take ({capacity} records/s: \
             1,000 records/s or 1 MB/s each); producers would be throttled. Price it with \
             shardCount {} or more",
            rate.div_ceil(1_000)
        )
    })
}

/// A progress bar over the profiles on a terminal (the simulation takes a while).
fn simulating(profiles: u64) -> indicatif::ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(profiles);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "simulating traffic through the function {pos}/{len} [{elapsed}] {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Prices the stack and its alternatives; prints a table per profile (or JSON).
pub async fn run(
    stack: &str,
    settings: &Settings,
    traffic: Traffic,
    json: bool,
) -> Result<(), Error> {
    let prices = Prices::us_east_1()?;
    let base = profile(settings, traffic);
    let compactor = compaction(settings, traffic);
    let mut profiles = vec![(format!("stack {stack} as configured"), base)];
    profiles.extend(alternatives(base, compactor));
    let warning = over_capacity(settings.shard_count.get(), u64::from(traffic.rate));
    if let Some(w) = &warning {
        eprintln!("warning: {w}\n");
    }
    let bar = simulating(profiles.len() as u64);
    let mut rows = Vec::new();
    for (name, p) in profiles {
        bar.set_message(name.clone());
        let used = usage::simulate(&p.workload).await?;
        bar.inc(1);
        rows.push(Row {
            profile: name,
            estimate: cost::estimate(&prices, &p, &used),
        });
    }
    bar.finish_and_clear();
    if json {
        let text = serde_json::to_string_pretty(&rows).map_err(Error::json("the --json output"))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{} list prices as of {} ({}); {} records/s over {} entities, {} s simulated;\n\
         assumed {} ms + {} ms/record billed per invocation, {} ms per S3 request of the \
         compactor\n",
        prices.region,
        prices.as_of,
        prices.currency,
        traffic.rate,
        traffic.entities,
        traffic.seconds,
        traffic.invocation_ms,
        traffic.record_ms,
        traffic.s3_request_ms
    );
    for r in &rows {
        println!("{}", cost::render(&r.profile, &r.estimate));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::over_capacity;

    #[test]
    fn a_rate_past_the_shards_capacity_is_named_with_the_shards_it_needs() {
        assert_eq!(over_capacity(2, 2_000), None);
        let w = over_capacity(1, 3_000).expect("past one shard");
        assert!(
            w.contains("1 shard(s)") && w.contains("shardCount 3"),
            "{w}"
        );
    }
}

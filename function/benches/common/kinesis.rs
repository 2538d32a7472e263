//! A Kinesis event of the processor's input shape and the benches' function settings.

use function::Config;
use function::event::{KinesisEvent, Record, Source};

use crate::mix;

/// A Kinesis event of `(partition key, data)` records on one shard, arriving at `T0_MS`.
pub fn event(records: &[(String, Vec<u8>)], first_seq: usize) -> KinesisEvent {
    let seqs: Vec<String> = (0..records.len())
        .map(|i| {
            format!(
                "49568167373333333333333333333333333333333{:015}",
                first_seq + i
            )
        })
        .collect();
    let recs = records.iter().zip(&seqs).map(|((pk, data), seq)| Record {
        shard: "shardId-000000000000",
        seq,
        partition_key: pk,
        data,
        arrival_ms: mix::T0_MS,
    });
    function::event::event(&Source::EXAMPLE, recs).expect("a valid event")
}

/// The benches' function settings (a bench that cannot set up fails, never measures nothing).
pub fn config() -> Config {
    Config::from_vars(|k| match k {
        "ARCHIVE_BUCKET" => Some("archive".into()),
        "METRICS_TABLE" => Some("metrics".into()),
        // Event times are the shapes' own; do not fall back to the (fixed) arrival time.
        "MAX_PAST_AGE_SECONDS" => Some("3153600000".into()),
        "MAX_FUTURE_SKEW_SECONDS" => Some("31536000".into()),
        _ => None,
    })
    .expect("the benches' settings are valid")
}

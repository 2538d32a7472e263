//! Configuration, read once from the environment; every problem is reported at once.

use crate::Error;
use crate::decode::Limits;
use crate::extract::Rules;

/// Archive bucket name (required).
pub const ARCHIVE_BUCKET: &str = "ARCHIVE_BUCKET";
/// Metrics table name (required).
pub const METRICS_TABLE: &str = "METRICS_TABLE";
/// Aggregation window in seconds (default 60).
pub const WINDOW_SECONDS: &str = "WINDOW_SECONDS";
/// Days a metrics item lives after its window (default 90).
pub const METRICS_TTL_DAYS: &str = "METRICS_TTL_DAYS";
/// Comma-separated entity id fields, in order of preference.
pub const ID_FIELDS: &str = "ID_FIELDS";
/// CloudWatch namespace of the EMF metrics.
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
/// Cap on decompressed gzip payloads, in bytes.
pub const MAX_DECOMPRESSED_BYTES: &str = "MAX_DECOMPRESSED_BYTES";
/// Event times more than this many seconds after arrival fall back to arrival time.
pub const MAX_FUTURE_SKEW_SECONDS: &str = "MAX_FUTURE_SKEW_SECONDS";
/// Event times more than this many seconds before arrival fall back to arrival time.
pub const MAX_PAST_AGE_SECONDS: &str = "MAX_PAST_AGE_SECONDS";
/// Concurrent S3/DynamoDB requests per batch.
pub const WRITE_CONCURRENCY: &str = "WRITE_CONCURRENCY";
/// Quantile sketches' relative accuracy in per mille (0: no sketches; default 10, 1 %).
pub const QUANTILE_ACCURACY_PER_MILLE: &str = "QUANTILE_ACCURACY_PER_MILLE";
/// Log filter, read by the logger.
pub const RUST_LOG: &str = "RUST_LOG";

/// Variables the function cannot start without.
pub const REQUIRED: [&str; 2] = [ARCHIVE_BUCKET, METRICS_TABLE];
/// Every variable the function reads (the stack program may set only these).
pub const KNOWN: [&str; 12] = [
    ARCHIVE_BUCKET,
    METRICS_TABLE,
    WINDOW_SECONDS,
    METRICS_TTL_DAYS,
    ID_FIELDS,
    METRICS_NAMESPACE,
    MAX_DECOMPRESSED_BYTES,
    MAX_FUTURE_SKEW_SECONDS,
    MAX_PAST_AGE_SECONDS,
    WRITE_CONCURRENCY,
    QUANTILE_ACCURACY_PER_MILLE,
    RUST_LOG,
];

/// A numeric variable's default and the values the function accepts (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub default: u64,
    pub min: u64,
    pub max: u64,
}

impl Bounds {
    /// Variable `name`'s `value`: the default when unset; otherwise a whole number in
    /// bounds, or the default with the problem noted in `problems`.
    pub fn read(self, name: &str, value: Option<String>, problems: &mut Vec<String>) -> u64 {
        let Bounds { default, min, max } = self;
        match value {
            None => default,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "{name}={v:?} is not a whole number in {min}..={max}"
                    ));
                    default
                }
            },
        }
    }
}

/// [`WINDOW_SECONDS`]: 1 s to a day, a minute by default.
pub const WINDOW: Bounds = Bounds {
    default: 60,
    min: 1,
    max: 86_400,
};
/// [`METRICS_TTL_DAYS`]: a day to ten years, 90 days by default.
pub const TTL_DAYS: Bounds = Bounds {
    default: 90,
    min: 1,
    max: 3_650,
};
/// [`MAX_DECOMPRESSED_BYTES`].
pub const DECOMPRESSED: Bounds = Bounds {
    default: 8 << 20,
    min: 1024,
    max: 256 << 20,
};
/// [`MAX_FUTURE_SKEW_SECONDS`].
pub const FUTURE_SKEW: Bounds = Bounds {
    default: 300,
    min: 0,
    max: 31_536_000,
};
/// [`MAX_PAST_AGE_SECONDS`].
pub const PAST_AGE: Bounds = Bounds {
    default: 7 * 86_400,
    min: 0,
    max: 3_153_600_000,
};
/// [`WRITE_CONCURRENCY`].
pub const CONCURRENCY: Bounds = Bounds {
    default: 16,
    min: 1,
    max: 256,
};
/// [`QUANTILE_ACCURACY_PER_MILLE`]: 0 (off) or 0.1 % to 10 %, 1 % by default.
pub const QUANTILE_ACCURACY: Bounds = Bounds {
    default: 10,
    min: 0,
    max: 100,
};
/// [`ID_FIELDS`] when it is not set.
pub const DEFAULT_ID_FIELDS: [&str; 3] = ["sensorId", "deviceId", "userId"];

/// The function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub bucket: String,
    pub table: String,
    pub window_secs: u32,
    pub ttl_days: u32,
    pub namespace: String,
    pub rules: Rules,
    pub limits: Limits,
    pub concurrency: usize,
    /// Bytes of marks a metrics page takes before the next page does (not an env var).
    pub marks_budget: usize,
    /// Quantile sketches' relative accuracy (`None`: off).
    pub quantiles: Option<crate::sketch::Accuracy>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`; lists every missing or invalid variable in one error.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut problems = Vec::new();
        let mut required = |name: &str| match get(name).filter(|v| !v.trim().is_empty()) {
            Some(v) => v,
            None => {
                problems.push(format!("{name} is not set"));
                String::new()
            }
        };
        let bucket = required(ARCHIVE_BUCKET);
        let table = required(METRICS_TABLE);
        let mut number = |name: &str, b: Bounds| b.read(name, get(name), &mut problems);
        let window_secs = number(WINDOW_SECONDS, WINDOW) as u32;
        let ttl_days = number(METRICS_TTL_DAYS, TTL_DAYS) as u32;
        let max_decompressed = number(MAX_DECOMPRESSED_BYTES, DECOMPRESSED) as usize;
        let max_future = number(MAX_FUTURE_SKEW_SECONDS, FUTURE_SKEW) as i64;
        let max_past = number(MAX_PAST_AGE_SECONDS, PAST_AGE) as i64;
        let concurrency = number(WRITE_CONCURRENCY, CONCURRENCY) as usize;
        let quantiles = crate::sketch::Accuracy::per_mille(number(
            QUANTILE_ACCURACY_PER_MILLE,
            QUANTILE_ACCURACY,
        ) as u16);
        let id_fields: Vec<String> = get(ID_FIELDS)
            .unwrap_or_else(|| DEFAULT_ID_FIELDS.join(","))
            .split(',')
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect();
        if id_fields.is_empty() {
            problems.push(format!("{ID_FIELDS} names no field"));
        }
        if !problems.is_empty() {
            return Err(Error::Config(problems.join("\n")));
        }
        Ok(Self {
            bucket,
            table,
            window_secs,
            ttl_days,
            namespace: get(METRICS_NAMESPACE).unwrap_or_else(|| "RealtimeProcessing".into()),
            rules: Rules {
                id_fields,
                max_future_ms: max_future * 1000,
                max_past_ms: max_past * 1000,
                ..Rules::default()
            },
            limits: Limits { max_decompressed },
            concurrency,
            marks_budget: crate::store::page::MARKS_BUDGET_BYTES,
            quantiles,
        })
    }
}

/// The defaults of the variables above.
impl Default for Rules {
    fn default() -> Self {
        Self {
            id_fields: DEFAULT_ID_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
            max_future_ms: FUTURE_SKEW.default as i64 * 1000,
            max_past_ms: PAST_AGE.default as i64 * 1000,
            max_depth: 16,
        }
    }
}

/// The compactor's variables (the same `bootstrap`, run with handler `compact`).
pub mod compactor {
    use super::{ARCHIVE_BUCKET, Bounds, RUST_LOG};
    use crate::Error;

    /// The stream's retention in hours (required): an hour is compacted again for as long
    /// as the mapping can still deliver records that arrived in it.
    pub const RETENTION_HOURS: &str = "RETENTION_HOURS";
    /// Minutes after an hour ends before it is first compacted (default 10).
    pub const COMPACT_DELAY_MINUTES: &str = "COMPACT_DELAY_MINUTES";
    /// KiB of lines in a compacted object before the next one starts (default 262,144, that
    /// is 256 MiB: about 20-40 MiB of gzip for JSON readings; never more, so memory stays
    /// bounded).
    pub const COMPACT_PART_KIB: &str = "COMPACT_PART_KIB";

    /// Variables the compactor cannot start without.
    pub const REQUIRED: [&str; 2] = [ARCHIVE_BUCKET, RETENTION_HOURS];
    /// Every variable the compactor reads.
    pub const KNOWN: [&str; 5] = [
        ARCHIVE_BUCKET,
        RETENTION_HOURS,
        COMPACT_DELAY_MINUTES,
        COMPACT_PART_KIB,
        RUST_LOG,
    ];
    /// [`RETENTION_HOURS`]: Kinesis's own range.
    pub const RETENTION: Bounds = Bounds {
        default: 24,
        min: 24,
        max: 8_760,
    };
    /// [`COMPACT_DELAY_MINUTES`].
    pub const DELAY: Bounds = Bounds {
        default: 10,
        min: 0,
        max: 1_440,
    };
    /// [`COMPACT_PART_KIB`].
    pub const PART_KIB: Bounds = Bounds {
        default: 256 << 10,
        min: 1,
        max: 1 << 20,
    };

    /// The compactor's settings.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CompactConfig {
        pub bucket: String,
        /// Hours back from an hour's end that it is still compacted again.
        pub lookback_hours: u32,
        pub delay_minutes: u32,
        pub part_bytes: usize,
    }

    impl CompactConfig {
        /// Reads the environment; every problem in one error.
        pub fn from_env() -> Result<Self, Error> {
            Self::from_vars(|k| std::env::var(k).ok())
        }

        /// Reads settings through `get`.
        pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
            let mut problems = Vec::new();
            let bucket = get(ARCHIVE_BUCKET).filter(|b| !b.trim().is_empty());
            if bucket.is_none() {
                problems.push(format!("{ARCHIVE_BUCKET} is not set"));
            }
            if get(RETENTION_HOURS).is_none() {
                problems.push(format!("{RETENTION_HOURS} is not set"));
            }
            let mut number = |name: &str, b: Bounds| b.read(name, get(name), &mut problems);
            let retention = number(RETENTION_HOURS, RETENTION) as u32;
            let delay_minutes = number(COMPACT_DELAY_MINUTES, DELAY) as u32;
            let part_bytes = (number(COMPACT_PART_KIB, PART_KIB) as usize) << 10;
            match bucket {
                Some(bucket) if problems.is_empty() => Ok(Self {
                    bucket,
                    // The retention, the hour itself, and one more for the delay.
                    lookback_hours: retention + 2,
                    delay_minutes,
                    part_bytes,
                }),
                _ => Err(Error::Config(problems.join("\n"))),
            }
        }
    }
}

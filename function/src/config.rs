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
/// Log filter, read by the logger.
pub const RUST_LOG: &str = "RUST_LOG";

/// Variables the function cannot start without.
pub const REQUIRED: [&str; 2] = [ARCHIVE_BUCKET, METRICS_TABLE];
/// Every variable the function reads (the stack program may set only these).
pub const KNOWN: [&str; 11] = [
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
    RUST_LOG,
];

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
        let mut number = |name: &str, default: u64, min: u64, max: u64| -> u64 {
            match get(name) {
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
        };
        let window_secs = number(WINDOW_SECONDS, 60, 1, 86_400) as u32;
        let ttl_days = number(METRICS_TTL_DAYS, 90, 1, 3_650) as u32;
        let max_decompressed = number(MAX_DECOMPRESSED_BYTES, 8 << 20, 1024, 256 << 20) as usize;
        let max_future = number(MAX_FUTURE_SKEW_SECONDS, 300, 0, 31_536_000) as i64;
        let max_past = number(MAX_PAST_AGE_SECONDS, 7 * 86_400, 0, 3_153_600_000) as i64;
        let concurrency = number(WRITE_CONCURRENCY, 16, 1, 256) as usize;
        let id_fields: Vec<String> = get(ID_FIELDS)
            .unwrap_or_else(|| "sensorId,deviceId,userId".into())
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
        })
    }
}

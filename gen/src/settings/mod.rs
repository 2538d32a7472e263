//! Typed per-stack settings: every dev/prod difference, with invalid values unrepresentable.
//!
//! The same struct declares the `config:` block of `Pulumi.yaml` (types and defaults come
//! from [`Settings::default`], the seed's values) and is what `crate::stack_file` reads
//! `Pulumi.<stack>.yaml` into, so a stack file with an out-of-range value or an unknown key
//! fails to load.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::program::{ConfigDecl, ConfigItems, ConfigType};

mod choices;
pub use choices::{Architecture, Emulation, ScheduleState, TransitionMinimumSize};

/// Declares a bounded integer newtype that rejects out-of-range values when built or parsed.
macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident: $inner:ty, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name($inner);

        impl $name {
            /// Smallest valid value.
            pub const MIN: $inner = $min;
            /// Largest valid value.
            pub const MAX: $inner = $max;

            /// Builds the value, or says why it is out of range.
            pub fn new(v: $inner) -> Result<Self, Error> {
                if (Self::MIN..=Self::MAX).contains(&v) {
                    Ok(Self(v))
                } else {
                    Err(Error::InvalidSetting {
                        key: stringify!($name),
                        reason: format!("{v} is outside {}..={}", Self::MIN, Self::MAX),
                    })
                }
            }

            /// The raw value.
            pub fn get(self) -> $inner {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = Error;
            fn try_from(v: i64) -> Result<Self, Error> {
                let v = <$inner>::try_from(v).map_err(|_| Error::InvalidSetting {
                    key: stringify!($name),
                    reason: format!("{v} does not fit"),
                })?;
                Self::new(v)
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                // Every bound fits an i64 (the largest is a petabyte in bytes).
                i64::try_from(v.0).unwrap_or(i64::MAX)
            }
        }
    };
}

bounded!(
    /// Provisioned shard count of the stream.
    ShardCount: u32, 1, 500);
bounded!(
    /// Stream retention in hours (Kinesis: 24 h to 365 days).
    RetentionHours: u32, 24, 8760);
bounded!(
    /// Lambda memory in MB (Lambda: 128 to 10,240).
    MemoryMb: u32, 128, 10_240);
bounded!(
    /// Lambda timeout in seconds (Lambda: 1 to 900).
    TimeoutSeconds: u32, 1, 900);
bounded!(
    /// Event source mapping batch size (Kinesis: 1 to 10,000).
    BatchSize: u32, 1, 10_000);
bounded!(
    /// Event source mapping batching window in seconds (0 to 300).
    BatchingWindowSeconds: u32, 0, 300);
bounded!(
    /// Concurrent batches per shard (1 to 10).
    ParallelizationFactor: u32, 1, 10);
bounded!(
    /// Retries of a failed batch (0 to 10,000; -1, infinite, is deliberately not allowed:
    /// a poison batch must reach the failure queue).
    RetryAttempts: u32, 0, 10_000);
bounded!(
    /// Maximum age of a record the mapping still sends, in seconds (60 to 604,800;
    /// -1, infinite, is deliberately not allowed).
    RecordAgeSeconds: u32, 60, 604_800);
bounded!(
    /// Aggregation window in seconds (1 s to 1 day).
    WindowSeconds: u32, 1, 86_400);
bounded!(
    /// Days a metrics item lives after its window ends (DynamoDB TTL).
    TtlDays: u32, 1, 3_650);
bounded!(
    /// Days after which archive objects move to another storage class.
    TransitionDays: u32, 1, 36_500);
bounded!(
    /// Days a noncurrent object version is kept.
    NoncurrentDays: u32, 1, 36_500);
bounded!(
    /// KMS key deletion window in days (KMS: 7 to 30).
    KeyDeletionDays: u32, 7, 30);
bounded!(
    /// Alarm threshold on the Lambda `Errors` sum per minute.
    ErrorThreshold: u32, 0, 1_000_000);
bounded!(
    /// Relative accuracy of the per-window quantile sketches, per mille (0: no sketches).
    QuantileAccuracyPerMille: u16, 0, 100);
bounded!(
    /// Days Athena's query results are kept in their bucket (1 day to 10 years).
    ResultsExpirationDays: u32, 1, 3_650);
bounded!(
    /// The most one Athena query may scan, in bytes (Athena: at least 10 MB; at most a
    /// petabyte here).
    ScanLimitBytes: u64, 10_000_000, 1_000_000_000_000_000);
bounded!(
    /// Alarm threshold on the Lambda `IteratorAge` maximum, in milliseconds.
    IteratorAgeMs: u32, 1_000, 604_800_000);

/// CloudWatch Logs retention, restricted to the values the API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct LogRetentionDays(u32);

impl LogRetentionDays {
    /// The values `PutRetentionPolicy` accepts.
    pub const VALID: [u32; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];

    /// Builds the value, or says why CloudWatch Logs would reject it.
    pub fn new(days: u32) -> Result<Self, Error> {
        if Self::VALID.contains(&days) {
            Ok(Self(days))
        } else {
            Err(Error::InvalidSetting {
                key: "logRetentionDays",
                reason: format!("{days} is not one of {:?}", Self::VALID),
            })
        }
    }

    /// The raw value.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for LogRetentionDays {
    type Error = Error;
    fn try_from(v: i64) -> Result<Self, Error> {
        Self::new(u32::try_from(v).unwrap_or(0))
    }
}

impl From<LogRetentionDays> for i64 {
    fn from(v: LogRetentionDays) -> i64 {
        i64::from(v.0)
    }
}

/// A field name in a record that identifies its entity (sensor, device, user…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdField(String);

impl TryFrom<String> for IdField {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if ok {
            Ok(Self(s))
        } else {
            Err(Error::InvalidSetting {
                key: "idFields",
                reason: format!("{s:?} is not a field name (ASCII letters, digits, _ - .)"),
            })
        }
    }
}

impl From<IdField> for String {
    fn from(f: IdField) -> String {
        f.0
    }
}

impl IdField {
    /// The field name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Every setting that may differ between stacks. Field names are the config keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    pub shard_count: ShardCount,
    pub retention_hours: RetentionHours,
    pub key_deletion_window_days: KeyDeletionDays,
    pub lambda_memory_mb: MemoryMb,
    pub lambda_timeout_seconds: TimeoutSeconds,
    pub lambda_architecture: Architecture,
    pub log_retention_days: LogRetentionDays,
    pub batch_size: BatchSize,
    pub batching_window_seconds: BatchingWindowSeconds,
    pub parallelization_factor: ParallelizationFactor,
    pub maximum_retry_attempts: RetryAttempts,
    pub maximum_record_age_seconds: RecordAgeSeconds,
    pub window_seconds: WindowSeconds,
    pub metrics_ttl_days: TtlDays,
    pub id_fields: Vec<IdField>,
    /// p50/p95/p99 (any quantile) per metric and window from a sketch this accurate.
    pub quantile_accuracy_per_mille: QuantileAccuracyPerMille,
    pub archive_glacier_days: TransitionDays,
    pub archive_deep_archive_days: TransitionDays,
    pub archive_transition_minimum_size: TransitionMinimumSize,
    pub archive_noncurrent_days: NoncurrentDays,
    /// The hourly archive compaction (`function::compact`).
    pub compaction_schedule: ScheduleState,
    /// The compactor's memory: it holds one part of up to 256 MiB while it writes it.
    pub compactor_memory_mb: MemoryMb,
    /// How long the Athena workgroup's query results are kept.
    pub query_results_expiration_days: ResultsExpirationDays,
    /// Athena cancels a query of the workgroup that would scan more than this.
    pub query_scan_limit_bytes: ScanLimitBytes,
    pub force_destroy: bool,
    pub point_in_time_recovery: bool,
    pub deletion_protection: bool,
    pub error_alarm_threshold: ErrorThreshold,
    pub iterator_age_alarm_ms: IteratorAgeMs,
    /// Records quarantined under `rejected/` in a minute above which the topic is told.
    pub rejected_records_alarm_threshold: ErrorThreshold,
}

impl Default for Settings {
    /// The seed's values, hardened for production: these are the `Pulumi.yaml` defaults.
    fn default() -> Self {
        // The literals below are all inside their ranges; `expect` documents that.
        #[allow(clippy::expect_used)]
        let s = (|| -> Result<Self, Error> {
            Ok(Self {
                shard_count: ShardCount::new(2)?,
                retention_hours: RetentionHours::new(24)?,
                key_deletion_window_days: KeyDeletionDays::new(30)?,
                lambda_memory_mb: MemoryMb::new(512)?,
                lambda_timeout_seconds: TimeoutSeconds::new(60)?,
                lambda_architecture: Architecture::X86_64,
                log_retention_days: LogRetentionDays::new(90)?,
                batch_size: BatchSize::new(100)?,
                batching_window_seconds: BatchingWindowSeconds::new(5)?,
                parallelization_factor: ParallelizationFactor::new(2)?,
                maximum_retry_attempts: RetryAttempts::new(3)?,
                maximum_record_age_seconds: RecordAgeSeconds::new(21_600)?,
                window_seconds: WindowSeconds::new(60)?,
                metrics_ttl_days: TtlDays::new(90)?,
                id_fields: ["sensorId", "deviceId", "userId"]
                    .into_iter()
                    .map(|f| IdField::try_from(f.to_owned()))
                    .collect::<Result<_, _>>()?,
                quantile_accuracy_per_mille: QuantileAccuracyPerMille::new(10)?,
                archive_glacier_days: TransitionDays::new(30)?,
                archive_deep_archive_days: TransitionDays::new(120)?,
                archive_transition_minimum_size: TransitionMinimumSize::VariesByStorageClass,
                archive_noncurrent_days: NoncurrentDays::new(30)?,
                compaction_schedule: ScheduleState::Enabled,
                compactor_memory_mb: MemoryMb::new(1024)?,
                query_results_expiration_days: ResultsExpirationDays::new(7)?,
                query_scan_limit_bytes: ScanLimitBytes::new(10_000_000_000)?,
                force_destroy: false,
                point_in_time_recovery: true,
                deletion_protection: true,
                error_alarm_threshold: ErrorThreshold::new(5)?,
                iterator_age_alarm_ms: IteratorAgeMs::new(60_000)?,
                rejected_records_alarm_threshold: ErrorThreshold::new(10)?,
            })
        })()
        .expect("default settings are in range");
        s
    }
}

/// How long before its arrival a record's event time may be and still name its window: the
/// function's `MAX_PAST_AGE_SECONDS` default, which the program does not change (a contract
/// test holds the two equal). Older event times fall back to the arrival.
pub const EVENT_TIME_MAX_AGE_SECS: u64 = 7 * 86_400;
/// The function's margin before a page's earliest expiry (`function::store::EXPIRY_MARGIN_MS`).
pub const EXPIRY_MARGIN_SECS: u64 = 3_600;

impl Settings {
    /// Rules that span several settings; every violation is reported at once.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if u64::from(self.maximum_record_age_seconds.get())
            >= u64::from(self.retention_hours.get()) * 3600
        {
            problems.push(
                "maximumRecordAgeSeconds must be below the stream retention, or records expire \
                 from the stream before the mapping gives up on them"
                    .to_owned(),
            );
        }
        let ttl_secs = u64::from(self.metrics_ttl_days.get()) * 86_400;
        let retention_secs = u64::from(self.retention_hours.get()) * 3600;
        let deliverable_secs = retention_secs + EVENT_TIME_MAX_AGE_SECS + EXPIRY_MARGIN_SECS;
        if ttl_secs <= deliverable_secs {
            problems.push(format!(
                "metricsTtlDays ({} days) must be longer than the stream retention \
                 (retentionHours: {} hours) plus how old an event time may be (7 days) plus \
                 an hour: more than {:.1} days. A record can be delivered again for as long as \
                 the stream keeps it, and its window can end 7 days before it arrived; a page \
                 of that window that expires meanwhile lets it be counted twice",
                self.metrics_ttl_days.get(),
                self.retention_hours.get(),
                deliverable_secs as f64 / 86_400.0,
            ));
        }
        if self.archive_deep_archive_days.get() < self.archive_glacier_days.get() + 90 {
            problems.push(
                "archiveDeepArchiveDays must be at least 90 days after archiveGlacierDays \
                 (GLACIER's minimum storage duration)"
                    .to_owned(),
            );
        }
        if self.id_fields.is_empty() {
            problems.push("idFields must name at least one field".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidSetting {
                key: "settings",
                reason: problems.join("; "),
            })
        }
    }

    /// The `config:` block of `Pulumi.yaml`: every field, typed, with its default.
    pub fn declarations() -> Result<IndexMap<String, ConfigDecl>, Error> {
        let defaults = serde_json::to_value(Settings::default()).map_err(Error::Serialize)?;
        let Value::Object(map) = defaults else {
            return Ok(IndexMap::new());
        };
        Ok(map
            .into_iter()
            .map(|(key, default)| {
                let (ty, items) = match &default {
                    Value::Bool(_) => (ConfigType::Boolean, None),
                    Value::Number(_) => (ConfigType::Integer, None),
                    Value::Array(_) => (
                        ConfigType::Array,
                        Some(ConfigItems {
                            ty: ConfigType::String,
                        }),
                    ),
                    Value::Object(_) => (ConfigType::Object, None),
                    _ => (ConfigType::String, None),
                };
                let decl = ConfigDecl {
                    ty,
                    items,
                    default: Some(default),
                    secret: None,
                };
                (key, decl)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().expect("defaults validate");
    }

    #[test]
    fn metrics_must_outlive_what_the_stream_can_still_deliver() {
        // 7 days of retention, event times up to 7 days old, an hour: 14.04 days.
        let s = Settings {
            retention_hours: RetentionHours::new(24 * 7).expect("in range"),
            metrics_ttl_days: TtlDays::new(14).expect("in range"),
            ..Settings::default()
        };
        let e = s
            .validate()
            .expect_err("14 days of TTL for 7 days of retention")
            .to_string();
        assert!(
            e.contains("metricsTtlDays (14 days)")
                && e.contains("168 hours")
                && e.contains("14.0 days"),
            "{e}"
        );
        let ok = Settings {
            metrics_ttl_days: TtlDays::new(15).expect("in range"),
            ..s
        };
        ok.validate().expect("15 days outlive 14.04");
        // The dev stack's own: a day of retention, 9 days.
        let dev = Settings {
            metrics_ttl_days: TtlDays::new(8).expect("in range"),
            ..Settings::default()
        };
        assert!(dev.validate().is_err(), "8 days for 1 + 7 days and an hour");
    }

    #[test]
    fn record_age_must_stay_below_retention() {
        let s = Settings {
            maximum_record_age_seconds: RecordAgeSeconds::new(86_400).expect("in range"),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
    }
}

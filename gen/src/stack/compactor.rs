//! The compactor: the same `bootstrap` run with handler `compact` on an hourly EventBridge
//! schedule, merging each closed hour's archive objects per shard (`function::compact`).

use super::names::*;
use super::processor;
use super::*;
use crate::Error;
use crate::aws::{cloudwatch, lambda};
use crate::expr::{cfg, out, stack, to_json, var};
use crate::iam::{PolicyDocument, Statement};
use crate::program::Resource;

/// The Lambda handler setting that runs the compactor (`function::compact::HANDLER`).
pub const HANDLER: &str = "compact";
/// At a quarter past every hour: the hour before closed 15 minutes ago (the compactor's
/// `COMPACT_DELAY_MINUTES` is 10), and a run rarely meets the processor's top-of-hour work.
pub const SCHEDULE: &str = "cron(15 * * * ? *)";
/// A run may take Lambda's longest timeout: a shard-hour of 3.6 million records is read,
/// merged, written and read back (BENCHMARKS.md, Compaction).
pub const TIMEOUT_SECONDS: i64 = 900;

/// The actions the compactor needs, by what they touch.
pub mod actions {
    /// Listing an hour's objects.
    pub const ARCHIVE_BUCKET: [&str; 1] = ["s3:ListBucket"];
    /// Reading, writing (and reading back) and deleting archive objects.
    pub const ARCHIVE_OBJECTS: [&str; 3] = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];
    /// Lambda's own log delivery to the explicit log group.
    pub const LOGS: [&str; 2] = ["logs:CreateLogStream", "logs:PutLogEvents"];
}

/// The environment variables the stack gives the compactor.
pub fn compactor_environment() -> Result<IndexMap<String, Input<String>>, Error> {
    Ok([
        ("ARCHIVE_BUCKET", Input::Lit(out(BUCKET, "bucket"))),
        ("RETENTION_HOURS", to_json(&var("retentionHours"))?),
        ("RUST_LOG", Input::Lit("info".to_owned())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect())
}

pub(super) fn compactor() -> Result<Group, Error> {
    let bucket_arn = out(BUCKET, "arn");
    let policy = PolicyDocument::new(vec![
        Statement::allow(
            "ListArchive",
            &actions::ARCHIVE_BUCKET,
            vec![bucket_arn.clone()],
        ),
        Statement::allow(
            "CompactArchive",
            &actions::ARCHIVE_OBJECTS,
            ARCHIVE_PREFIXES
                .iter()
                .map(|p| format!("{bucket_arn}/{p}*"))
                .collect(),
        ),
        Statement::allow(
            "WriteOwnLogs",
            &actions::LOGS,
            vec![format!("{}:*", out(COMPACTOR_LOG_GROUP, "arn"))],
        ),
    ]);
    let function_name = physical_name(base_names::COMPACTOR, &stack());
    let names = processor::Basics {
        log_group: COMPACTOR_LOG_GROUP,
        role: COMPACTOR_ROLE,
        role_policy: COMPACTOR_ROLE_POLICY,
    };
    let role_name = physical_name("realtime-archive-compactor-role", &stack());
    let mut group = processor::basics(&names, &function_name, role_name, &policy)?;
    group.extend([
        named(
            COMPACTOR,
            Resource::of(&lambda::Function {
                name: function_name,
                description: "Merges each closed hour's archive objects per shard".into(),
                runtime: processor::RUNTIME.into(),
                handler: HANDLER.into(),
                architectures: vec![cfg("lambdaArchitecture")],
                memory_size: cfg("compactorMemoryMb"),
                timeout: Input::Lit(TIMEOUT_SECONDS),
                role: out(COMPACTOR_ROLE, "arn"),
                code: processor::code(),
                environment: lambda::Environment {
                    variables: compactor_environment()?,
                },
                logging_config: processor::logging(COMPACTOR_LOG_GROUP),
                // One run at a time: two runs merging one shard-hour could each delete
                // what the other just wrote.
                reserved_concurrent_executions: Some(1),
            })?
            .depends_on(&[COMPACTOR_LOG_GROUP, COMPACTOR_ROLE_POLICY]),
        ),
        named(
            COMPACTION_SCHEDULE,
            Resource::of(&cloudwatch::EventRule {
                name: physical_name("realtime-archive-compaction", &stack()),
                description: "Hourly: compact the archive's closed hours".into(),
                schedule_expression: SCHEDULE.into(),
                state: cfg("compactionSchedule"),
            })?,
        ),
        named(
            COMPACTION_TARGET,
            Resource::of(&cloudwatch::EventTarget {
                rule: out(COMPACTION_SCHEDULE, "name"),
                arn: out(COMPACTOR, "arn"),
                // A run missed is not lost: the next one covers every hour since.
                retry_policy: cloudwatch::RetryPolicy {
                    maximum_event_age_in_seconds: 3_600,
                    maximum_retry_attempts: 2,
                },
            })?,
        ),
        named(
            COMPACTION_PERMISSION,
            Resource::of(&lambda::Permission {
                action: "lambda:InvokeFunction".into(),
                function: out(COMPACTOR, "name"),
                principal: "events.amazonaws.com".into(),
                source_arn: out(COMPACTION_SCHEDULE, "arn"),
            })?,
        ),
    ]);
    Ok(group)
}

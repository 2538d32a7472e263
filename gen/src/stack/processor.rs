//! The processor: its log group, role and policy, the function and its event source mapping.

use super::names::*;
use super::*;
use crate::Error;
use crate::aws::{cloudwatch, iam, lambda};
use crate::expr::{cfg, file_archive, out, stack, to_json, var};
use crate::iam::{PolicyDocument, Principal, Statement};
use crate::program::Resource;

/// The actions the function and its event source mapping need, by service.
pub mod actions {
    /// What a Kinesis event source mapping reads with (shared-throughput, no EFO consumer).
    pub const KINESIS: [&str; 5] = [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
    ];
    /// Reading a KMS-encrypted stream.
    pub const KMS: [&str; 1] = ["kms:Decrypt"];
    /// Archive writes.
    pub const S3: [&str; 1] = ["s3:PutObject"];
    /// The function's table calls: conditional `PutItem` of a page, `Query` of a window's pages.
    pub const DYNAMODB: [&str; 2] = ["dynamodb:PutItem", "dynamodb:Query"];
    /// Lambda's own log delivery to the explicit log group.
    pub const LOGS: [&str; 2] = ["logs:CreateLogStream", "logs:PutLogEvents"];
    /// The mapping's S3 on-failure destination, as the Lambda guide requires: objects…
    pub const FAILED_BATCHES_OBJECTS: [&str; 1] = ["s3:PutObject"];
    /// …and the bucket.
    pub const FAILED_BATCHES_BUCKET: [&str; 1] = ["s3:ListBucket"];
}

/// The logical names of a function's log group, role and role policy.
pub(super) struct Basics {
    pub log_group: &'static str,
    pub role: &'static str,
    pub role_policy: &'static str,
}

/// A function's explicit log group, its role (Lambda assumes it) and the role's policy.
pub(super) fn basics(
    names: &Basics,
    function_name: &str,
    role_name: String,
    policy: &PolicyDocument,
) -> Result<Group, Error> {
    let assume = PolicyDocument::new(vec![
        Statement::allow("LambdaAssumes", &["sts:AssumeRole"], Vec::new())
            .principal(Principal::Service("lambda.amazonaws.com".into())),
    ]);
    Ok(vec![
        named(
            names.log_group,
            Resource::of(&cloudwatch::LogGroup {
                name: format!("/aws/lambda/{function_name}"),
                retention_in_days: cfg("logRetentionDays"),
            })?,
        ),
        named(
            names.role,
            Resource::of(&iam::Role {
                name: role_name,
                assume_role_policy: to_json(&assume)?,
            })?,
        ),
        named(
            names.role_policy,
            Resource::of(&iam::RolePolicy {
                role: out(names.role, "id"),
                policy: to_json(policy)?,
            })?,
        ),
    ])
}

/// The runtime of both functions: the zip's own `bootstrap`.
pub(super) const RUNTIME: &str = "provided.al2023";

/// The zip `cargo xtask package` builds for the stack's `lambdaArchitecture`: the
/// processor's code and the compactor's.
pub(super) fn code() -> Input<String> {
    file_archive(&crate::function_archive_of(&var("lambdaArchitecture")))
}

/// JSON logs into the function's own group; INFO keeps the platform START and REPORT
/// lines (duration, memory).
pub(super) fn logging(log_group: &str) -> lambda::LoggingConfig {
    lambda::LoggingConfig {
        log_format: "JSON".into(),
        log_group: out(log_group, "name"),
        application_log_level: "INFO".into(),
        system_log_level: "INFO".into(),
    }
}

pub(super) fn processor() -> Result<Group, Error> {
    let bucket_arn = out(BUCKET, "arn");
    let policy = PolicyDocument::new(vec![
        Statement::allow("ReadStream", &actions::KINESIS, vec![out(STREAM, "arn")]),
        Statement::allow("DecryptStream", &actions::KMS, vec![out(KEY, "arn")]),
        Statement::allow(
            "WriteArchive",
            &actions::S3,
            ARCHIVE_PREFIXES
                .iter()
                .map(|p| format!("{bucket_arn}/{p}*"))
                .collect(),
        ),
        Statement::allow("UpdateMetrics", &actions::DYNAMODB, vec![out(TABLE, "arn")]),
        Statement::allow(
            "WriteOwnLogs",
            &actions::LOGS,
            vec![format!("{}:*", out(LOG_GROUP, "arn"))],
        ),
        // The mapping's S3 on-failure destination (written with the function's role).
        Statement::allow(
            "KeepFailedBatches",
            &actions::FAILED_BATCHES_OBJECTS,
            vec![format!("{}/*", out(FAILED_BUCKET, "arn"))],
        ),
        Statement::allow(
            "ListFailedBatches",
            &actions::FAILED_BATCHES_BUCKET,
            vec![out(FAILED_BUCKET, "arn")],
        ),
    ]);
    let function_name = physical_name(base_names::FUNCTION, &stack());
    let names = Basics {
        log_group: LOG_GROUP,
        role: ROLE,
        role_policy: ROLE_POLICY,
    };
    let role_name = physical_name("realtime-data-processor-role", &stack());
    let mut group = basics(&names, &function_name, role_name, &policy)?;
    group.extend([
        named(
            FUNCTION,
            Resource::of(&lambda::Function {
                name: function_name,
                description: "Decodes, archives and aggregates Kinesis records".into(),
                runtime: RUNTIME.into(),
                handler: "bootstrap".into(),
                architectures: vec![cfg("lambdaArchitecture")],
                memory_size: cfg("lambdaMemoryMb"),
                timeout: cfg("lambdaTimeoutSeconds"),
                role: out(ROLE, "arn"),
                code: code(),
                environment: lambda::Environment {
                    variables: processor_environment()?,
                },
                logging_config: logging(LOG_GROUP),
                reserved_concurrent_executions: None,
            })?
            .depends_on(&[LOG_GROUP, ROLE_POLICY]),
        ),
        named(
            MAPPING,
            Resource::of(&lambda::EventSourceMapping {
                event_source_arn: out(STREAM, "arn"),
                function_name: out(FUNCTION, "arn"),
                // TRIM_HORIZON, not the seed's LATEST: a replaced mapping re-reads the
                // retained stream instead of silently skipping what arrived meanwhile;
                // the function's per-key high-water marks make the replay idempotent.
                starting_position: "TRIM_HORIZON".into(),
                batch_size: cfg("batchSize"),
                maximum_batching_window_in_seconds: cfg("batchingWindowSeconds"),
                parallelization_factor: cfg("parallelizationFactor"),
                maximum_retry_attempts: cfg("maximumRetryAttempts"),
                maximum_record_age_in_seconds: cfg("maximumRecordAgeSeconds"),
                bisect_batch_on_function_error: true,
                function_response_types: vec!["ReportBatchItemFailures".into()],
                destination_config: lambda::DestinationConfig {
                    on_failure: lambda::OnFailure {
                        destination_arn: out(FAILED_BUCKET, "arn"),
                    },
                },
                // Failed-batch counts for the dashboard (CloudWatch bills them as custom
                // metrics; docs/DESIGN.md, Dashboard).
                metrics_config: lambda::MetricsConfig {
                    metrics: vec![dashboard::MAPPING_METRICS.into()],
                },
            })?
            .depends_on(&[ROLE_POLICY]),
        ),
    ]);
    Ok(group)
}

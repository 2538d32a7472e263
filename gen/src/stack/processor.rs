//! The processor: its log group, role and policy, the function and its event source mapping.

use serde::Serialize;
use serde_json::{Value, json};

use super::names::*;
use super::*;
use crate::Error;
use crate::expr::{Input, cfg, file_archive, out, stack, to_json, var};
use crate::iam::{PolicyDocument, Principal, Statement};
use crate::program::Resource;
use crate::settings::Architecture;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Function {
    name: String,
    description: &'static str,
    runtime: &'static str,
    handler: &'static str,
    architectures: Vec<Input<Architecture>>,
    memory_size: Input<i64>,
    timeout: Input<i64>,
    role: String,
    code: Value,
    environment: Value,
    logging_config: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventSourceMapping {
    event_source_arn: String,
    function_name: String,
    starting_position: &'static str,
    batch_size: Input<i64>,
    maximum_batching_window_in_seconds: Input<i64>,
    parallelization_factor: Input<i64>,
    maximum_retry_attempts: Input<i64>,
    maximum_record_age_in_seconds: Input<i64>,
    bisect_batch_on_function_error: bool,
    function_response_types: Vec<&'static str>,
    destination_config: Value,
    metrics_config: MetricsConfig,
}

/// The mapping's opt-in metric groups.
#[derive(Serialize)]
struct MetricsConfig {
    metrics: Vec<&'static str>,
}

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

pub(super) fn processor() -> Result<Group, Error> {
    let assume = PolicyDocument::new(vec![
        Statement::allow("LambdaAssumes", &["sts:AssumeRole"], Vec::new())
            .principal(Principal::Service("lambda.amazonaws.com".into())),
    ]);
    // The assume-role document has no Resource element.
    let mut assume_json = serde_json::to_value(&assume).map_err(Error::Serialize)?;
    if let Some(stmts) = assume_json["Statement"].as_array_mut() {
        for s in stmts {
            if let Some(obj) = s.as_object_mut() {
                obj.remove("Resource");
            }
        }
    }
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
    Ok(vec![
        named(
            LOG_GROUP,
            Resource::new(
                "aws:cloudwatch:LogGroup",
                &json!({
                    "name": format!("/aws/lambda/{function_name}"),
                    "retentionInDays": var("logRetentionDays"),
                }),
            )?,
        ),
        named(
            ROLE,
            Resource::new(
                "aws:iam:Role",
                &json!({
                    "name": physical_name("realtime-data-processor-role", &stack()),
                    "assumeRolePolicy": { "fn::toJSON": assume_json },
                }),
            )?,
        ),
        named(
            ROLE_POLICY,
            Resource::new(
                "aws:iam:RolePolicy",
                &json!({ "role": out(ROLE, "id"), "policy": to_json(&policy) }),
            )?,
        ),
        named(
            FUNCTION,
            Resource::new(
                "aws:lambda:Function",
                &Function {
                    name: function_name,
                    description: "Decodes, archives and aggregates Kinesis records",
                    runtime: "provided.al2023",
                    handler: "bootstrap",
                    architectures: vec![cfg("lambdaArchitecture")],
                    memory_size: cfg("lambdaMemoryMb"),
                    timeout: cfg("lambdaTimeoutSeconds"),
                    role: out(ROLE, "arn"),
                    code: file_archive(&format!(
                        "{FUNCTION_ARCHIVE_DIR}/{}/bootstrap.zip",
                        var("lambdaArchitecture")
                    )),
                    environment: json!({ "variables": processor_environment() }),
                    logging_config: json!({
                        "logFormat": "JSON",
                        "logGroup": out(LOG_GROUP, "name"),
                        "applicationLogLevel": "INFO",
                        // INFO keeps the platform START and REPORT lines (duration, memory).
                        "systemLogLevel": "INFO",
                    }),
                },
            )?
            .depends_on(&[LOG_GROUP, ROLE_POLICY]),
        ),
        named(
            MAPPING,
            Resource::new(
                "aws:lambda:EventSourceMapping",
                &EventSourceMapping {
                    event_source_arn: out(STREAM, "arn"),
                    function_name: out(FUNCTION, "arn"),
                    // TRIM_HORIZON, not the seed's LATEST: a replaced mapping re-reads the
                    // retained stream instead of silently skipping what arrived meanwhile;
                    // the function's per-key high-water marks make the replay idempotent.
                    starting_position: "TRIM_HORIZON",
                    batch_size: cfg("batchSize"),
                    maximum_batching_window_in_seconds: cfg("batchingWindowSeconds"),
                    parallelization_factor: cfg("parallelizationFactor"),
                    maximum_retry_attempts: cfg("maximumRetryAttempts"),
                    maximum_record_age_in_seconds: cfg("maximumRecordAgeSeconds"),
                    bisect_batch_on_function_error: true,
                    function_response_types: vec!["ReportBatchItemFailures"],
                    destination_config: json!({
                        "onFailure": { "destinationArn": out(FAILED_BUCKET, "arn") }
                    }),
                    // Failed-batch counts for the dashboard (CloudWatch bills them as custom
                    // metrics; ARCHITECTURE.md, Dashboard).
                    metrics_config: MetricsConfig {
                        metrics: vec![dashboard::MAPPING_METRICS],
                    },
                },
            )?
            .depends_on(&[ROLE_POLICY]),
        ),
    ])
}

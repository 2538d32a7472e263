//! The operator's managed policy: the least privilege the operations CLI needs against a
//! deployed stack (redrive, status, query, rejected, logs), attached by the user to
//! whoever is on call. Exported as `OperatorPolicyArn`.

use super::names::*;
use super::*;
use crate::Error;
use crate::aws::iam;
use crate::expr::{out, stack, to_json, var};
use crate::iam::{PolicyDocument, Statement};

/// The calls the operations CLI makes, by what they touch (a contract test holds these to
/// the CLI's own list).
pub mod actions {
    /// Kept batches: listed, read, deleted once redriven.
    pub const FAILED_BATCHES_OBJECTS: [&str; 2] = ["s3:GetObject", "s3:DeleteObject"];
    /// Listing a bucket (kept batches; archive hours and `rejected/`).
    pub const LIST_BUCKET: [&str; 1] = ["s3:ListBucket"];
    /// Archive objects read by recovery and `rejected`.
    pub const ARCHIVE_OBJECTS: [&str; 1] = ["s3:GetObject"];
    /// Redrive `--expired quarantine`: a kept batch past its counting deadline, under
    /// `rejected/` only.
    pub const QUARANTINE: [&str; 1] = ["s3:PutObject"];
    /// The functions: the processor's settings (window, rules) and redrive's invocation;
    /// `compact`'s invocation of the compactor.
    pub const FUNCTION: [&str; 2] = ["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"];
    /// Pages read by `query` and rebuilt by recovery (conditional writes).
    pub const TABLE: [&str; 2] = ["dynamodb:PutItem", "dynamodb:Query"];
    /// `logs`: the function's log group.
    pub const LOGS: [&str; 1] = ["logs:FilterLogEvents"];
    /// Redrive clears the kept-batches alarm once the bucket is empty.
    pub const ALARM_STATE: [&str; 1] = ["cloudwatch:SetAlarmState"];
    /// `sql`: queries in the stack's workgroup, and its named queries.
    pub const ATHENA: [&str; 6] = [
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
        "athena:ListNamedQueries",
        "athena:BatchGetNamedQuery",
    ];
    /// What Athena reads of the catalog for a query (projection needs no partitions).
    pub const GLUE: [&str; 2] = ["glue:GetDatabase", "glue:GetTable"];
    /// What Athena does in the results bucket on the caller's behalf.
    pub const RESULTS_BUCKET: [&str; 3] = [
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
    ];
    /// Query results written and read back.
    pub const RESULTS_OBJECTS: [&str; 4] = [
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    ];
    /// `status`: the mapping, metrics and alarms. These calls take no resource ARN.
    pub const OBSERVE: [&str; 3] = [
        "cloudwatch:DescribeAlarms",
        "cloudwatch:GetMetricData",
        "lambda:ListEventSourceMappings",
    ];
}

pub(super) fn operator() -> Result<Group, Error> {
    let archive = out(BUCKET, "arn");
    let failed = out(FAILED_BUCKET, "arn");
    let results = out(RESULTS_BUCKET, "arn");
    let glue = format!(
        "arn:{}:glue:{}:{}",
        var(PARTITION),
        var(REGION),
        var(ACCOUNT_ID)
    );
    let policy = PolicyDocument::new(vec![
        Statement::allow(
            "RedriveKeptBatches",
            &actions::FAILED_BATCHES_OBJECTS,
            vec![format!("{failed}/*")],
        ),
        Statement::allow(
            "ListBuckets",
            &actions::LIST_BUCKET,
            vec![failed.clone(), archive.clone()],
        ),
        Statement::allow(
            "ReadArchive",
            &actions::ARCHIVE_OBJECTS,
            vec![format!("{archive}/*")],
        ),
        Statement::allow(
            "QuarantineExpiredKeptBatches",
            &actions::QUARANTINE,
            vec![format!("{archive}/rejected/*")],
        ),
        Statement::allow(
            "InvokeProcessorAndCompactor",
            &actions::FUNCTION,
            vec![out(FUNCTION, "arn"), out(COMPACTOR, "arn")],
        ),
        Statement::allow(
            "ReadAndRebuildMetrics",
            &actions::TABLE,
            vec![out(TABLE, "arn")],
        ),
        Statement::allow(
            "ReadProcessorLogs",
            &actions::LOGS,
            vec![format!("{}:*", out(LOG_GROUP, "arn"))],
        ),
        Statement::allow(
            "ClearKeptBatchesAlarm",
            &actions::ALARM_STATE,
            vec![out(ALARM_KEPT, "arn")],
        ),
        Statement::allow(
            "QueryArchive",
            &actions::ATHENA,
            vec![out(WORKGROUP, "arn")],
        ),
        Statement::allow(
            "ReadArchiveCatalog",
            &actions::GLUE,
            vec![
                format!("{glue}:catalog"),
                format!("{glue}:database/{}", out(GLUE_DATABASE, "name")),
                format!("{glue}:table/{}/*", out(GLUE_DATABASE, "name")),
            ],
        ),
        Statement::allow(
            "QueryResultsBucket",
            &actions::RESULTS_BUCKET,
            vec![results.clone()],
        ),
        Statement::allow(
            "QueryResults",
            &actions::RESULTS_OBJECTS,
            vec![format!("{results}/*")],
        ),
        Statement::allow("Observe", &actions::OBSERVE, vec!["*".to_owned()]),
    ]);
    Ok(vec![named(
        OPERATOR_POLICY,
        Resource::of(&iam::Policy {
            name: physical_name("realtime-processing-operator", &stack()),
            description: "Operate the real-time processing stack: redrive kept batches, \
                          status, query, rejected records, logs, SQL over the archive"
                .into(),
            policy: to_json(&policy)?,
        })?,
    )])
}

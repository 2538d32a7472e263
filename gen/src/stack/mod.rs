//! This stack's resources, one function per resource group, all from typed properties.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Value, json};

use crate::expr::{Input, cfg, invoke, join, out, stack, to_json, var};
use crate::iam::{PolicyDocument, Principal, Statement};
use crate::program::{Program, Resource};
use crate::settings::Settings;
use crate::{Error, FUNCTION_ARCHIVE_DIR, PROJECT};

mod alarms;
mod bucket;
pub mod dashboard;
pub mod failure;
mod processor;

pub use processor::actions;

/// Logical names of the program's resources and variables (used by `${…}` references).
pub mod names {
    pub const ACCOUNT_ID: &str = "accountId";
    pub const REGION: &str = "region";
    pub const PARTITION: &str = "partition";
    pub const KEY: &str = "pipelineKey";
    pub const KEY_ALIAS: &str = "pipelineKeyAlias";
    pub const STREAM: &str = "dataStream";
    pub const BUCKET: &str = "archiveBucket";
    pub const FAILED_BUCKET: &str = "failedBatchesBucket";
    pub const FAILED_BUCKET_OWNERSHIP: &str = "failedBatchesOwnership";
    pub const FAILED_BUCKET_PUBLIC_ACCESS: &str = "failedBatchesPublicAccessBlock";
    pub const FAILED_BUCKET_ENCRYPTION: &str = "failedBatchesEncryption";
    pub const FAILED_BUCKET_POLICY: &str = "failedBatchesTlsOnlyPolicy";
    pub const FAILED_BUCKET_LIFECYCLE: &str = "failedBatchesLifecycle";
    pub const FAILED_BUCKET_NOTIFICATION: &str = "failedBatchesNotification";
    pub const BUCKET_VERSIONING: &str = "archiveVersioning";
    pub const BUCKET_LIFECYCLE: &str = "archiveLifecycle";
    pub const BUCKET_ENCRYPTION: &str = "archiveEncryption";
    pub const BUCKET_PUBLIC_ACCESS: &str = "archivePublicAccessBlock";
    pub const BUCKET_OWNERSHIP: &str = "archiveOwnership";
    pub const BUCKET_POLICY: &str = "archiveTlsOnlyPolicy";
    pub const TABLE: &str = "metricsTable";
    pub const TOPIC: &str = "alertTopic";
    pub const TOPIC_POLICY: &str = "alertTopicPolicy";
    pub const LOG_GROUP: &str = "processorLogGroup";
    pub const ROLE: &str = "processorRole";
    pub const ROLE_POLICY: &str = "processorPolicy";
    pub const FUNCTION: &str = "processor";
    pub const MAPPING: &str = "processorMapping";
    pub const ALARM_ERRORS: &str = "processorErrorAlarm";
    pub const ALARM_THROTTLES: &str = "processorThrottleAlarm";
    pub const ALARM_ITERATOR_AGE: &str = "processorIteratorAgeAlarm";
    pub const ALARM_REJECTED: &str = "rejectedRecordsAlarm";
    pub const DASHBOARD: &str = "dashboard";
}
use names::*;

/// The seed's resource names; each is suffixed with `-<stack>` so stacks share an account.
pub mod base_names {
    pub const STREAM: &str = "realtime-data-stream";
    pub const BUCKET: &str = "realtime-data-archive";
    pub const TABLE: &str = "realtime-processed-metrics";
    pub const FUNCTION: &str = "realtime-data-processor";
    pub const FAILED_BUCKET: &str = "realtime-failed-batches";
    pub const TOPIC: &str = "realtime-processing-alerts";
    pub const KEY_ALIAS: &str = "alias/realtime-processing";
}

/// The names a resource gets in a given stack (shared with the local stack).
pub fn physical_name(base: &str, stack_name: &str) -> String {
    format!("{base}-{stack_name}")
}

/// The archive bucket's name for an account, region and stack.
pub fn bucket_name(account: &str, region: &str, stack_name: &str) -> String {
    format!("{}-{account}-{region}-{stack_name}", base_names::BUCKET)
}

/// The failed-batches bucket's name for an account, region and stack.
pub fn failed_bucket_name(account: &str, region: &str, stack_name: &str) -> String {
    format!(
        "{}-{account}-{region}-{stack_name}",
        base_names::FAILED_BUCKET
    )
}

/// The key prefixes the function writes archive objects under.
pub const ARCHIVE_PREFIXES: [&str; 2] = ["raw/", "rejected/"];

/// The CloudWatch namespace of the function's EMF metrics (`RealtimeProcessing/<stack>`).
pub fn metrics_namespace() -> String {
    format!("RealtimeProcessing/{}", stack())
}

/// The environment variables the stack gives the function (name → value expression).
pub fn processor_environment() -> IndexMap<&'static str, Value> {
    IndexMap::from([
        ("ARCHIVE_BUCKET", json!(out(BUCKET, "bucket"))),
        ("METRICS_TABLE", json!(out(TABLE, "name"))),
        ("WINDOW_SECONDS", to_json(&var("windowSeconds"))),
        ("METRICS_TTL_DAYS", to_json(&var("metricsTtlDays"))),
        ("ID_FIELDS", join(",", json!(var("idFields")))),
        ("METRICS_NAMESPACE", json!(metrics_namespace())),
        ("RUST_LOG", json!("info")),
    ])
}

/// The whole program.
pub fn program() -> Result<Program, Error> {
    let mut resources = IndexMap::new();
    for group in [
        encryption_key()?,
        stream()?,
        archive()?,
        table()?,
        alerts()?,
        failure::failed_batches()?,
        processor::processor()?,
        alarms::alarms()?,
        dashboard::dashboard()?,
    ] {
        resources.extend(group);
    }
    Ok(Program {
        name: PROJECT.to_owned(),
        runtime: "yaml".to_owned(),
        description: "Kinesis -> Lambda (Rust) -> S3 archive + DynamoDB metrics, with alarms \
                      to SNS"
            .to_owned(),
        config: Settings::declarations()?,
        variables: IndexMap::from([
            (
                ACCOUNT_ID.to_owned(),
                invoke("aws:getCallerIdentity", "accountId"),
            ),
            (REGION.to_owned(), invoke("aws:getRegion", "region")),
            (
                PARTITION.to_owned(),
                invoke("aws:getPartition", "partition"),
            ),
        ]),
        resources,
        outputs: [
            ("DataStreamName", out(STREAM, "name")),
            ("DataStreamArn", out(STREAM, "arn")),
            ("ArchiveBucketName", out(BUCKET, "bucket")),
            ("MetricsTableName", out(TABLE, "name")),
            ("ProcessorFunctionName", out(FUNCTION, "name")),
            ("AlertTopicArn", out(TOPIC, "arn")),
            ("FailedBatchesBucketName", out(FAILED_BUCKET, "bucket")),
            ("DashboardName", out(DASHBOARD, "dashboardName")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect(),
    })
}

type Group = Vec<(String, Resource)>;

fn named(name: &str, r: Resource) -> (String, Resource) {
    (name.to_owned(), r)
}

fn account_root() -> String {
    format!("arn:{}:iam::{}:root", var(PARTITION), var(ACCOUNT_ID))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KmsKey {
    description: String,
    enable_key_rotation: bool,
    deletion_window_in_days: Input<i64>,
    policy: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KmsAlias {
    name: String,
    target_key_id: String,
}

/// One customer-managed key for the stream and the alert topic. A CMK (not `aws/sns`) is
/// needed because CloudWatch alarms may only publish to an encrypted topic whose key
/// policy lets `cloudwatch.amazonaws.com` use the key.
fn encryption_key() -> Result<Group, Error> {
    // In a key policy, Resource "*" means "this key"; no narrower spelling exists.
    let this_key = vec!["*".to_owned()];
    let policy = PolicyDocument::new(vec![
        // The account keeps administering its key (AWS's default key policy statement).
        Statement::allow("AccountAdministers", &["kms:*"], this_key.clone())
            .principal(Principal::Aws(account_root())),
        Statement::allow(
            "CloudWatchAlarmsPublishToEncryptedTopic",
            &["kms:Decrypt", "kms:GenerateDataKey*"],
            this_key.clone(),
        )
        .principal(Principal::Service("cloudwatch.amazonaws.com".into()))
        .condition(json!({ "StringEquals": { "aws:SourceAccount": var(ACCOUNT_ID) } })),
        Statement::allow(
            "S3NotificationsPublishToEncryptedTopic",
            &["kms:Decrypt", "kms:GenerateDataKey*"],
            this_key.clone(),
        )
        .principal(Principal::Service("s3.amazonaws.com".into()))
        .condition(json!({ "StringEquals": { "aws:SourceAccount": var(ACCOUNT_ID) } })),
    ]);
    Ok(vec![
        named(
            KEY,
            Resource::new(
                "aws:kms:Key",
                &KmsKey {
                    description: format!("realtime-processing {}: stream and alert topic", stack()),
                    enable_key_rotation: true,
                    deletion_window_in_days: cfg("keyDeletionWindowDays"),
                    policy: to_json(&policy),
                },
            )?,
        ),
        named(
            KEY_ALIAS,
            Resource::new(
                "aws:kms:Alias",
                &KmsAlias {
                    name: physical_name(base_names::KEY_ALIAS, &stack()),
                    target_key_id: out(KEY, "keyId"),
                },
            )?,
        ),
    ])
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KinesisStream {
    name: String,
    shard_count: Input<i64>,
    retention_period: Input<i64>,
    encryption_type: &'static str,
    kms_key_id: String,
    stream_mode_details: Value,
}

fn stream() -> Result<Group, Error> {
    Ok(vec![named(
        STREAM,
        Resource::new(
            "aws:kinesis:Stream",
            &KinesisStream {
                name: physical_name(base_names::STREAM, &stack()),
                shard_count: cfg("shardCount"),
                retention_period: cfg("retentionHours"),
                encryption_type: "KMS",
                kms_key_id: out(KEY, "arn"),
                stream_mode_details: json!({ "streamMode": "PROVISIONED" }),
            },
        )?,
    )])
}

fn archive() -> Result<Group, Error> {
    let names = bucket::Names {
        bucket: BUCKET,
        ownership: BUCKET_OWNERSHIP,
        public_access: BUCKET_PUBLIC_ACCESS,
        encryption: BUCKET_ENCRYPTION,
        tls_policy: BUCKET_POLICY,
    };
    let mut group = bucket::hardened(
        names,
        bucket_name(&var(ACCOUNT_ID), &var(REGION), &stack()),
        cfg("forceDestroy"),
    )?;
    let child = |rest: Value| bucket::BucketChild {
        bucket: out(BUCKET, "id"),
        rest,
    };
    let tiering = bucket::LifecycleRule {
        id: "archive-tiering",
        status: "Enabled",
        filter: json!({ "prefix": "" }),
        transitions: vec![
            json!({ "days": var("archiveGlacierDays"), "storageClass": "GLACIER" }),
            json!({ "days": var("archiveDeepArchiveDays"), "storageClass": "DEEP_ARCHIVE" }),
        ],
        noncurrent_version_expiration: Some(
            json!({ "noncurrentDays": var("archiveNoncurrentDays") }),
        ),
        abort_incomplete_multipart_upload: Some(json!({ "daysAfterInitiation": 1 })),
        expiration: None,
    };
    let delete_markers = bucket::LifecycleRule {
        id: "remove-expired-delete-markers",
        status: "Enabled",
        filter: json!({ "prefix": "" }),
        transitions: Vec::new(),
        noncurrent_version_expiration: None,
        abort_incomplete_multipart_upload: None,
        expiration: Some(json!({ "expiredObjectDeleteMarker": true })),
    };
    group.push(named(
        BUCKET_VERSIONING,
        Resource::new(
            "aws:s3:BucketVersioning",
            &child(json!({ "versioningConfiguration": { "status": "Enabled" } })),
        )?,
    ));
    group.push(named(
        BUCKET_LIFECYCLE,
        Resource::new(
            "aws:s3:BucketLifecycleConfiguration",
            &child(json!({
                "transitionDefaultMinimumObjectSize": var("archiveTransitionMinimumSize"),
                "rules": [tiering, delete_markers],
            })),
        )?
        .depends_on(&[BUCKET_VERSIONING]),
    ));
    Ok(group)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Table {
    name: String,
    billing_mode: &'static str,
    hash_key: &'static str,
    range_key: &'static str,
    attributes: Value,
    ttl: Value,
    server_side_encryption: Value,
    point_in_time_recovery: Value,
    deletion_protection_enabled: Input<bool>,
}

/// The metrics table's key and TTL attribute names (the function writes these).
pub mod table_keys {
    pub const HASH: &str = "partition_key";
    pub const RANGE: &str = "timestamp";
    pub const TTL: &str = "ttl";
}

fn table() -> Result<Group, Error> {
    Ok(vec![named(
        TABLE,
        Resource::new(
            "aws:dynamodb:Table",
            &Table {
                name: physical_name(base_names::TABLE, &stack()),
                billing_mode: "PAY_PER_REQUEST",
                hash_key: table_keys::HASH,
                range_key: table_keys::RANGE,
                attributes: json!([
                    { "name": table_keys::HASH, "type": "S" },
                    { "name": table_keys::RANGE, "type": "S" },
                ]),
                ttl: json!({ "attributeName": table_keys::TTL, "enabled": true }),
                server_side_encryption: json!({ "enabled": true }),
                point_in_time_recovery: json!({ "enabled": var("pointInTimeRecovery") }),
                deletion_protection_enabled: cfg("deletionProtection"),
            },
        )?,
    )])
}

fn alerts() -> Result<Group, Error> {
    let topic_arn = out(TOPIC, "arn");
    let policy = PolicyDocument::new(vec![
        Statement::allow(
            "CloudWatchAlarmsPublish",
            &["sns:Publish"],
            vec![topic_arn.clone()],
        )
        .principal(Principal::Service("cloudwatch.amazonaws.com".into()))
        .condition(json!({ "StringEquals": { "aws:SourceAccount": var(ACCOUNT_ID) } })),
        Statement::allow(
            "FailedBatchNotificationsPublish",
            &["sns:Publish"],
            vec![topic_arn.clone()],
        )
        .principal(Principal::Service("s3.amazonaws.com".into()))
        .condition(json!({
            "StringEquals": { "aws:SourceAccount": var(ACCOUNT_ID) },
            "ArnLike": { "aws:SourceArn": out(FAILED_BUCKET, "arn") },
        })),
    ]);
    Ok(vec![
        named(
            TOPIC,
            Resource::new(
                "aws:sns:Topic",
                &json!({
                    "name": physical_name(base_names::TOPIC, &stack()),
                    "kmsMasterKeyId": out(KEY, "arn"),
                }),
            )?,
        ),
        named(
            TOPIC_POLICY,
            Resource::new(
                "aws:sns:TopicPolicy",
                &json!({ "arn": topic_arn, "policy": to_json(&policy) }),
            )?,
        ),
    ])
}

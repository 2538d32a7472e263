//! This stack's resources, one function per resource group, all from typed properties.

use indexmap::IndexMap;

use crate::aws::{Enabled, dynamodb, kinesis, kms, s3, sns};
use crate::expr::{Input, cfg, invoke, join, out, stack, to_json, var};
use crate::iam::{PolicyDocument, Principal, Statement};
use crate::program::{Program, Resource};
use crate::settings::Settings;
use crate::{Error, PROJECT};

mod alarms;
mod bucket;
pub mod compactor;
pub mod dashboard;
pub mod failure;
pub mod operator;
mod processor;
pub mod query;
pub mod sql;

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
    pub const ALARM_DELIVERY: &str = "failedBatchDeliveryAlarm";
    pub const ALARM_STORAGE: &str = "storageFailureAlarm";
    pub const ALARM_STALLED: &str = "mappingStalledAlarm";
    pub const ALARM_KEPT: &str = "keptBatchesAlarm";
    pub const DASHBOARD: &str = "dashboard";
    pub const OPERATOR_POLICY: &str = "operatorPolicy";
    pub const COMPACTOR_LOG_GROUP: &str = "compactorLogGroup";
    pub const COMPACTOR_ROLE: &str = "compactorRole";
    pub const COMPACTOR_ROLE_POLICY: &str = "compactorPolicy";
    pub const COMPACTOR: &str = "compactor";
    pub const COMPACTION_SCHEDULE: &str = "compactionRule";
    pub const COMPACTION_TARGET: &str = "compactionTarget";
    pub const COMPACTION_PERMISSION: &str = "compactionInvokePermission";
    pub const ALARM_COMPACTION: &str = "compactionErrorAlarm";
    pub const RESULTS_BUCKET: &str = "queryResultsBucket";
    pub const RESULTS_BUCKET_OWNERSHIP: &str = "queryResultsOwnership";
    pub const RESULTS_BUCKET_PUBLIC_ACCESS: &str = "queryResultsPublicAccessBlock";
    pub const RESULTS_BUCKET_ENCRYPTION: &str = "queryResultsEncryption";
    pub const RESULTS_BUCKET_POLICY: &str = "queryResultsTlsOnlyPolicy";
    pub const RESULTS_BUCKET_LIFECYCLE: &str = "queryResultsLifecycle";
    pub const GLUE_DATABASE: &str = "archiveDatabase";
    pub const RECORDS_TABLE: &str = "recordsTable";
    pub const REJECTED_TABLE: &str = "rejectedTable";
    pub const WORKGROUP: &str = "queryWorkgroup";
}
use names::*;

/// The program's outputs (`pulumi stack output`; the local stack reads the same names).
pub mod outputs {
    pub const DATA_STREAM_NAME: &str = "DataStreamName";
    pub const DATA_STREAM_ARN: &str = "DataStreamArn";
    pub const ARCHIVE_BUCKET_NAME: &str = "ArchiveBucketName";
    pub const METRICS_TABLE_NAME: &str = "MetricsTableName";
    pub const PROCESSOR_FUNCTION_NAME: &str = "ProcessorFunctionName";
    pub const ALERT_TOPIC_ARN: &str = "AlertTopicArn";
    pub const FAILED_BATCHES_BUCKET_NAME: &str = "FailedBatchesBucketName";
    pub const DASHBOARD_NAME: &str = "DashboardName";
    pub const OPERATOR_POLICY_ARN: &str = "OperatorPolicyArn";
    pub const KEPT_BATCHES_ALARM_NAME: &str = "KeptBatchesAlarmName";
    pub const COMPACTOR_FUNCTION_NAME: &str = "CompactorFunctionName";
    pub const ATHENA_WORKGROUP_NAME: &str = "AthenaWorkgroupName";
    pub const GLUE_DATABASE_NAME: &str = "GlueDatabaseName";
    pub const QUERY_RESULTS_BUCKET_NAME: &str = "QueryResultsBucketName";
}

/// The seed's resource names; each is suffixed with `-<stack>` so stacks share an account.
pub mod base_names {
    pub const STREAM: &str = "realtime-data-stream";
    pub const BUCKET: &str = "realtime-data-archive";
    pub const TABLE: &str = "realtime-processed-metrics";
    pub const FUNCTION: &str = "realtime-data-processor";
    pub const COMPACTOR: &str = "realtime-archive-compactor";
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
pub fn processor_environment() -> Result<IndexMap<String, Input<String>>, Error> {
    Ok([
        ("ARCHIVE_BUCKET", Input::Lit(out(BUCKET, "bucket"))),
        ("METRICS_TABLE", Input::Lit(out(TABLE, "name"))),
        ("WINDOW_SECONDS", to_json(&var("windowSeconds"))?),
        ("METRICS_TTL_DAYS", to_json(&var("metricsTtlDays"))?),
        ("ID_FIELDS", join(",", &var("idFields"))),
        (
            "QUANTILE_ACCURACY_PER_MILLE",
            to_json(&var("quantileAccuracyPerMille"))?,
        ),
        ("METRICS_NAMESPACE", Input::Lit(metrics_namespace())),
        ("RUST_LOG", Input::Lit("info".to_owned())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect())
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
        compactor::compactor()?,
        query::query()?,
        alarms::alarms()?,
        dashboard::dashboard()?,
        operator::operator()?,
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
            (outputs::DATA_STREAM_NAME, out(STREAM, "name")),
            (outputs::DATA_STREAM_ARN, out(STREAM, "arn")),
            (outputs::ARCHIVE_BUCKET_NAME, out(BUCKET, "bucket")),
            (outputs::METRICS_TABLE_NAME, out(TABLE, "name")),
            (outputs::PROCESSOR_FUNCTION_NAME, out(FUNCTION, "name")),
            (outputs::ALERT_TOPIC_ARN, out(TOPIC, "arn")),
            (
                outputs::FAILED_BATCHES_BUCKET_NAME,
                out(FAILED_BUCKET, "bucket"),
            ),
            (outputs::DASHBOARD_NAME, out(DASHBOARD, "dashboardName")),
            (outputs::OPERATOR_POLICY_ARN, out(OPERATOR_POLICY, "arn")),
            (outputs::KEPT_BATCHES_ALARM_NAME, out(ALARM_KEPT, "name")),
            (outputs::COMPACTOR_FUNCTION_NAME, out(COMPACTOR, "name")),
            (outputs::ATHENA_WORKGROUP_NAME, out(WORKGROUP, "name")),
            (outputs::GLUE_DATABASE_NAME, out(GLUE_DATABASE, "name")),
            (
                outputs::QUERY_RESULTS_BUCKET_NAME,
                out(RESULTS_BUCKET, "bucket"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
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
        .when("StringEquals", "aws:SourceAccount", var(ACCOUNT_ID)),
    ]);
    Ok(vec![
        named(
            KEY,
            Resource::of(&kms::Key {
                description: format!("realtime-processing {}: stream and alert topic", stack()),
                enable_key_rotation: true,
                deletion_window_in_days: cfg("keyDeletionWindowDays"),
                policy: to_json(&policy)?,
            })?,
        ),
        named(
            KEY_ALIAS,
            Resource::of(&kms::Alias {
                name: physical_name(base_names::KEY_ALIAS, &stack()),
                target_key_id: out(KEY, "keyId"),
            })?,
        ),
    ])
}

fn stream() -> Result<Group, Error> {
    Ok(vec![named(
        STREAM,
        Resource::of(&kinesis::Stream {
            name: physical_name(base_names::STREAM, &stack()),
            shard_count: cfg("shardCount"),
            retention_period: cfg("retentionHours"),
            encryption_type: "KMS".into(),
            kms_key_id: out(KEY, "arn"),
            stream_mode_details: kinesis::StreamModeDetails {
                stream_mode: "PROVISIONED".into(),
            },
        })?,
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
    let bucket = || out(BUCKET, "id");
    let tiering = s3::LifecycleRule {
        id: "archive-tiering".into(),
        status: "Enabled".into(),
        filter: bucket::everything(),
        transitions: vec![
            s3::Transition {
                days: cfg("archiveGlacierDays"),
                storage_class: "GLACIER".into(),
            },
            s3::Transition {
                days: cfg("archiveDeepArchiveDays"),
                storage_class: "DEEP_ARCHIVE".into(),
            },
        ],
        noncurrent_version_expiration: Some(s3::NoncurrentVersionExpiration {
            noncurrent_days: cfg("archiveNoncurrentDays"),
        }),
        abort_incomplete_multipart_upload: Some(bucket::ABORT_UPLOADS_AFTER_A_DAY),
        expiration: None,
    };
    let delete_markers = s3::LifecycleRule {
        id: "remove-expired-delete-markers".into(),
        status: "Enabled".into(),
        filter: bucket::everything(),
        transitions: Vec::new(),
        noncurrent_version_expiration: None,
        abort_incomplete_multipart_upload: None,
        expiration: Some(s3::Expiration {
            days: None,
            expired_object_delete_marker: Some(true),
        }),
    };
    group.push(named(
        BUCKET_VERSIONING,
        Resource::of(&s3::BucketVersioning {
            bucket: bucket(),
            versioning_configuration: s3::VersioningConfiguration {
                status: "Enabled".into(),
            },
        })?,
    ));
    group.push(named(
        BUCKET_LIFECYCLE,
        Resource::of(&s3::BucketLifecycleConfiguration {
            bucket: bucket(),
            transition_default_minimum_object_size: Some(cfg("archiveTransitionMinimumSize")),
            rules: vec![tiering, delete_markers],
        })?
        .depends_on(&[BUCKET_VERSIONING]),
    ));
    Ok(group)
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
        Resource::of(&dynamodb::Table {
            name: physical_name(base_names::TABLE, &stack()),
            billing_mode: "PAY_PER_REQUEST".into(),
            hash_key: table_keys::HASH.into(),
            range_key: table_keys::RANGE.into(),
            attributes: [table_keys::HASH, table_keys::RANGE]
                .into_iter()
                .map(|name| dynamodb::Attribute {
                    name: name.into(),
                    ty: "S".into(),
                })
                .collect(),
            ttl: dynamodb::Ttl {
                attribute_name: table_keys::TTL.into(),
                enabled: true,
            },
            server_side_encryption: Enabled { enabled: true },
            point_in_time_recovery: Enabled {
                enabled: cfg("pointInTimeRecovery"),
            },
            deletion_protection_enabled: cfg("deletionProtection"),
        })?,
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
        .when("StringEquals", "aws:SourceAccount", var(ACCOUNT_ID)),
    ]);
    Ok(vec![
        named(
            TOPIC,
            Resource::of(&sns::Topic {
                name: physical_name(base_names::TOPIC, &stack()),
                kms_master_key_id: out(KEY, "arn"),
            })?,
        ),
        named(
            TOPIC_POLICY,
            Resource::of(&sns::TopicPolicy {
                arn: topic_arn,
                policy: to_json(&policy)?,
            })?,
        ),
    ])
}

//! SQL over the archive: a Glue database whose tables read `raw/` and `rejected/` through
//! partition projection (no crawler, no `MSCK REPAIR`), an Athena workgroup with its own
//! encrypted results bucket and scan limit, and the named queries users ask first.

use indexmap::IndexMap;

use super::names::*;
use super::{Group, bucket, named};
use crate::Error;
use crate::aws::{athena, glue, s3};
use crate::expr::{Input, cfg, literal, out, stack, var};
use crate::program::Resource;

/// The tables, named as queries name them (the database is the query's context).
pub mod tables {
    /// Every archived line under `raw/`: counted records and control messages.
    pub const RECORDS: &str = "records";
    /// Every quarantined line under `rejected/`, with its reason.
    pub const REJECTED: &str = "rejected";
}

/// The hour partition keys, in the archive's key order (`function::archive::hour_prefix`).
pub const HOUR_KEYS: [&str; 4] = ["year", "month", "day", "hour"];

/// The Athena engine the named queries are written for (Trino).
pub const ENGINE: &str = "Athena engine version 3";

/// The Glue database's name in a stack (`realtime_dev`; Glue keeps names lowercase, and a
/// stack name with `-` makes a name Athena DDL must quote, which the named queries never
/// need: they run in the database's context).
pub fn database_name(stack_name: &str) -> String {
    format!("realtime_{stack_name}")
}

/// The results bucket's name for an account, region and stack.
pub fn results_bucket_name(account: &str, region: &str, stack_name: &str) -> String {
    format!("realtime-query-results-{account}-{region}-{stack_name}")
}

fn column(name: &str, ty: &str, comment: &str) -> glue::Column {
    glue::Column {
        name: name.to_owned(),
        ty: Input::Lit(ty.to_owned()),
        comment: Some(comment.to_owned()),
    }
}

/// The columns of an archive line (`function::archive::Wire`), as the function writes
/// them (camelCase; Athena's JSON SerDe matches keys case-insensitively).
pub fn columns(table: &str) -> Vec<glue::Column> {
    let mut c = vec![
        column("shardId", "string", "Kinesis shard"),
        column("sequenceNumber", "string", "Kinesis sequence number"),
        column(
            "subSequenceNumber",
            "bigint",
            "position inside a KPL aggregate",
        ),
        column("partitionKey", "string", "the user record's partition key"),
        column(
            "kinesisPartitionKey",
            "string",
            "the Kinesis record's, when it differs",
        ),
        column(
            "approximateArrivalTimestamp",
            "string",
            "arrival in the stream, ISO 8601 UTC, milliseconds",
        ),
    ];
    if table == tables::RECORDS {
        c.extend([
            column("entity", "string", "the entity the record was counted for"),
            column(
                "windowStart",
                "string",
                "the window it was counted in, as the metrics table labels it",
            ),
        ]);
    } else {
        c.push(column("reason", "string", "why it was quarantined"));
    }
    c.extend([
        column("data", "string", "the record's JSON text, as sent"),
        column(
            "dataBase64",
            "string",
            "the record's bytes when they are not JSON",
        ),
        column("message", "string", "CloudWatch Logs event message"),
        column("logTimestamp", "string", "CloudWatch Logs event time"),
        column("logGroup", "string", "CloudWatch Logs group"),
    ]);
    c
}

/// Partition projection over `year=/month=/day=/hour=`: Athena computes the partitions a
/// query's filter names, so none is ever registered.
fn projection(location: &str) -> IndexMap<String, String> {
    let mut p = IndexMap::from([
        ("classification".to_owned(), "json".to_owned()),
        ("EXTERNAL".to_owned(), "TRUE".to_owned()),
        ("projection.enabled".to_owned(), "true".to_owned()),
    ]);
    for (key, range) in HOUR_KEYS.iter().zip(["2020,2099", "1,12", "1,31", "0,23"]) {
        p.insert(format!("projection.{key}.type"), "integer".to_owned());
        p.insert(format!("projection.{key}.range"), range.to_owned());
        if *key != "year" {
            p.insert(format!("projection.{key}.digits"), "2".to_owned());
        }
    }
    let template: Vec<String> = HOUR_KEYS.iter().map(|k| format!("{k}=${{{k}}}")).collect();
    p.insert(
        "storage.location.template".to_owned(),
        format!("{location}{}/", literal(&template.join("/"))),
    );
    p
}

fn table(name: &str, prefix: &str, description: &str) -> Result<Resource, Error> {
    let location = format!("s3://{}/{prefix}", out(BUCKET, "bucket"));
    Resource::of(&glue::CatalogTable {
        name: name.to_owned(),
        database_name: out(GLUE_DATABASE, "name"),
        description: description.to_owned(),
        table_type: "EXTERNAL_TABLE".to_owned(),
        parameters: projection(&location),
        partition_keys: HOUR_KEYS
            .iter()
            .map(|k| column(k, "string", "arrival hour (UTC), as in the key"))
            .collect(),
        storage_descriptor: glue::StorageDescriptor {
            location,
            input_format: "org.apache.hadoop.mapred.TextInputFormat".to_owned(),
            output_format: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat".to_owned(),
            compressed: true,
            columns: columns(name),
            ser_de_info: glue::SerDeInfo {
                serialization_library: "org.openx.data.jsonserde.JsonSerDe".to_owned(),
                parameters: IndexMap::from([(
                    "ignore.malformed.json".to_owned(),
                    "FALSE".to_owned(),
                )]),
            },
        },
    })
}

/// The Glue database and tables, the results bucket and the workgroup with its queries.
pub(super) fn query() -> Result<Group, Error> {
    let names = bucket::Names {
        bucket: RESULTS_BUCKET,
        ownership: RESULTS_BUCKET_OWNERSHIP,
        public_access: RESULTS_BUCKET_PUBLIC_ACCESS,
        encryption: RESULTS_BUCKET_ENCRYPTION,
        tls_policy: RESULTS_BUCKET_POLICY,
    };
    let mut group = bucket::hardened(
        names,
        results_bucket_name(&var(ACCOUNT_ID), &var(REGION), &stack()),
        cfg("forceDestroy"),
    )?;
    group.push(named(
        RESULTS_BUCKET_LIFECYCLE,
        Resource::of(&s3::BucketLifecycleConfiguration {
            bucket: out(RESULTS_BUCKET, "id"),
            transition_default_minimum_object_size: None,
            rules: vec![s3::LifecycleRule {
                id: "expire-query-results".into(),
                status: "Enabled".into(),
                filter: bucket::everything(),
                transitions: Vec::new(),
                noncurrent_version_expiration: None,
                abort_incomplete_multipart_upload: Some(bucket::ABORT_UPLOADS_AFTER_A_DAY),
                expiration: Some(s3::Expiration {
                    days: Some(cfg("queryResultsExpirationDays")),
                    expired_object_delete_marker: None,
                }),
            }],
        })?,
    ));
    group.extend([
        named(
            GLUE_DATABASE,
            Resource::of(&glue::CatalogDatabase {
                name: database_name(&stack()),
                description: "The real-time pipeline's archive, for Athena".into(),
            })?,
        ),
        named(
            RECORDS_TABLE,
            table(
                tables::RECORDS,
                "raw/",
                "Archived records (a record may appear in several objects: de-duplicate on shardId, sequenceNumber, subSequenceNumber)",
            )?,
        ),
        named(
            REJECTED_TABLE,
            table(
                tables::REJECTED,
                "rejected/",
                "Quarantined records with the reason",
            )?,
        ),
        named(
            WORKGROUP,
            Resource::of(&athena::Workgroup {
                name: format!("realtime-{}", stack()),
                description: "Queries over the real-time pipeline's archive".into(),
                state: "ENABLED".into(),
                force_destroy: cfg("forceDestroy"),
                configuration: athena::WorkgroupConfiguration {
                    enforce_workgroup_configuration: true,
                    publish_cloudwatch_metrics_enabled: true,
                    bytes_scanned_cutoff_per_query: cfg("queryScanLimitBytes"),
                    engine_version: athena::EngineVersion {
                        selected_engine_version: ENGINE.into(),
                    },
                    result_configuration: athena::ResultConfiguration {
                        output_location: format!("s3://{}/", out(RESULTS_BUCKET, "bucket")),
                        encryption_configuration: athena::ResultEncryption {
                            encryption_option: "SSE_S3".into(),
                        },
                    },
                },
            })?,
        ),
    ]);
    for q in super::sql::NAMED {
        group.push(named(
            &q.logical_name(),
            Resource::of(&athena::NamedQuery {
                name: q.name.to_owned(),
                description: q.description(),
                workgroup: out(WORKGROUP, "name"),
                database: out(GLUE_DATABASE, "name"),
                query: Input::Lit(q.sql()),
            })?,
        ));
    }
    Ok(group)
}

//! Where given-up batches are kept: Lambda's S3 on-failure destination (the whole
//! invocation record, every Kinesis record of the batch, plus its metadata), and a
//! notification to the alert topic for every batch kept there.
//!
//! A failed batch stays in the bucket until `redrive` has counted all of its records and
//! deletes it: no expiration, so nothing is lost once the stream's retention has passed.
//! Each new object notifies the topic once; unlike a queue-depth alarm, nothing clears it.

use serde_json::json;

use super::bucket::{self, BucketChild, LifecycleRule};
use super::names::*;
use super::{Group, failed_bucket_name, named};
use crate::Error;
use crate::expr::{cfg, out, stack, var};
use crate::program::Resource;

/// The key prefix Lambda writes failed batches under (`aws/lambda/<ESM-UUID>/<shardId>/…`).
pub const FAILED_BATCH_PREFIX: &str = "aws/lambda/";

/// The failed-batches bucket, its lifecycle and its notification.
pub(super) fn failed_batches() -> Result<Group, Error> {
    let names = bucket::Names {
        bucket: FAILED_BUCKET,
        ownership: FAILED_BUCKET_OWNERSHIP,
        public_access: FAILED_BUCKET_PUBLIC_ACCESS,
        encryption: FAILED_BUCKET_ENCRYPTION,
        tls_policy: FAILED_BUCKET_POLICY,
    };
    let mut group = bucket::hardened(
        names,
        failed_bucket_name(&var(ACCOUNT_ID), &var(REGION), &stack()),
        cfg("forceDestroy"),
    )?;
    let bucket_id = out(FAILED_BUCKET, "id");
    let lifecycle = LifecycleRule {
        id: "keep-failed-batches-until-redriven",
        status: "Enabled",
        filter: json!({ "prefix": "" }),
        transitions: Vec::new(),
        noncurrent_version_expiration: None,
        abort_incomplete_multipart_upload: Some(json!({ "daysAfterInitiation": 1 })),
        expiration: None,
    };
    group.push(named(
        FAILED_BUCKET_LIFECYCLE,
        Resource::new(
            "aws:s3:BucketLifecycleConfiguration",
            &BucketChild {
                bucket: bucket_id.clone(),
                rest: json!({ "rules": [lifecycle] }),
            },
        )?,
    ));
    group.push(named(
        FAILED_BUCKET_NOTIFICATION,
        Resource::new(
            "aws:s3:BucketNotification",
            &BucketChild {
                bucket: bucket_id,
                rest: json!({ "topics": [{
                    "topicArn": out(TOPIC, "arn"),
                    "events": ["s3:ObjectCreated:*"],
                    "filterPrefix": FAILED_BATCH_PREFIX,
                }] }),
            },
        )?
        .depends_on(&[TOPIC_POLICY]),
    ));
    Ok(group)
}

//! Where given-up batches are kept: Lambda's S3 on-failure destination (the whole
//! invocation record, every Kinesis record of the batch, plus its metadata).
//!
//! A failed batch stays in the bucket until `redrive` has counted all of its records and
//! deletes it: no expiration, so nothing is lost once the stream's retention has passed.
//! The kept-batches alarm (`alarms`) announces an incident once, not once per object.

use super::bucket;
use super::names::*;
use super::{Group, failed_bucket_name, named};
use crate::Error;
use crate::aws::s3;
use crate::expr::{cfg, out, stack, var};
use crate::program::Resource;

/// The key prefix Lambda writes failed batches under (`aws/lambda/<ESM-UUID>/<shardId>/…`).
pub const FAILED_BATCH_PREFIX: &str = "aws/lambda/";

/// The failed-batches bucket and its lifecycle.
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
    let bucket = || out(FAILED_BUCKET, "id");
    group.push(named(
        FAILED_BUCKET_LIFECYCLE,
        Resource::of(&s3::BucketLifecycleConfiguration {
            bucket: bucket(),
            transition_default_minimum_object_size: None,
            rules: vec![s3::LifecycleRule {
                id: "keep-failed-batches-until-redriven".into(),
                status: "Enabled".into(),
                filter: bucket::everything(),
                transitions: Vec::new(),
                noncurrent_version_expiration: None,
                abort_incomplete_multipart_upload: Some(bucket::ABORT_UPLOADS_AFTER_A_DAY),
                expiration: None,
            }],
        })?,
    ));
    Ok(group)
}

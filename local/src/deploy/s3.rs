//! S3 buckets and their settings: ownership, public access block, encryption, versioning,
//! lifecycle, policy, notifications.

use stackgen::aws::s3;

use super::{Outputs, int32, lit, outputs};
use crate::clients::Clients;
use crate::error::Error;

/// `aws:s3:Bucket`.
pub(super) async fn bucket(c: &Clients, b: s3::Bucket) -> Result<Outputs, Error> {
    let bucket = b.bucket;
    c.s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .map_err(Error::aws("s3:CreateBucket"))?;
    Ok(outputs(&[
        ("id", bucket.clone()),
        ("bucket", bucket.clone()),
        ("arn", format!("arn:aws:s3:::{bucket}")),
    ]))
}

/// What a resource attached to a bucket exposes.
fn attached(bucket: String) -> Outputs {
    outputs(&[("id", bucket)])
}

/// `aws:s3:BucketOwnershipControls`.
pub(super) async fn ownership(
    c: &Clients,
    o: s3::BucketOwnershipControls,
) -> Result<Outputs, Error> {
    use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule};
    let err = Error::aws("s3:PutBucketOwnershipControls");
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ObjectOwnership::from(o.rule.object_ownership.as_str()))
        .build()
        .map_err(err)?;
    c.s3.put_bucket_ownership_controls()
        .bucket(&o.bucket)
        .ownership_controls(
            OwnershipControls::builder()
                .rules(rule)
                .build()
                .map_err(Error::aws("s3:PutBucketOwnershipControls"))?,
        )
        .send()
        .await
        .map_err(Error::aws("s3:PutBucketOwnershipControls"))?;
    Ok(attached(o.bucket))
}

/// `aws:s3:BucketPublicAccessBlock`.
pub(super) async fn public_access(
    c: &Clients,
    p: s3::BucketPublicAccessBlock,
) -> Result<Outputs, Error> {
    use aws_sdk_s3::types::PublicAccessBlockConfiguration;
    c.s3.put_public_access_block()
        .bucket(&p.bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(p.block_public_acls)
                .block_public_policy(p.block_public_policy)
                .ignore_public_acls(p.ignore_public_acls)
                .restrict_public_buckets(p.restrict_public_buckets)
                .build(),
        )
        .send()
        .await
        .map_err(Error::aws("s3:PutPublicAccessBlock"))?;
    Ok(attached(p.bucket))
}

/// `aws:s3:BucketServerSideEncryptionConfiguration`.
pub(super) async fn encryption(
    c: &Clients,
    e: s3::BucketServerSideEncryptionConfiguration,
) -> Result<Outputs, Error> {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let err = || Error::aws("s3:PutBucketEncryption");
    let mut rules = Vec::new();
    for r in &e.rules {
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(
                r.apply_server_side_encryption_by_default
                    .sse_algorithm
                    .as_str(),
            ))
            .build()
            .map_err(err())?;
        rules.push(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(r.bucket_key_enabled)
                .build(),
        );
    }
    c.s3.put_bucket_encryption()
        .bucket(&e.bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(err())?,
        )
        .send()
        .await
        .map_err(Error::aws("s3:PutBucketEncryption"))?;
    Ok(attached(e.bucket))
}

/// `aws:s3:BucketVersioning`.
pub(super) async fn versioning(c: &Clients, v: s3::BucketVersioning) -> Result<Outputs, Error> {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    c.s3.put_bucket_versioning()
        .bucket(&v.bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::from(
                    v.versioning_configuration.status.as_str(),
                ))
                .build(),
        )
        .send()
        .await
        .map_err(Error::aws("s3:PutBucketVersioning"))?;
    Ok(attached(v.bucket))
}

/// `aws:s3:BucketPolicy`.
pub(super) async fn policy(c: &Clients, name: &str, p: s3::BucketPolicy) -> Result<Outputs, Error> {
    c.s3.put_bucket_policy()
        .bucket(&p.bucket)
        .policy(lit(name, &p.policy)?)
        .send()
        .await
        .map_err(Error::aws("s3:PutBucketPolicy"))?;
    Ok(attached(p.bucket))
}

/// `aws:s3:BucketLifecycleConfiguration`.
pub(super) async fn lifecycle(
    c: &Clients,
    name: &str,
    l: s3::BucketLifecycleConfiguration,
) -> Result<Outputs, Error> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
        LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
        Transition, TransitionDefaultMinimumObjectSize, TransitionStorageClass,
    };
    let err = || Error::aws("s3:PutBucketLifecycleConfiguration");
    let mut rules = Vec::new();
    for r in &l.rules {
        let mut b = LifecycleRule::builder()
            .id(&r.id)
            .status(ExpirationStatus::from(r.status.as_str()))
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(&r.filter.prefix)
                    .build(),
            );
        for t in &r.transitions {
            b = b.transitions(
                Transition::builder()
                    .days(int32(name, "transitions.days", *lit(name, &t.days)?)?)
                    .storage_class(TransitionStorageClass::from(t.storage_class.as_str()))
                    .build(),
            );
        }
        if let Some(n) = &r.noncurrent_version_expiration {
            let days = *lit(name, &n.noncurrent_days)?;
            b = b.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(int32(name, "noncurrentDays", days)?)
                    .build(),
            );
        }
        if let Some(a) = &r.abort_incomplete_multipart_upload {
            b = b.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(int32(
                        name,
                        "daysAfterInitiation",
                        a.days_after_initiation,
                    )?)
                    .build(),
            );
        }
        if let Some(e) = &r.expiration {
            let days = match &e.days {
                Some(d) => Some(int32(name, "expiration.days", *lit(name, d)?)?),
                None => None,
            };
            b = b.expiration(
                LifecycleExpiration::builder()
                    .set_days(days)
                    .set_expired_object_delete_marker(e.expired_object_delete_marker)
                    .build(),
            );
        }
        rules.push(b.build().map_err(err())?);
    }
    let minimum = match &l.transition_default_minimum_object_size {
        Some(m) => Some(TransitionDefaultMinimumObjectSize::from(
            lit(name, m)?.as_str(),
        )),
        None => None,
    };
    c.s3.put_bucket_lifecycle_configuration()
        .bucket(&l.bucket)
        .set_transition_default_minimum_object_size(minimum)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(err())?,
        )
        .send()
        .await
        .map_err(Error::aws("s3:PutBucketLifecycleConfiguration"))?;
    Ok(attached(l.bucket))
}

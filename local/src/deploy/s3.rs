//! S3 buckets and their settings: ownership, public access block, encryption, versioning, lifecycle, policy, notifications.

use serde_json::{Map, Value};

use super::{outputs, s};
use crate::clients::Clients;
use crate::error::Error;

/// Creates one `aws:s3:*` resource; returns its outputs.
pub(super) async fn create(
    c: &Clients,
    name: &str,
    ty: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let str_of = |k: &str| super::string(name, p, k);
    let bool_of = |k: &str| super::boolean(name, p, k);
    Ok(match ty {
        "aws:s3:Bucket" => {
            let bucket = str_of("bucket")?;
            c.s3.create_bucket()
                .bucket(&bucket)
                .send()
                .await
                .map_err(Error::aws("s3:CreateBucket"))?;
            outputs(&[
                ("id", bucket.clone()),
                ("bucket", bucket.clone()),
                ("arn", format!("arn:aws:s3:::{bucket}")),
            ])
        }
        "aws:s3:BucketOwnershipControls" => {
            use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule};
            let rule = OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::from(
                    s(&p["rule"]["objectOwnership"]).as_str(),
                ))
                .build()
                .map_err(Error::aws("s3:PutBucketOwnershipControls"))?;
            c.s3.put_bucket_ownership_controls()
                .bucket(str_of("bucket")?)
                .ownership_controls(
                    OwnershipControls::builder()
                        .rules(rule)
                        .build()
                        .map_err(Error::aws("s3:PutBucketOwnershipControls"))?,
                )
                .send()
                .await
                .map_err(Error::aws("s3:PutBucketOwnershipControls"))?;
            outputs(&[("id", str_of("bucket")?)])
        }
        "aws:s3:BucketPublicAccessBlock" => {
            use aws_sdk_s3::types::PublicAccessBlockConfiguration;
            c.s3.put_public_access_block()
                .bucket(str_of("bucket")?)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(bool_of("blockPublicAcls")?)
                        .block_public_policy(bool_of("blockPublicPolicy")?)
                        .ignore_public_acls(bool_of("ignorePublicAcls")?)
                        .restrict_public_buckets(bool_of("restrictPublicBuckets")?)
                        .build(),
                )
                .send()
                .await
                .map_err(Error::aws("s3:PutPublicAccessBlock"))?;
            outputs(&[("id", str_of("bucket")?)])
        }
        "aws:s3:BucketServerSideEncryptionConfiguration" => {
            use aws_sdk_s3::types::{
                ServerSideEncryption, ServerSideEncryptionByDefault,
                ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
            };
            let rule = &p["rules"][0];
            let default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(
                    s(&rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"]).as_str(),
                ))
                .build()
                .map_err(Error::aws("s3:PutBucketEncryption"))?;
            c.s3.put_bucket_encryption()
                .bucket(str_of("bucket")?)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(
                            ServerSideEncryptionRule::builder()
                                .apply_server_side_encryption_by_default(default)
                                .bucket_key_enabled(
                                    rule["bucketKeyEnabled"].as_bool().unwrap_or(false),
                                )
                                .build(),
                        )
                        .build()
                        .map_err(Error::aws("s3:PutBucketEncryption"))?,
                )
                .send()
                .await
                .map_err(Error::aws("s3:PutBucketEncryption"))?;
            outputs(&[("id", str_of("bucket")?)])
        }
        "aws:s3:BucketVersioning" => {
            use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
            c.s3.put_bucket_versioning()
                .bucket(str_of("bucket")?)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::from(
                            s(&p["versioningConfiguration"]["status"]).as_str(),
                        ))
                        .build(),
                )
                .send()
                .await
                .map_err(Error::aws("s3:PutBucketVersioning"))?;
            outputs(&[("id", str_of("bucket")?)])
        }
        "aws:s3:BucketLifecycleConfiguration" => {
            put_lifecycle(c, p).await?;
            outputs(&[("id", str_of("bucket")?)])
        }
        "aws:s3:BucketPolicy" => {
            c.s3.put_bucket_policy()
                .bucket(str_of("bucket")?)
                .policy(str_of("policy")?)
                .send()
                .await
                .map_err(Error::aws("s3:PutBucketPolicy"))?;
            outputs(&[("id", str_of("bucket")?)])
        }
        "aws:s3:BucketNotification" => {
            put_notification(c, p).await?;
            outputs(&[("id", str_of("bucket")?)])
        }
        other => return Err(super::unsupported(name, other)),
    })
}

/// S3 event notifications to SNS topics (the failed-batches bucket → the alert topic).
async fn put_notification(c: &Clients, p: &Map<String, Value>) -> Result<(), Error> {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration,
        NotificationConfigurationFilter, S3KeyFilter, TopicConfiguration,
    };
    let mut topics = Vec::new();
    for t in p["topics"].as_array().into_iter().flatten() {
        let mut b = TopicConfiguration::builder().topic_arn(s(&t["topicArn"]));
        for e in t["events"].as_array().into_iter().flatten() {
            b = b.events(Event::from(s(e).as_str()));
        }
        if let Some(prefix) = t["filterPrefix"].as_str() {
            let rule = FilterRule::builder()
                .name(FilterRuleName::Prefix)
                .value(prefix)
                .build();
            let key = S3KeyFilter::builder().filter_rules(rule).build();
            b = b.filter(NotificationConfigurationFilter::builder().key(key).build());
        }
        topics.push(b.build().map_err(|e| Error::Deploy {
            resource: "aws:s3:BucketNotification".into(),
            reason: e.to_string(),
        })?);
    }
    c.s3.put_bucket_notification_configuration()
        .bucket(s(&p["bucket"]))
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_topic_configurations(Some(topics))
                .build(),
        )
        .send()
        .await
        .map_err(Error::aws("s3:PutBucketNotificationConfiguration"))?;
    Ok(())
}

async fn put_lifecycle(c: &Clients, p: &Map<String, Value>) -> Result<(), Error> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
        LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
        Transition, TransitionDefaultMinimumObjectSize, TransitionStorageClass,
    };
    let mut rules = Vec::new();
    for r in p["rules"].as_array().into_iter().flatten() {
        let mut b = LifecycleRule::builder()
            .id(s(&r["id"]))
            .status(ExpirationStatus::from(s(&r["status"]).as_str()))
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(r["filter"]["prefix"].as_str().unwrap_or_default())
                    .build(),
            );
        for t in r["transitions"].as_array().into_iter().flatten() {
            b = b.transitions(
                Transition::builder()
                    .days(t["days"].as_i64().unwrap_or_default() as i32)
                    .storage_class(TransitionStorageClass::from(s(&t["storageClass"]).as_str()))
                    .build(),
            );
        }
        if let Some(d) = r["noncurrentVersionExpiration"]["noncurrentDays"].as_i64() {
            b = b.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(d as i32)
                    .build(),
            );
        }
        if let Some(d) = r["abortIncompleteMultipartUpload"]["daysAfterInitiation"].as_i64() {
            b = b.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(d as i32)
                    .build(),
            );
        }
        if let Some(m) = r["expiration"]["expiredObjectDeleteMarker"].as_bool() {
            b = b.expiration(
                LifecycleExpiration::builder()
                    .expired_object_delete_marker(m)
                    .build(),
            );
        }
        rules.push(
            b.build()
                .map_err(Error::aws("s3:PutBucketLifecycleConfiguration"))?,
        );
    }
    let minimum = p
        .get("transitionDefaultMinimumObjectSize")
        .and_then(Value::as_str)
        .map(TransitionDefaultMinimumObjectSize::from);
    c.s3.put_bucket_lifecycle_configuration()
        .bucket(s(&p["bucket"]))
        .set_transition_default_minimum_object_size(minimum)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(Error::aws("s3:PutBucketLifecycleConfiguration"))?,
        )
        .send()
        .await
        .map_err(Error::aws("s3:PutBucketLifecycleConfiguration"))?;
    Ok(())
}

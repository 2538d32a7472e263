//! A private, encrypted, TLS-only bucket with its owner-enforced objects: the resources the
//! archive and the failed-batches bucket share.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Group, named};
use crate::Error;
use crate::expr::{Input, out, to_json};
use crate::iam::{Effect, PolicyDocument, Principal, Statement};
use crate::program::Resource;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bucket {
    bucket: String,
    force_destroy: Input<bool>,
}

/// A resource attached to a bucket (`bucket` plus its own properties).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BucketChild<T: Serialize> {
    pub bucket: String,
    #[serde(flatten)]
    pub rest: T,
}

/// An S3 lifecycle rule.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LifecycleRule {
    pub id: &'static str,
    pub status: &'static str,
    pub filter: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Value>,
}

/// Logical names of a hardened bucket's resources.
#[derive(Debug, Clone, Copy)]
pub(super) struct Names {
    pub bucket: &'static str,
    pub ownership: &'static str,
    pub public_access: &'static str,
    pub encryption: &'static str,
    pub tls_policy: &'static str,
}

/// The bucket `name`, owner-enforced, public access blocked, SSE-S3 with a bucket key, and
/// a policy denying anything but TLS.
pub(super) fn hardened(n: Names, name: String, force_destroy: Input<bool>) -> Result<Group, Error> {
    let bucket_res = n.bucket;
    let bucket_id = out(bucket_res, "id");
    let child = |rest: Value| BucketChild {
        bucket: bucket_id.clone(),
        rest,
    };
    let arn = out(bucket_res, "arn");
    let tls_only = PolicyDocument::new(vec![Statement {
        sid: "DenyInsecureTransport".into(),
        effect: Effect::Deny,
        principal: Some(Principal::Anyone),
        action: vec!["s3:*".into()],
        resource: vec![arn.clone(), format!("{arn}/*")],
        condition: Some(json!({ "Bool": { "aws:SecureTransport": "false" } })),
    }]);
    Ok(vec![
        named(
            bucket_res,
            Resource::new(
                "aws:s3:Bucket",
                &Bucket {
                    bucket: name,
                    force_destroy,
                },
            )?,
        ),
        named(
            n.ownership,
            Resource::new(
                "aws:s3:BucketOwnershipControls",
                &child(json!({ "rule": { "objectOwnership": "BucketOwnerEnforced" } })),
            )?,
        ),
        named(
            n.public_access,
            Resource::new(
                "aws:s3:BucketPublicAccessBlock",
                &child(json!({
                    "blockPublicAcls": true,
                    "blockPublicPolicy": true,
                    "ignorePublicAcls": true,
                    "restrictPublicBuckets": true,
                })),
            )?,
        ),
        named(
            n.encryption,
            Resource::new(
                "aws:s3:BucketServerSideEncryptionConfiguration",
                &child(json!({ "rules": [{
                    "applyServerSideEncryptionByDefault": { "sseAlgorithm": "AES256" },
                    "bucketKeyEnabled": true,
                }] })),
            )?,
        ),
        named(
            n.tls_policy,
            Resource::new(
                "aws:s3:BucketPolicy",
                &child(json!({ "policy": to_json(&tls_only) })),
            )?
            .depends_on(&[n.public_access]),
        ),
    ])
}

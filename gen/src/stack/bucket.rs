//! A private, encrypted, TLS-only bucket with its owner-enforced objects: the resources the
//! archive and the failed-batches bucket share.

use super::{Group, named};
use crate::Error;
use crate::aws::s3;
use crate::expr::{Input, out, to_json};
use crate::iam::{Effect, PolicyDocument, Principal, Statement};
use crate::program::Resource;

/// A lifecycle filter matching every object.
pub(super) fn everything() -> s3::LifecycleFilter {
    s3::LifecycleFilter {
        prefix: String::new(),
    }
}

/// Incomplete multipart uploads are removed after a day (they are billed, and never read).
pub(super) const ABORT_UPLOADS_AFTER_A_DAY: s3::AbortIncompleteMultipartUpload =
    s3::AbortIncompleteMultipartUpload {
        days_after_initiation: 1,
    };

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
    let bucket = || out(n.bucket, "id");
    let arn = out(n.bucket, "arn");
    let tls_only = PolicyDocument::new(vec![
        Statement {
            sid: "DenyInsecureTransport".into(),
            effect: Effect::Deny,
            principal: Some(Principal::Anyone),
            action: vec!["s3:*".into()],
            resource: vec![arn.clone(), format!("{arn}/*")],
            condition: Default::default(),
        }
        .when("Bool", "aws:SecureTransport", "false"),
    ]);
    Ok(vec![
        named(
            n.bucket,
            Resource::of(&s3::Bucket {
                bucket: name,
                force_destroy,
            })?,
        ),
        named(
            n.ownership,
            Resource::of(&s3::BucketOwnershipControls {
                bucket: bucket(),
                rule: s3::OwnershipRule {
                    object_ownership: "BucketOwnerEnforced".into(),
                },
            })?,
        ),
        named(
            n.public_access,
            Resource::of(&s3::BucketPublicAccessBlock {
                bucket: bucket(),
                block_public_acls: true,
                block_public_policy: true,
                ignore_public_acls: true,
                restrict_public_buckets: true,
            })?,
        ),
        named(
            n.encryption,
            Resource::of(&s3::BucketServerSideEncryptionConfiguration {
                bucket: bucket(),
                rules: vec![s3::EncryptionRule {
                    apply_server_side_encryption_by_default: s3::EncryptionByDefault {
                        sse_algorithm: "AES256".into(),
                    },
                    bucket_key_enabled: true,
                }],
            })?,
        ),
        named(
            n.tls_policy,
            Resource::of(&s3::BucketPolicy {
                bucket: bucket(),
                policy: to_json(&tls_only)?,
            })?
            .depends_on(&[n.public_access]),
        ),
    ])
}

//! `aws:s3:*`: the archive and failed-batches buckets and the resources attached to them.

use serde::{Deserialize, Serialize};

use crate::expr::Input;

/// `aws:s3:Bucket`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bucket {
    pub bucket: String,
    pub force_destroy: Input<bool>,
}

/// `aws:s3:BucketOwnershipControls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketOwnershipControls {
    pub bucket: String,
    pub rule: OwnershipRule,
}

/// `rule` of [`BucketOwnershipControls`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnershipRule {
    pub object_ownership: String,
}

/// `aws:s3:BucketPublicAccessBlock`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketPublicAccessBlock {
    pub bucket: String,
    pub block_public_acls: bool,
    pub block_public_policy: bool,
    pub ignore_public_acls: bool,
    pub restrict_public_buckets: bool,
}

/// `aws:s3:BucketServerSideEncryptionConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketServerSideEncryptionConfiguration {
    pub bucket: String,
    pub rules: Vec<EncryptionRule>,
}

/// One rule of [`BucketServerSideEncryptionConfiguration`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptionRule {
    pub apply_server_side_encryption_by_default: EncryptionByDefault,
    pub bucket_key_enabled: bool,
}

/// `applyServerSideEncryptionByDefault`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptionByDefault {
    pub sse_algorithm: String,
}

/// `aws:s3:BucketPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketPolicy {
    pub bucket: String,
    pub policy: Input<String>,
}

/// `aws:s3:BucketVersioning`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketVersioning {
    pub bucket: String,
    pub versioning_configuration: VersioningConfiguration,
}

/// `versioningConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersioningConfiguration {
    pub status: String,
}

/// `aws:s3:BucketLifecycleConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketLifecycleConfiguration {
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_default_minimum_object_size: Option<Input<String>>,
    pub rules: Vec<LifecycleRule>,
}

/// One lifecycle rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LifecycleRule {
    pub id: String,
    pub status: String,
    pub filter: LifecycleFilter,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Transition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration: Option<NoncurrentVersionExpiration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Expiration>,
}

/// `filter` of a lifecycle rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LifecycleFilter {
    pub prefix: String,
}

/// A transition to a storage class after some days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Transition {
    pub days: Input<i64>,
    pub storage_class: String,
}

/// `noncurrentVersionExpiration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoncurrentVersionExpiration {
    pub noncurrent_days: Input<i64>,
}

/// `abortIncompleteMultipartUpload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AbortIncompleteMultipartUpload {
    pub days_after_initiation: i64,
}

/// `expiration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expiration {
    /// Current versions expire this many days after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Input<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_object_delete_marker: Option<bool>,
}

super::tokens!(
    Bucket => "aws:s3:Bucket",
    BucketOwnershipControls => "aws:s3:BucketOwnershipControls",
    BucketPublicAccessBlock => "aws:s3:BucketPublicAccessBlock",
    BucketServerSideEncryptionConfiguration => "aws:s3:BucketServerSideEncryptionConfiguration",
    BucketPolicy => "aws:s3:BucketPolicy",
    BucketVersioning => "aws:s3:BucketVersioning",
    BucketLifecycleConfiguration => "aws:s3:BucketLifecycleConfiguration",
);

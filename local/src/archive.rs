//! A bucket read back over S3: the archive (recovery rebuilds pages from it) and the
//! failed-batches bucket (redrive lists it).

use function::Error as FnError;
use function::archive::ArchiveReader;

/// A bucket on S3 (or the emulator), read with list and get.
#[derive(Debug, Clone)]
pub struct S3Reader {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

fn failed(key: &str, e: impl std::error::Error + Send + Sync + 'static) -> FnError {
    FnError::ArchiveRead {
        key: key.to_owned(),
        source: Box::new(e),
    }
}

impl ArchiveReader for S3Reader {
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, FnError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed(prefix, aws_sdk_s3::Error::from(e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, FnError> {
        let obj = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_s3::operation::get_object::GetObjectError;
                match e.as_service_error() {
                    // Moved to GLACIER / DEEP_ARCHIVE by the lifecycle: readable only after a
                    // restore, which takes hours; say how, instead of skipping the object.
                    Some(GetObjectError::InvalidObjectState(state)) => failed(
                        key,
                        Archived {
                            storage_class: state
                                .storage_class()
                                .map_or("an archive tier".into(), |c| c.as_str().to_owned()),
                            bucket: self.bucket.clone(),
                            key: key.to_owned(),
                        },
                    ),
                    _ => failed(key, aws_sdk_s3::Error::from(e)),
                }
            })?;
        let body = obj.body.collect().await.map_err(|e| failed(key, e))?;
        Ok(body.into_bytes().to_vec())
    }
}

/// An archive object that must be restored before it can be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "the object is in {storage_class}; restore it, then run the command again: aws s3api \
     restore-object --bucket {bucket} --key {key} --restore-request \
     '{{\"Days\":7,\"GlacierJobParameters\":{{\"Tier\":\"Standard\"}}}}' \
     (Standard takes 3-5 hours from GLACIER, up to 12 from DEEP_ARCHIVE)"
)]
pub struct Archived {
    pub storage_class: String,
    pub bucket: String,
    pub key: String,
}

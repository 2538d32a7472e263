//! A bucket read back over S3: the archive (recovery rebuilds pages from it) and the
//! failed-batches bucket (redrive lists it).

use function::Error as FnError;
use function::archive::ArchiveReader;
use function::aws::S3Archive;

/// A bucket on S3 (or the emulator), read with list and get: the function's own adapter,
/// with an archived object's error saying how to restore it.
#[derive(Debug, Clone)]
pub struct S3Reader {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl S3Reader {
    fn adapter(&self) -> S3Archive {
        S3Archive {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
        }
    }
}

impl ArchiveReader for S3Reader {
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, FnError> {
        self.adapter().keys(prefix).await
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, FnError> {
        match self.adapter().get(key).await {
            // Moved to GLACIER / DEEP_ARCHIVE by the lifecycle: readable only after a
            // restore, which takes hours; say how, instead of skipping the object.
            Err(FnError::ArchiveRead { key, source }) => {
                let archived = match source.downcast_ref::<aws_sdk_s3::Error>() {
                    Some(aws_sdk_s3::Error::InvalidObjectState(state)) => Some(Archived {
                        storage_class: state
                            .storage_class()
                            .map_or("an archive tier".into(), |c| c.as_str().to_owned()),
                        bucket: self.bucket.clone(),
                        key: key.clone(),
                    }),
                    _ => None,
                };
                Err(FnError::ArchiveRead {
                    key,
                    source: match archived {
                        Some(a) => Box::new(a),
                        None => source,
                    },
                })
            }
            other => other,
        }
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

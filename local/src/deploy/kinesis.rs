//! The Kinesis stream: created provisioned, retention raised, KMS encryption started.

use aws_sdk_kinesis::types::{EncryptionType, StreamMode, StreamModeDetails, StreamStatus};
use serde_json::{Map, Value};

use super::outputs;
use crate::clients::Clients;
use crate::error::Error;

/// Creates one `aws:kinesis:*` resource; returns its outputs.
pub(super) async fn create(
    c: &Clients,
    name: &str,
    ty: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let str_of = |k: &str| super::string(name, p, k);
    let int_of = |k: &str| super::integer(name, p, k);
    Ok(match ty {
        "aws:kinesis:Stream" => {
            let stream = str_of("name")?;
            c.kinesis
                .create_stream()
                .stream_name(&stream)
                .shard_count(int_of("shardCount")? as i32)
                .stream_mode_details(
                    StreamModeDetails::builder()
                        .stream_mode(StreamMode::Provisioned)
                        .build()
                        .map_err(Error::aws("kinesis:CreateStream"))?,
                )
                .send()
                .await
                .map_err(Error::aws("kinesis:CreateStream"))?;
            let arn = wait_stream_active(c, &stream).await?;
            let hours = int_of("retentionPeriod")? as i32;
            if hours > 24 {
                c.kinesis
                    .increase_stream_retention_period()
                    .stream_name(&stream)
                    .retention_period_hours(hours)
                    .send()
                    .await
                    .map_err(Error::aws("kinesis:IncreaseStreamRetentionPeriod"))?;
            }
            if str_of("encryptionType")? == "KMS" {
                c.kinesis
                    .start_stream_encryption()
                    .stream_name(&stream)
                    .encryption_type(EncryptionType::Kms)
                    .key_id(str_of("kmsKeyId")?)
                    .send()
                    .await
                    .map_err(Error::aws("kinesis:StartStreamEncryption"))?;
                wait_stream_active(c, &stream).await?;
            }
            outputs(&[("id", arn.clone()), ("name", stream), ("arn", arn)])
        }
        other => return Err(super::unsupported(name, other)),
    })
}

async fn wait_stream_active(c: &Clients, stream: &str) -> Result<String, Error> {
    for _ in 0..200 {
        let d = c
            .kinesis
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .map_err(Error::aws("kinesis:DescribeStreamSummary"))?;
        if let Some(sum) = d.stream_description_summary()
            && sum.stream_status() == &StreamStatus::Active
        {
            return Ok(sum.stream_arn().to_owned());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(Error::Deploy {
        resource: stream.into(),
        reason: "stream never became ACTIVE".into(),
    })
}

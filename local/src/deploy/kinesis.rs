//! The Kinesis stream: created provisioned, retention raised, KMS encryption started.

use aws_sdk_kinesis::types::{EncryptionType, StreamMode, StreamModeDetails, StreamStatus};
use stackgen::aws::kinesis::Stream;

use super::{Outputs, int32, lit, outputs};
use crate::clients::Clients;
use crate::error::Error;

/// `aws:kinesis:Stream`: provisioned, retention raised past 24 h, KMS encryption started.
pub(super) async fn stream(c: &Clients, name: &str, s: Stream) -> Result<Outputs, Error> {
    let stream = s.name;
    let mode = StreamMode::from(s.stream_mode_details.stream_mode.as_str());
    c.kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(int32(name, "shardCount", *lit(name, &s.shard_count)?)?)
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(mode)
                .build()
                .map_err(Error::aws("kinesis:CreateStream"))?,
        )
        .send()
        .await
        .map_err(Error::aws("kinesis:CreateStream"))?;
    let arn = wait_stream_active(c, &stream).await?;
    let hours = int32(name, "retentionPeriod", *lit(name, &s.retention_period)?)?;
    if hours > 24 {
        c.kinesis
            .increase_stream_retention_period()
            .stream_name(&stream)
            .retention_period_hours(hours)
            .send()
            .await
            .map_err(Error::aws("kinesis:IncreaseStreamRetentionPeriod"))?;
    }
    if s.encryption_type == "KMS" {
        c.kinesis
            .start_stream_encryption()
            .stream_name(&stream)
            .encryption_type(EncryptionType::Kms)
            .key_id(s.kms_key_id)
            .send()
            .await
            .map_err(Error::aws("kinesis:StartStreamEncryption"))?;
        wait_stream_active(c, &stream).await?;
    }
    Ok(outputs(&[
        ("id", arn.clone()),
        ("name", stream),
        ("arn", arn),
    ]))
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

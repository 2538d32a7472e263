//! Decoding: one Kinesis record's bytes → user records (plain JSON, KPL, CloudWatch Logs).
//!
//! `data` arrives already base64-decoded (`event::KinesisRecord` does that); decoding here means
//! recognising the format and splitting it into user records. Pure and panic-free: anything
//! unreadable becomes a [`Rejection`] with a reason.

use std::borrow::Cow;
use std::io::Read;

use flate2::read::MultiGzDecoder;
use serde::Deserialize;

use crate::kpl;

/// A user record inside a Kinesis record.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit<'a> {
    /// Index inside the Kinesis record (KPL sub-record, log event); 0 for a plain record.
    pub sub: u32,
    /// The user record's own partition key (for KPL, its sub-record key).
    pub partition_key: Cow<'a, str>,
    /// Its bytes.
    pub body: Body<'a>,
}

/// What a user record holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Body<'a> {
    /// Bytes expected to be one JSON object.
    Json(Cow<'a, [u8]>),
    /// A CloudWatch Logs event: its message, time and log group.
    Log {
        message: String,
        time_ms: i64,
        log_group: String,
    },
}

/// Why a whole Kinesis record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error(transparent)]
    Kpl(#[from] kpl::KplError),
    #[error("gzip payload is corrupt: {0}")]
    Gzip(String),
    #[error("decompressed payload exceeds {0} bytes")]
    TooLarge(usize),
    #[error("CloudWatch Logs payload malformed: {0}")]
    Logs(String),
}

/// The result of decoding one Kinesis record.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded<'a> {
    /// A plain record: one user record (no allocation).
    One(Unit<'a>),
    /// User records to extract (KPL, CloudWatch Logs).
    Units(Vec<Unit<'a>>),
    /// A record that carries no data by design (CloudWatch Logs `CONTROL_MESSAGE`).
    Control,
}

impl<'a> Decoded<'a> {
    /// The user records, in order.
    pub fn units(&self) -> &[Unit<'a>] {
        match self {
            Decoded::One(u) => std::slice::from_ref(u),
            Decoded::Units(u) => u,
            Decoded::Control => &[],
        }
    }
}

/// Decoding limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on gzip output (decompression-bomb guard).
    pub max_decompressed: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_decompressed: 8 * 1024 * 1024,
        }
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Decodes a Kinesis record's data.
pub fn decode<'a>(
    data: &'a [u8],
    partition_key: &'a str,
    limits: Limits,
) -> Result<Decoded<'a>, Rejection> {
    if kpl::is_aggregated(data) {
        let subs = kpl::decode(data)?;
        return Ok(Decoded::Units(
            subs.into_iter()
                .zip(0u32..)
                .map(|(s, sub)| Unit {
                    sub,
                    partition_key: Cow::Borrowed(s.partition_key),
                    body: Body::Json(Cow::Borrowed(s.data)),
                })
                .collect(),
        ));
    }
    if data.starts_with(&GZIP_MAGIC) {
        let bytes = gunzip(data, limits.max_decompressed)?;
        return decode_decompressed(bytes, partition_key);
    }
    Ok(Decoded::One(Unit {
        sub: 0,
        partition_key: Cow::Borrowed(partition_key),
        body: Body::Json(Cow::Borrowed(data)),
    }))
}

fn gunzip(data: &[u8], cap: usize) -> Result<Vec<u8>, Rejection> {
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Rejection::Gzip(e.to_string()))?;
    if out.len() > cap {
        return Err(Rejection::TooLarge(cap));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogsPayload {
    message_type: String,
    #[serde(default)]
    log_group: String,
    #[serde(default)]
    log_events: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct LogEvent {
    timestamp: i64,
    message: String,
}

/// A gzip payload: a CloudWatch Logs subscription message, or any gzip-compressed JSON record.
fn decode_decompressed<'a>(
    bytes: Vec<u8>,
    partition_key: &'a str,
) -> Result<Decoded<'a>, Rejection> {
    let looks_like_logs = bytes
        .windows(b"\"messageType\"".len())
        .any(|w| w == b"\"messageType\"");
    if !looks_like_logs {
        return Ok(Decoded::One(Unit {
            sub: 0,
            partition_key: Cow::Borrowed(partition_key),
            body: Body::Json(Cow::Owned(bytes)),
        }));
    }
    let payload: LogsPayload =
        serde_json::from_slice(&bytes).map_err(|e| Rejection::Logs(e.to_string()))?;
    match payload.message_type.as_str() {
        "CONTROL_MESSAGE" => Ok(Decoded::Control),
        "DATA_MESSAGE" => Ok(Decoded::Units({
            let log_group = payload.log_group;
            payload
                .log_events
                .into_iter()
                .zip(0u32..)
                .map(|(e, sub)| Unit {
                    sub,
                    partition_key: Cow::Borrowed(partition_key),
                    body: Body::Log {
                        message: e.message,
                        time_ms: e.timestamp,
                        log_group: log_group.clone(),
                    },
                })
                .collect()
        })),
        other => Err(Rejection::Logs(format!("unknown messageType {other}"))),
    }
}

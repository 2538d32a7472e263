//! `aws:kinesis:Stream`: the data stream.

use serde::{Deserialize, Serialize};

use crate::expr::Input;

/// `aws:kinesis:Stream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stream {
    pub name: String,
    pub shard_count: Input<i64>,
    /// Hours.
    pub retention_period: Input<i64>,
    pub encryption_type: String,
    pub kms_key_id: String,
    pub stream_mode_details: StreamModeDetails,
}

/// `streamModeDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamModeDetails {
    pub stream_mode: String,
}

super::tokens!(Stream => "aws:kinesis:Stream");

//! `aws:dynamodb:Table`: the metrics table.

use serde::{Deserialize, Serialize};

use super::Enabled;
use crate::expr::Input;

/// `aws:dynamodb:Table`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Table {
    pub name: String,
    pub billing_mode: String,
    pub hash_key: String,
    pub range_key: String,
    pub attributes: Vec<Attribute>,
    pub ttl: Ttl,
    pub server_side_encryption: Enabled,
    pub point_in_time_recovery: Enabled<Input<bool>>,
    pub deletion_protection_enabled: Input<bool>,
}

/// A key attribute's name and scalar type (`S`, `N`, `B`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// `ttl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ttl {
    pub attribute_name: String,
    pub enabled: bool,
}

super::tokens!(Table => "aws:dynamodb:Table");

//! `aws:kms:*`: the stack's customer-managed key and its alias.

use serde::{Deserialize, Serialize};

use crate::expr::Input;

/// `aws:kms:Key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Key {
    pub description: String,
    pub enable_key_rotation: bool,
    pub deletion_window_in_days: Input<i64>,
    /// The key policy (a typed document under `fn::toJSON`).
    pub policy: Input<String>,
}

/// `aws:kms:Alias`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Alias {
    pub name: String,
    pub target_key_id: String,
}

super::tokens!(Key => "aws:kms:Key", Alias => "aws:kms:Alias");

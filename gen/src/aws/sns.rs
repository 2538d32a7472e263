//! `aws:sns:*`: the alert topic and its policy.

use serde::{Deserialize, Serialize};

use crate::expr::Input;

/// `aws:sns:Topic`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Topic {
    pub name: String,
    pub kms_master_key_id: String,
}

/// `aws:sns:TopicPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicPolicy {
    pub arn: String,
    pub policy: Input<String>,
}

super::tokens!(Topic => "aws:sns:Topic", TopicPolicy => "aws:sns:TopicPolicy");

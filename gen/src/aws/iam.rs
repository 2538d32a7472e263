//! `aws:iam:*`: the function's role and its inline policy; the operator's managed policy.

use serde::{Deserialize, Serialize};

use crate::expr::Input;

/// `aws:iam:Role`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Role {
    pub name: String,
    pub assume_role_policy: Input<String>,
}

/// `aws:iam:RolePolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolePolicy {
    pub role: String,
    pub policy: Input<String>,
}

/// `aws:iam:Policy` (a managed policy, attached by the user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    pub description: String,
    pub policy: Input<String>,
}

super::tokens!(Role => "aws:iam:Role", RolePolicy => "aws:iam:RolePolicy", Policy => "aws:iam:Policy");

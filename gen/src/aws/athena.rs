//! `aws:athena:*`: the workgroup queries run in and the queries saved in it.

use serde::{Deserialize, Serialize};

use crate::expr::Input;

/// `aws:athena:Workgroup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workgroup {
    pub name: String,
    pub description: String,
    pub state: String,
    pub force_destroy: Input<bool>,
    pub configuration: WorkgroupConfiguration,
}

/// `configuration` of a [`Workgroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkgroupConfiguration {
    /// Clients may not override the result location, its encryption or the scan limit.
    pub enforce_workgroup_configuration: bool,
    pub publish_cloudwatch_metrics_enabled: bool,
    /// Athena cancels a query that would scan more (at least 10 MB).
    pub bytes_scanned_cutoff_per_query: Input<i64>,
    pub engine_version: EngineVersion,
    pub result_configuration: ResultConfiguration,
}

/// `engineVersion`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngineVersion {
    pub selected_engine_version: String,
}

/// `resultConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultConfiguration {
    pub output_location: String,
    pub encryption_configuration: ResultEncryption,
}

/// `encryptionConfiguration` of the results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultEncryption {
    pub encryption_option: String,
}

/// `aws:athena:NamedQuery`: a saved query, listed in the workgroup's console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamedQuery {
    pub name: String,
    pub description: String,
    pub workgroup: String,
    pub database: String,
    pub query: Input<String>,
}

super::tokens!(
    Workgroup => "aws:athena:Workgroup",
    NamedQuery => "aws:athena:NamedQuery",
);

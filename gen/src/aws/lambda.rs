//! `aws:lambda:*`: the functions, the Kinesis event source mapping, invoke permissions.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::expr::Input;
use crate::settings::Architecture;

/// `aws:lambda:Function`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Function {
    pub name: String,
    pub description: String,
    pub runtime: String,
    pub handler: String,
    pub architectures: Vec<Input<Architecture>>,
    /// MB.
    pub memory_size: Input<i64>,
    /// Seconds.
    pub timeout: Input<i64>,
    pub role: String,
    /// The deployment package (`fn::fileArchive`; locally, the zip's path).
    pub code: Input<String>,
    pub environment: Environment,
    pub logging_config: LoggingConfig,
    /// Instances of the function that may run at once (`None`: the account's pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_concurrent_executions: Option<i64>,
}

/// `environment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub variables: IndexMap<String, Input<String>>,
}

/// `loggingConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggingConfig {
    pub log_format: String,
    pub log_group: String,
    pub application_log_level: String,
    pub system_log_level: String,
}

/// `aws:lambda:EventSourceMapping`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSourceMapping {
    pub event_source_arn: String,
    pub function_name: String,
    pub starting_position: String,
    pub batch_size: Input<i64>,
    pub maximum_batching_window_in_seconds: Input<i64>,
    pub parallelization_factor: Input<i64>,
    pub maximum_retry_attempts: Input<i64>,
    pub maximum_record_age_in_seconds: Input<i64>,
    pub bisect_batch_on_function_error: bool,
    pub function_response_types: Vec<String>,
    pub destination_config: DestinationConfig,
    pub metrics_config: MetricsConfig,
}

/// `destinationConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationConfig {
    pub on_failure: OnFailure,
}

/// `destinationConfig.onFailure`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnFailure {
    pub destination_arn: String,
}

/// The mapping's opt-in metric groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub metrics: Vec<String>,
}

/// `aws:lambda:Permission`: who may invoke a function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Permission {
    pub action: String,
    pub function: String,
    pub principal: String,
    pub source_arn: String,
}

super::tokens!(
    Function => "aws:lambda:Function",
    Permission => "aws:lambda:Permission",
    EventSourceMapping => "aws:lambda:EventSourceMapping",
);

//! `aws:cloudwatch:*`: the function's log group, the alarms and the dashboard.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::expr::Input;

/// `aws:cloudwatch:LogGroup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogGroup {
    pub name: String,
    pub retention_in_days: Input<i64>,
}

/// `aws:cloudwatch:MetricAlarm` on one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricAlarm {
    pub name: String,
    pub alarm_description: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: IndexMap<String, String>,
    pub statistic: String,
    /// Seconds.
    pub period: i64,
    pub evaluation_periods: i64,
    pub datapoints_to_alarm: i64,
    pub threshold: Input<f64>,
    pub comparison_operator: String,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
}

/// `aws:cloudwatch:Dashboard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dashboard {
    pub dashboard_name: String,
    /// The typed body (`stack::dashboard`) under `fn::toJSON`.
    pub dashboard_body: Input<String>,
}

super::tokens!(
    LogGroup => "aws:cloudwatch:LogGroup",
    MetricAlarm => "aws:cloudwatch:MetricAlarm",
    Dashboard => "aws:cloudwatch:Dashboard",
);

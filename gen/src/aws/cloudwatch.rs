//! `aws:cloudwatch:*`: the functions' log groups, the alarms, the dashboard and the
//! compaction schedule (EventBridge's rule and target live in pulumi-aws's `cloudwatch`).

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

/// `aws:cloudwatch:MetricAlarm`, on one metric or on a metric-math expression.
///
/// Not `deny_unknown_fields`: serde cannot combine it with the flattened [`Watched`]; the
/// schema check and `aws::reparse` still refuse an unknown property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricAlarm {
    pub name: String,
    pub alarm_description: String,
    #[serde(flatten)]
    pub watched: Watched,
    pub evaluation_periods: i64,
    pub datapoints_to_alarm: i64,
    pub threshold: Input<f64>,
    pub comparison_operator: String,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
}

/// What an alarm evaluates: exactly one of a metric or an expression (AWS refuses both).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Watched {
    /// One metric, one statistic of it per period.
    #[serde(rename_all = "camelCase")]
    Metric {
        namespace: String,
        metric_name: String,
        dimensions: IndexMap<String, String>,
        statistic: String,
        /// Seconds.
        period: i64,
    },
    /// Metric math (`metricQueries`): the one query with `returnData` is compared.
    #[serde(rename_all = "camelCase")]
    Expression { metric_queries: Vec<MetricQuery> },
}

/// One `metricQueries` entry: a metric or an expression over the other entries' ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricQuery {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<QueryMetric>,
    pub return_data: bool,
}

/// The metric of a [`MetricQuery`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryMetric {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: IndexMap<String, String>,
    pub stat: String,
    /// Seconds.
    pub period: i64,
}

/// `aws:cloudwatch:Dashboard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dashboard {
    pub dashboard_name: String,
    /// The typed body (`stack::dashboard`) under `fn::toJSON`.
    pub dashboard_body: Input<String>,
}

/// `aws:cloudwatch:EventRule`: an EventBridge rule on the default bus (here, a schedule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventRule {
    pub name: String,
    pub description: String,
    /// `cron(…)` or `rate(…)`.
    pub schedule_expression: String,
    /// `ENABLED` or `DISABLED`.
    pub state: Input<String>,
}

/// `aws:cloudwatch:EventTarget`: what a rule invokes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventTarget {
    pub rule: String,
    pub arn: String,
    pub retry_policy: RetryPolicy,
}

/// `retryPolicy`: how long and how often EventBridge retries a failed delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    pub maximum_event_age_in_seconds: i64,
    pub maximum_retry_attempts: i64,
}

super::tokens!(
    EventRule => "aws:cloudwatch:EventRule",
    EventTarget => "aws:cloudwatch:EventTarget",
    LogGroup => "aws:cloudwatch:LogGroup",
    MetricAlarm => "aws:cloudwatch:MetricAlarm",
    Dashboard => "aws:cloudwatch:Dashboard",
);

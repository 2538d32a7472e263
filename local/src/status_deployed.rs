//! `status` and `logs` of a deployed stack: the mapping's state and last processing result,
//! the last minutes of the metrics that matter (CloudWatch), alarm states, kept batches
//! waiting; the function's log lines from CloudWatch Logs. No table scan: on a real table
//! that is slow and billed; `query` reads one entity.

use std::collections::BTreeMap;
use std::fmt::Write;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use stackgen::stack::outputs;

use crate::error::Error;
use crate::target::Operated;

/// One metric `status` reads: where it lives and how it is summed over the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSpec {
    pub namespace: String,
    pub name: &'static str,
    /// `(dimension, value)`; empty for the function's EMF metrics.
    pub dimension: Option<(&'static str, String)>,
    /// `Sum` or `Maximum`.
    pub statistic: &'static str,
}

/// The metrics that say whether records flow, stall or get lost (pure: names in, specs out).
pub fn metric_specs(stream: &str, function: &str, namespace: &str) -> Vec<MetricSpec> {
    let lambda = |name, statistic| MetricSpec {
        namespace: "AWS/Lambda".into(),
        name,
        dimension: Some(("FunctionName", function.to_owned())),
        statistic,
    };
    let own = |name| MetricSpec {
        namespace: namespace.to_owned(),
        name,
        dimension: None,
        statistic: "Sum",
    };
    vec![
        MetricSpec {
            namespace: "AWS/Kinesis".into(),
            name: "IncomingRecords",
            dimension: Some(("StreamName", stream.to_owned())),
            statistic: "Sum",
        },
        lambda("Invocations", "Sum"),
        lambda("Errors", "Sum"),
        lambda("Throttles", "Sum"),
        lambda("IteratorAge", "Maximum"),
        lambda("DestinationDeliveryFailures", "Sum"),
        own("RecordsProcessed"),
        own(function::telemetry::REJECTED_METRIC),
        own("DuplicatesSkipped"),
        own(function::telemetry::ITEM_FAILURES_METRIC),
    ]
}

/// One metric's value over the period (`None`: no data points).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricValue {
    pub namespace: String,
    pub name: String,
    pub statistic: String,
    pub value: Option<f64>,
}

/// An event source mapping of the function, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MappingState {
    pub uuid: String,
    pub source: String,
    pub state: String,
    pub last_processing_result: String,
    pub state_transition_reason: String,
}

/// Everything `status` shows of a deployed stack (`--json` prints it as is).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeployedReport {
    pub function: String,
    pub region: String,
    pub mappings: Vec<MappingState>,
    pub minutes: u32,
    pub metrics: Vec<MetricValue>,
    /// Alarms that notify the stack's topic: name → state.
    pub alarms: BTreeMap<String, String>,
    pub failed_batches_waiting: usize,
    pub failed_batches_bucket: String,
}

/// Reads the deployed stack's state over the last `minutes`.
pub async fn report(op: &Operated, minutes: u32) -> Result<DeployedReport, Error> {
    let c = &op.clients;
    let function = op.output(outputs::PROCESSOR_FUNCTION_NAME).to_owned();
    let bucket = op.output(outputs::FAILED_BATCHES_BUCKET_NAME).to_owned();
    let mut pages = c
        .lambda
        .list_event_source_mappings()
        .function_name(&function)
        .into_paginator()
        .send();
    let mut mappings = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(Error::aws("lambda:ListEventSourceMappings"))?;
        for m in page.event_source_mappings() {
            let s = |v: Option<&str>| v.unwrap_or_default().to_owned();
            mappings.push(MappingState {
                uuid: s(m.uuid()),
                source: s(m.event_source_arn()),
                state: s(m.state()),
                last_processing_result: s(m.last_processing_result()),
                state_transition_reason: s(m.state_transition_reason()),
            });
        }
    }
    let namespace = op.config()?.namespace;
    let specs = metric_specs(op.output(outputs::DATA_STREAM_NAME), &function, &namespace);
    let metrics = metric_values(op, &specs, minutes).await?;
    Ok(DeployedReport {
        region: c.region.clone(),
        mappings,
        minutes,
        metrics,
        alarms: alarms_notifying(op, op.output(outputs::ALERT_TOPIC_ARN)).await?,
        failed_batches_waiting: crate::failure::list(c, &bucket).await?.len(),
        failed_batches_bucket: bucket,
        function,
    })
}

async fn metric_values(
    op: &Operated,
    specs: &[MetricSpec],
    minutes: u32,
) -> Result<Vec<MetricValue>, Error> {
    let end = chrono::Utc::now();
    let start = end - chrono::Duration::minutes(i64::from(minutes));
    let queries = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let metric = Metric::builder()
                .namespace(&s.namespace)
                .metric_name(s.name)
                .set_dimensions(
                    s.dimension
                        .as_ref()
                        .map(|(k, v)| vec![Dimension::builder().name(*k).value(v).build()]),
                )
                .build();
            MetricDataQuery::builder()
                .id(format!("m{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(60)
                        .stat(s.statistic)
                        .build(),
                )
                .build()
        })
        .collect();
    let to_time = |t: chrono::DateTime<chrono::Utc>| {
        aws_sdk_cloudwatch::primitives::DateTime::from_millis(t.timestamp_millis())
    };
    let out = op
        .clients
        .cloudwatch
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(to_time(start))
        .end_time(to_time(end))
        .send()
        .await
        .map_err(Error::aws("cloudwatch:GetMetricData"))?;
    let mut by_id: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in out.metric_data_results() {
        by_id
            .entry(r.id().unwrap_or_default().to_owned())
            .or_default()
            .extend(r.values());
    }
    Ok(specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let values = by_id.remove(&format!("m{i}")).unwrap_or_default();
            let value = if values.is_empty() {
                None
            } else if s.statistic == "Maximum" {
                values.iter().copied().reduce(f64::max)
            } else {
                Some(values.iter().sum())
            };
            MetricValue {
                namespace: s.namespace.clone(),
                name: s.name.to_owned(),
                statistic: s.statistic.to_owned(),
                value,
            }
        })
        .collect())
}

/// The alarms whose actions notify `topic` (the stack's), with their states.
async fn alarms_notifying(op: &Operated, topic: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut pages = op
        .clients
        .cloudwatch
        .describe_alarms()
        .into_paginator()
        .send();
    let mut out = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(Error::aws("cloudwatch:DescribeAlarms"))?;
        for a in page.metric_alarms() {
            if a.alarm_actions().iter().any(|x| x == topic) {
                out.insert(
                    a.alarm_name().unwrap_or_default().to_owned(),
                    a.state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                );
            }
        }
    }
    Ok(out)
}

/// The status screen of a deployed stack.
pub fn render(r: &DeployedReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "deployed stack: function {} ({})",
        r.function, r.region
    );
    if r.mappings.is_empty() {
        let _ = writeln!(out, "mapping   none found for the function");
    }
    for m in &r.mappings {
        let _ = writeln!(
            out,
            "mapping   {} {}  last result {}  ({})",
            m.uuid, m.state, m.last_processing_result, m.state_transition_reason
        );
    }
    let _ = writeln!(out, "last {} minutes:", r.minutes);
    for m in &r.metrics {
        let value = m
            .value
            .map_or_else(|| "no data".to_owned(), |v| format!("{v}"));
        let _ = writeln!(
            out,
            "  {:<24} {:<28} {:<8} {value}",
            m.namespace.trim_start_matches("AWS/"),
            m.name,
            m.statistic
        );
    }
    let _ = writeln!(
        out,
        "failed batches: {} waiting for `redrive` in s3://{}/{}",
        r.failed_batches_waiting,
        r.failed_batches_bucket,
        crate::failure::PREFIX
    );
    for (name, state) in &r.alarms {
        let _ = writeln!(out, "alarm {name:<55} {state}");
    }
    out
}

/// The function's log lines of the last `since_minutes`, oldest first, at most `limit`
/// (the newest ones), from its CloudWatch Logs group.
pub async fn logs(op: &Operated, since_minutes: u32, limit: usize) -> Result<Vec<String>, Error> {
    let group = format!(
        "/aws/lambda/{}",
        op.output(outputs::PROCESSOR_FUNCTION_NAME)
    );
    let start = chrono::Utc::now().timestamp_millis() - i64::from(since_minutes) * 60_000;
    let mut pages = op
        .clients
        .logs
        .filter_log_events()
        .log_group_name(&group)
        .start_time(start)
        .into_paginator()
        .send();
    let mut lines = std::collections::VecDeque::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(Error::aws("logs:FilterLogEvents"))?;
        for e in page.events() {
            lines.push_back(e.message().unwrap_or_default().trim_end().to_owned());
            if lines.len() > limit {
                lines.pop_front();
            }
        }
    }
    Ok(lines.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_the_metrics_each_alarm_watches() {
        let specs = metric_specs("s", "f", "ns");
        let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        for watched in [
            "IncomingRecords",
            "Errors",
            "Throttles",
            "IteratorAge",
            "DestinationDeliveryFailures",
            function::telemetry::REJECTED_METRIC,
            function::telemetry::ITEM_FAILURES_METRIC,
        ] {
            assert!(names.contains(&watched), "{watched}");
        }
        let age = specs.iter().find(|s| s.name == "IteratorAge").expect("age");
        assert_eq!(age.statistic, "Maximum");
        assert_eq!(age.dimension, Some(("FunctionName", "f".to_owned())));
    }
}

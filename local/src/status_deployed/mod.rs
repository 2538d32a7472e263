//! `status` and `logs` of a deployed stack: the mapping's state and last processing result,
//! the last minutes of the metrics that matter (CloudWatch), alarm states, kept batches
//! waiting; the function's log lines from CloudWatch Logs. No table scan: on a real table
//! that is slow and billed; `query` reads one entity.

use std::collections::BTreeMap;
use std::fmt::Write;

use stackgen::stack::outputs;

use crate::error::Error;
use crate::function_log::Problem;
use crate::status::{Parts, Unread};
use crate::target::Operated;

mod reads;
pub use reads::{last_problem, logs};

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
    /// The value of each minute with data, oldest first.
    pub per_minute: Vec<f64>,
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
    /// `None`: the bucket could not be read (see `unread`).
    pub failed_batches_waiting: Option<usize>,
    pub failed_batches_bucket: String,
    /// The latest WARN or ERROR the function logged in the period.
    pub last_problem: Option<Problem>,
    /// What could not be read this time (the rest is fresh).
    pub unread: Vec<Unread>,
}

/// Reads the deployed stack's state over the last `minutes`, part by part: a part that
/// fails is named in `unread` with its cause, and the rest is still shown. Only the
/// stack's own settings (which name the metrics) must be readable.
pub async fn report(op: &Operated, minutes: u32) -> Result<DeployedReport, Error> {
    let function = op.output(outputs::PROCESSOR_FUNCTION_NAME).to_owned();
    let bucket = op.output(outputs::FAILED_BATCHES_BUCKET_NAME).to_owned();
    let namespace = op.config()?.namespace;
    let specs = metric_specs(op.output(outputs::DATA_STREAM_NAME), &function, &namespace);
    let topic = op.output(outputs::ALERT_TOPIC_ARN);
    // The five reads go out together (a refresh takes the slowest, not their sum); their
    // results are taken in a fixed order, so `unread` lists failures the same way each time.
    let (mappings, metrics, alarms, waiting, last_problem) = tokio::join!(
        mappings(op, &function),
        reads::metric_values(op, &specs, minutes),
        reads::alarms_notifying(op, topic),
        crate::failure::list(&op.clients, &bucket),
        reads::last_problem(op, minutes),
    );
    let mut parts = Parts::default();
    let mappings = parts
        .ok("the event source mappings", mappings)
        .unwrap_or_default();
    let metrics = parts.ok("the metrics", metrics).unwrap_or_default();
    let alarms = parts.ok("the alarms", alarms).unwrap_or_default();
    let waiting = parts
        .ok("the failed-batches bucket", waiting)
        .map(|k| k.len());
    let last_problem = parts.ok("the function's logs", last_problem).flatten();
    Ok(DeployedReport {
        region: op.clients.region.clone(),
        mappings,
        minutes,
        metrics,
        alarms,
        failed_batches_waiting: waiting,
        failed_batches_bucket: bucket,
        last_problem,
        unread: parts.0,
        function,
    })
}

/// The function's event source mappings, as Lambda reports them.
async fn mappings(op: &Operated, function: &str) -> Result<Vec<MappingState>, Error> {
    let mut pages = op
        .clients
        .lambda
        .list_event_source_mappings()
        .function_name(function)
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
    Ok(mappings)
}

/// The status screen of a deployed stack.
pub fn render(r: &DeployedReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "deployed stack: function {} ({})",
        r.function, r.region
    );
    for u in &r.unread {
        let _ = writeln!(out, "UNREAD {}: {}", u.what, u.error);
    }
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
        r.failed_batches_waiting
            .map_or_else(|| "?".to_owned(), |n| n.to_string()),
        r.failed_batches_bucket,
        crate::failure::PREFIX
    );
    for (name, state) in &r.alarms {
        let _ = writeln!(out, "alarm {name:<55} {state}");
    }
    if let Some(p) = &r.last_problem {
        let _ = writeln!(out, "{}", crate::status::render_problem(p));
    }
    out
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

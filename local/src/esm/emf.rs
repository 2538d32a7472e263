//! What CloudWatch Logs does with the function's embedded metric format (EMF) lines on AWS,
//! done for the local stack: each line's metrics are put to CloudWatch, so the alarms on the
//! function's own metrics (rejected records, storage failures) fire locally too.

use std::path::PathBuf;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use serde_json::Value;

use crate::clients::Clients;
use crate::tail::Tail;

/// The metrics of one log line, by namespace, as the EMF specification defines them: for
/// each directive of `_aws.CloudWatchMetrics`, each metric named in `Metrics` takes its
/// value (a number, or an array of numbers) from the member of that name, once per
/// dimension set of `Dimensions` (each dimension's value from the member of its name), at
/// `_aws.Timestamp` (ms). A line that is not EMF yields nothing.
pub fn data_of(line: &str) -> Vec<(String, MetricDatum)> {
    let Ok(doc) = serde_json::from_str::<Value>(line) else {
        return Vec::new();
    };
    let aws = &doc["_aws"];
    let at = aws["Timestamp"].as_i64().map(DateTime::from_millis);
    let mut out = Vec::new();
    for directive in aws["CloudWatchMetrics"].as_array().into_iter().flatten() {
        let Some(namespace) = directive["Namespace"].as_str() else {
            continue;
        };
        let sets: Vec<Vec<Dimension>> = directive["Dimensions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .map(|set| {
                set.iter()
                    .filter_map(Value::as_str)
                    .map(|k| {
                        let v = doc[k]
                            .as_str()
                            .map_or_else(|| doc[k].to_string(), str::to_owned);
                        Dimension::builder().name(k).value(v).build()
                    })
                    .collect()
            })
            .collect();
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            let Some(name) = metric["Name"].as_str() else {
                continue;
            };
            let values: Vec<f64> = match &doc[name] {
                Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
                v => v.as_f64().into_iter().collect(),
            };
            let unit = metric["Unit"].as_str().map(StandardUnit::from);
            for dims in &sets {
                for v in &values {
                    let d = MetricDatum::builder()
                        .metric_name(name)
                        .value(*v)
                        .set_unit(unit.clone())
                        .set_timestamp(at)
                        .set_dimensions(Some(dims.clone()))
                        .build();
                    out.push((namespace.to_owned(), d));
                }
            }
        }
    }
    out
}

/// Forwards the EMF metrics the function logs under `logs` from now on (not lines already
/// there: a restarted mapping does not put them twice), every second, until aborted.
pub(super) async fn forward(c: Clients, logs: PathBuf) {
    let mut tail = Tail::default();
    let _ = tail.gained(&logs);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let mut by_namespace: std::collections::BTreeMap<String, Vec<MetricDatum>> =
            Default::default();
        for line in tail.gained(&logs).lines {
            for (ns, d) in data_of(&line) {
                by_namespace.entry(ns).or_default().push(d);
            }
        }
        for (ns, data) in by_namespace {
            super::metrics::put(&c, &ns, &data).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_functions_own_emf_line_yields_its_metrics() {
        let summary = function::batch::Summary {
            counted: 7,
            rejected: 2,
            failed_shards: 1,
            ..Default::default()
        };
        let line = function::telemetry::emf(
            "RealtimeProcessing/dev",
            &summary,
            std::time::Duration::from_millis(12),
            1_765_000_000_000,
        )
        .to_string();
        let data = data_of(&line);
        let value = |name: &str| {
            data.iter()
                .find(|(_, d)| d.metric_name() == Some(name))
                .and_then(|(_, d)| d.value())
        };
        assert!(data.iter().all(|(ns, _)| ns == "RealtimeProcessing/dev"));
        assert_eq!(value(function::telemetry::REJECTED_METRIC), Some(2.0));
        assert_eq!(value(function::telemetry::ITEM_FAILURES_METRIC), Some(1.0));
        assert_eq!(value("RecordsProcessed"), Some(7.0));
        assert_eq!(value("BatchDuration"), Some(12.0));
        // No dimensions: one datum per metric, at the line's time.
        assert_eq!(data.len(), 5);
        let (_, d) = &data[0];
        assert!(d.dimensions().is_empty());
        assert_eq!(
            d.timestamp().map(|t| t.to_millis().ok()),
            Some(Some(1_765_000_000_000))
        );
    }

    #[test]
    fn dimension_sets_and_value_arrays_follow_the_specification() {
        let line = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N",
            "Dimensions":[["Shard"],[]],"Metrics":[{"Name":"Latency","Unit":"Milliseconds"}]}]},
            "Shard":"s-1","Latency":[3,4]}"#
            .replace('\n', "");
        let data = data_of(&line);
        // Two values, each under both dimension sets.
        assert_eq!(data.len(), 4);
        assert_eq!(
            data.iter()
                .filter(|(_, d)| d.dimensions().len() == 1)
                .count(),
            2
        );
        assert_eq!(data[0].1.dimensions()[0].value(), Some("s-1"));
        assert_eq!(data[0].1.unit(), Some(&StandardUnit::Milliseconds));
        // Not EMF: nothing.
        assert!(data_of(r#"{"message":"batch processed"}"#).is_empty());
        assert!(data_of("plain text").is_empty());
    }
}

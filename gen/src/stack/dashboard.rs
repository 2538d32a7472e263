//! The stack's CloudWatch dashboard: one typed document, widgets titled after the stack's
//! resources, rendered with `fn::toJSON` so every name is the deployed one.

use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::names::*;
use super::{Group, base_names, metrics_namespace, named, physical_name};
use crate::Error;
use crate::aws::cloudwatch::Dashboard;
use crate::expr::{out, stack, to_json, var};
use crate::program::Resource;

/// The function's EMF metrics the dashboard plots (`function::telemetry` publishes them; a
/// contract test holds the two together).
pub const EMF_METRICS: [&str; 4] = [
    "RecordsProcessed",
    "RecordsRejected",
    "DuplicatesSkipped",
    "BatchItemFailures",
];

/// The event source mapping metric group the mapping opts into (`metricsConfig`): it adds
/// `DroppedEventCount` and `OnFailureDestinationDeliveredEventCount`, the failed batches.
pub const MAPPING_METRICS: &str = "EventCount";

/// The dashboard body (CloudWatch's dashboard body structure).
#[derive(serde::Serialize)]
struct Body {
    widgets: Vec<Widget>,
}

#[derive(serde::Serialize)]
struct Widget {
    #[serde(rename = "type")]
    kind: &'static str,
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    properties: Properties,
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum Properties {
    Metric {
        title: String,
        view: &'static str,
        region: String,
        period: u32,
        metrics: Vec<Metric>,
    },
    Alarms {
        title: String,
        alarms: Vec<String>,
    },
}

/// One line of a metric widget: `[namespace, name, dim, value, …, {stat, label}]`.
struct Metric {
    namespace: String,
    name: &'static str,
    dimension: Option<(&'static str, String)>,
    stat: &'static str,
    label: &'static str,
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Options {
            stat: &'static str,
            label: &'static str,
        }
        let mut seq = s.serialize_seq(None)?;
        seq.serialize_element(&self.namespace)?;
        seq.serialize_element(self.name)?;
        if let Some((k, v)) = &self.dimension {
            seq.serialize_element(k)?;
            seq.serialize_element(v)?;
        }
        seq.serialize_element(&Options {
            stat: self.stat,
            label: self.label,
        })?;
        seq.end()
    }
}

fn metric(
    namespace: &str,
    name: &'static str,
    dimension: Option<(&'static str, String)>,
    stat: &'static str,
    label: &'static str,
) -> Metric {
    Metric {
        namespace: namespace.to_owned(),
        name,
        dimension,
        stat,
        label,
    }
}

/// A 12 × 6 time-series widget in a two-column grid.
fn chart(i: u32, title: String, metrics: Vec<Metric>) -> Widget {
    Widget {
        kind: "metric",
        x: (i % 2) * 12,
        y: (i / 2) * 6,
        width: 12,
        height: 6,
        properties: Properties::Metric {
            title,
            view: "timeSeries",
            region: var(REGION),
            period: 60,
            metrics,
        },
    }
}

/// The widgets, in reading order.
fn widgets() -> Vec<Widget> {
    let stream_name = physical_name(base_names::STREAM, &stack());
    let function_name = physical_name(base_names::FUNCTION, &stack());
    let table_name = physical_name(base_names::TABLE, &stack());
    let stream = || Some(("StreamName", out(STREAM, "name")));
    let function = || Some(("FunctionName", out(FUNCTION, "name")));
    let mapping = || Some(("EventSourceMappingUUID", out(MAPPING, "uuid")));
    let table = || Some(("TableName", out(TABLE, "name")));
    let emf = metrics_namespace();
    let [processed, rejected, duplicates, item_failures] = EMF_METRICS;
    let charts = [
        (
            format!("Records in ({stream_name}) and out ({function_name})"),
            vec![
                metric(
                    "AWS/Kinesis",
                    "IncomingRecords",
                    stream(),
                    "Sum",
                    "into the stream",
                ),
                metric(&emf, processed, None, "Sum", "counted in the table"),
            ],
        ),
        (
            format!("Iterator age of {function_name} (ms)"),
            vec![metric(
                "AWS/Lambda",
                "IteratorAge",
                function(),
                "Maximum",
                "max",
            )],
        ),
        (
            format!("Errors and throttles of {function_name}"),
            vec![
                metric("AWS/Lambda", "Errors", function(), "Sum", "errors"),
                metric("AWS/Lambda", "Throttles", function(), "Sum", "throttles"),
                metric(
                    &emf,
                    item_failures,
                    None,
                    "Sum",
                    "storage failures (partial batch failures)",
                ),
            ],
        ),
        (
            format!("Duration of {function_name} (ms)"),
            vec![
                metric("AWS/Lambda", "Duration", function(), "Average", "average"),
                metric("AWS/Lambda", "Duration", function(), "p99", "p99"),
                metric("AWS/Lambda", "Duration", function(), "Maximum", "max"),
            ],
        ),
        (
            "Data quality: rejected records (rejected/) and duplicates skipped".to_owned(),
            vec![
                metric(&emf, rejected, None, "Sum", "rejected"),
                metric(&emf, duplicates, None, "Sum", "duplicates skipped"),
            ],
        ),
        (
            format!("Failed batches of {function_name}'s mapping (records)"),
            vec![
                metric(
                    "AWS/Lambda",
                    "OnFailureDestinationDeliveredEventCount",
                    mapping(),
                    "Sum",
                    "kept in the failed-batches bucket",
                ),
                metric(
                    "AWS/Lambda",
                    "DroppedEventCount",
                    mapping(),
                    "Sum",
                    "given up",
                ),
                metric(
                    "AWS/Lambda",
                    "DestinationDeliveryFailures",
                    function(),
                    "Sum",
                    "not kept: delivery failed",
                ),
            ],
        ),
        (
            format!("{table_name}: consumed write units and throttles"),
            vec![
                metric(
                    "AWS/DynamoDB",
                    "ConsumedWriteCapacityUnits",
                    table(),
                    "Sum",
                    "write units",
                ),
                metric(
                    "AWS/DynamoDB",
                    "WriteThrottleEvents",
                    table(),
                    "Sum",
                    "throttled",
                ),
            ],
        ),
    ];
    let mut widgets: Vec<Widget> = charts
        .into_iter()
        .zip(0..)
        .map(|((title, metrics), i)| chart(i, title, metrics))
        .collect();
    let row = (widgets.len() as u32).div_ceil(2) * 6;
    widgets.push(Widget {
        kind: "alarm",
        x: 0,
        y: row,
        width: 24,
        height: 3,
        properties: Properties::Alarms {
            title: "Alarms (notify the alert topic)".to_owned(),
            alarms: [
                ALARM_ERRORS,
                ALARM_THROTTLES,
                ALARM_ITERATOR_AGE,
                ALARM_REJECTED,
                ALARM_STORAGE,
                ALARM_STALLED,
                ALARM_KEPT,
                ALARM_DELIVERY,
                ALARM_COMPACTION,
            ]
            .into_iter()
            .map(|a| out(a, "arn"))
            .collect(),
        },
    });
    widgets
}

/// The dashboard resource (`realtime-processing-<stack>`).
pub fn dashboard() -> Result<Group, Error> {
    Ok(vec![named(
        DASHBOARD,
        Resource::of(&Dashboard {
            dashboard_name: physical_name(crate::PROJECT, &stack()),
            dashboard_body: to_json(&Body { widgets: widgets() })?,
        })?,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of every metric widget, as (namespace, metric name, dimension name).
    fn lines() -> Vec<(String, String, String)> {
        let body = serde_json::to_value(Body { widgets: widgets() }).expect("json");
        let mut out = Vec::new();
        for w in body["widgets"].as_array().expect("widgets") {
            for m in w["properties"]["metrics"].as_array().into_iter().flatten() {
                let m = m.as_array().expect("a metric line is an array");
                let text = |i: usize| m[i].as_str().unwrap_or_default().to_owned();
                let dim = if m.len() == 5 { text(2) } else { String::new() };
                out.push((text(0), text(1), dim));
            }
        }
        out
    }

    #[test]
    fn the_dashboard_shows_what_an_operator_watches() {
        let lines = lines();
        let has = |ns: &str, name: &str, dim: &str| {
            lines
                .iter()
                .any(|(n, m, d)| n == ns && m == name && d == dim)
        };
        for name in ["Errors", "Throttles", "Duration", "IteratorAge"] {
            assert!(has("AWS/Lambda", name, "FunctionName"), "{name}");
        }
        assert!(has("AWS/Kinesis", "IncomingRecords", "StreamName"));
        for name in ["ConsumedWriteCapacityUnits", "WriteThrottleEvents"] {
            assert!(has("AWS/DynamoDB", name, "TableName"), "{name}");
        }
        for name in [
            "OnFailureDestinationDeliveredEventCount",
            "DroppedEventCount",
        ] {
            assert!(has("AWS/Lambda", name, "EventSourceMappingUUID"), "{name}");
        }
        for name in EMF_METRICS {
            assert!(has(&metrics_namespace(), name, ""), "{name}");
        }
    }

    #[test]
    fn widgets_do_not_overlap() {
        let w = widgets();
        for (i, a) in w.iter().enumerate() {
            assert!(a.x + a.width <= 24, "a dashboard is 24 units wide");
            for b in &w[i + 1..] {
                let apart = a.x + a.width <= b.x
                    || b.x + b.width <= a.x
                    || a.y + a.height <= b.y
                    || b.y + b.height <= a.y;
                assert!(apart, "widgets overlap");
            }
        }
    }
}

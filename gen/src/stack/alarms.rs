//! The alarms, each telling the topic: errors, throttles, iterator age, rejected records,
//! storage failures that persist (reported as partial batch failures, so `Errors` stays
//! 0), and given-up batches Lambda could not keep (records lost: the most severe).

use super::names::*;
use super::*;
use crate::Error;
use crate::aws::cloudwatch::MetricAlarm;
use crate::expr::{Input, cfg, out, stack};
use crate::program::Resource;

/// What one alarm watches.
struct AlarmSpec {
    resource: &'static str,
    suffix: &'static str,
    description: &'static str,
    namespace: String,
    metric: &'static str,
    /// `None` for the function's EMF metrics (published without dimensions).
    dimension: Option<(&'static str, String)>,
    statistic: &'static str,
    periods: i64,
    threshold: Input<f64>,
    comparison: &'static str,
    /// What a minute without data means for this metric (see ARCHITECTURE.md, Alarms).
    missing: &'static str,
}

pub(super) fn alarms() -> Result<Group, Error> {
    let function = ("FunctionName", out(FUNCTION, "name"));
    let specs = [
        AlarmSpec {
            resource: ALARM_ERRORS,
            suffix: "errors",
            description: "Processor errors above the threshold in a minute",
            namespace: "AWS/Lambda".into(),
            metric: "Errors",
            dimension: Some(function.clone()),
            statistic: "Sum",
            periods: 1,
            threshold: cfg("errorAlarmThreshold"),
            comparison: "GreaterThanThreshold",
            // No invocations, no errors.
            missing: "notBreaching",
        },
        AlarmSpec {
            resource: ALARM_THROTTLES,
            suffix: "throttles",
            description: "Processor invocations throttled",
            namespace: "AWS/Lambda".into(),
            metric: "Throttles",
            dimension: Some(function.clone()),
            statistic: "Sum",
            periods: 1,
            threshold: Input::Lit(1.0),
            comparison: "GreaterThanOrEqualToThreshold",
            // No invocations attempted, none throttled.
            missing: "notBreaching",
        },
        AlarmSpec {
            resource: ALARM_ITERATOR_AGE,
            suffix: "iterator-age",
            description: "Processing lags the stream (IteratorAge) for 3 minutes",
            namespace: "AWS/Lambda".into(),
            metric: "IteratorAge",
            dimension: Some(function.clone()),
            statistic: "Maximum",
            periods: 3,
            threshold: cfg("iteratorAgeAlarmMs"),
            comparison: "GreaterThanThreshold",
            // An idle stream reports nothing; a lagging or stuck shard keeps reporting
            // IteratorAge while Lambda retries it.
            missing: "notBreaching",
        },
        AlarmSpec {
            resource: ALARM_REJECTED,
            suffix: "rejected-records",
            description: "Records quarantined under rejected/ above the threshold in a minute \
                          (producers sending data the pipeline cannot count)",
            namespace: metrics_namespace(),
            metric: "RecordsRejected",
            dimension: None,
            statistic: "Sum",
            periods: 1,
            threshold: cfg("rejectedRecordsAlarmThreshold"),
            comparison: "GreaterThanThreshold",
            // The function publishes the metric once per batch: no batch, no rejections.
            missing: "notBreaching",
        },
        AlarmSpec {
            resource: ALARM_STORAGE,
            suffix: "storage-failures",
            description: "The function could not store records (S3 or DynamoDB failing, or a \
                          permission missing) in each of 3 minutes: Lambda retries the batches \
                          and gives up on them after maximumRetryAttempts (they are kept for \
                          redrive). Errors stays 0: these are partial batch failures",
            namespace: metrics_namespace(),
            metric: "BatchItemFailures",
            dimension: None,
            statistic: "Sum",
            periods: 3,
            threshold: Input::Lit(1.0),
            comparison: "GreaterThanOrEqualToThreshold",
            // Published once per batch: no batch, no failure. A stalled mapping is the
            // iterator-age alarm's.
            missing: "notBreaching",
        },
        AlarmSpec {
            resource: ALARM_DELIVERY,
            suffix: "failed-batch-delivery",
            description: "Lambda could not write a given-up batch to the failed-batches bucket \
                          (DestinationDeliveryFailures): its records were dropped and redrive \
                          cannot see them. The most severe: recover them from the archive",
            namespace: "AWS/Lambda".into(),
            metric: "DestinationDeliveryFailures",
            dimension: Some(function.clone()),
            statistic: "Sum",
            periods: 1,
            threshold: Input::Lit(1.0),
            comparison: "GreaterThanOrEqualToThreshold",
            // Published only when a delivery fails.
            missing: "notBreaching",
        },
    ];
    specs
        .into_iter()
        .map(|s| {
            let alarm = MetricAlarm {
                name: format!(
                    "{}-{}",
                    physical_name(base_names::FUNCTION, &stack()),
                    s.suffix
                ),
                alarm_description: s.description.into(),
                namespace: s.namespace,
                metric_name: s.metric.into(),
                dimensions: s
                    .dimension
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                statistic: s.statistic.into(),
                period: 60,
                evaluation_periods: s.periods,
                datapoints_to_alarm: s.periods,
                threshold: s.threshold,
                comparison_operator: s.comparison.into(),
                treat_missing_data: s.missing.into(),
                alarm_actions: vec![out(TOPIC, "arn")],
                ok_actions: vec![out(TOPIC, "arn")],
            };
            Ok(named(s.resource, Resource::of(&alarm)?))
        })
        .collect()
}

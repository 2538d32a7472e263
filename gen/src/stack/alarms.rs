//! The alarms, each telling the topic: errors, throttles, iterator age, rejected records,
//! storage failures that persist (reported as partial batch failures, so `Errors` stays
//! 0), a mapping that stopped invoking while records arrive, given-up batches kept and
//! waiting for a redrive (one notification per incident), and given-up batches Lambda
//! could not keep (records lost: the most severe).

use super::names::*;
use super::*;
use crate::Error;
use crate::aws::cloudwatch::{MetricAlarm, MetricQuery, QueryMetric, Watched};
use crate::expr::{Input, cfg, out, stack};
use crate::program::Resource;

/// What one alarm watches.
struct AlarmSpec {
    resource: &'static str,
    suffix: &'static str,
    description: &'static str,
    watched: Watched,
    periods: i64,
    /// Of `periods`, how many must breach.
    datapoints: i64,
    threshold: Input<f64>,
    comparison: &'static str,
    /// What a minute without data means for this metric (see docs/DESIGN.md, Alarms).
    missing: &'static str,
}

pub(super) fn alarms() -> Result<Group, Error> {
    let function = ("FunctionName", out(FUNCTION, "name"));
    let specs = [
        AlarmSpec {
            resource: ALARM_ERRORS,
            suffix: "errors",
            description: "Processor errors above the threshold in a minute",
            watched: metric(LAMBDA, "Errors", Some(function.clone()), "Sum"),
            periods: 1,
            datapoints: 1,
            threshold: cfg("errorAlarmThreshold"),
            comparison: "GreaterThanThreshold",
            // No invocations, no errors.
            missing: "notBreaching",
        },
        AlarmSpec {
            resource: ALARM_THROTTLES,
            suffix: "throttles",
            description: "Processor invocations throttled",
            watched: metric(LAMBDA, "Throttles", Some(function.clone()), "Sum"),
            periods: 1,
            datapoints: 1,
            threshold: Input::Lit(1.0),
            comparison: "GreaterThanOrEqualToThreshold",
            // No invocations attempted, none throttled.
            missing: "notBreaching",
        },
        AlarmSpec {
            resource: ALARM_ITERATOR_AGE,
            suffix: "iterator-age",
            description: "Processing lags the stream (IteratorAge) for 3 minutes",
            watched: metric(LAMBDA, "IteratorAge", Some(function.clone()), "Maximum"),
            periods: 3,
            datapoints: 3,
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
            watched: metric(metrics_namespace(), "RecordsRejected", None, "Sum"),
            periods: 1,
            datapoints: 1,
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
            watched: metric(metrics_namespace(), "BatchItemFailures", None, "Sum"),
            periods: 3,
            datapoints: 3,
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
            watched: metric(
                LAMBDA,
                "DestinationDeliveryFailures",
                Some(function.clone()),
                "Sum",
            ),
            periods: 1,
            datapoints: 1,
            threshold: Input::Lit(1.0),
            comparison: "GreaterThanOrEqualToThreshold",
            // Published only when a delivery fails.
            missing: "notBreaching",
        },
        AlarmSpec {
            resource: ALARM_STALLED,
            suffix: "mapping-stalled",
            description: "Records reach the stream but the mapping invokes the function for \
                          none of them, in 3 of 5 minutes (mapping disabled or unable to read \
                          the stream, e.g. lost KMS access): IteratorAge is published only \
                          when the function runs, so no other alarm sees this",
            watched: stalled(),
            periods: 5,
            datapoints: 3,
            threshold: Input::Lit(1.0),
            comparison: "GreaterThanOrEqualToThreshold",
            // The expression yields a value for every minute with records or invocations;
            // a minute with neither is an idle stream.
            missing: "notBreaching",
        },
        AlarmSpec {
            resource: ALARM_KEPT,
            suffix: KEPT_BATCHES_SUFFIX,
            description: "Lambda gave up on batches and kept them in the failed-batches bucket: \
                          their records are not counted yet. Run `realtime redrive`; the alarm \
                          stays in ALARM (one notification per incident, not per batch) until \
                          a redrive empties the bucket and sets it OK",
            watched: metric(
                LAMBDA,
                "OnFailureDestinationDeliveredEventCount",
                Some(("EventSourceMappingUUID", out(MAPPING, "uuid"))),
                "Sum",
            ),
            periods: 1,
            datapoints: 1,
            threshold: Input::Lit(1.0),
            comparison: "GreaterThanOrEqualToThreshold",
            // Quiet minutes keep the state: only a redrive that empties the bucket clears it
            // (`cloudwatch:SetAlarmState`), so a second give-up during an incident sends
            // nothing new.
            missing: "ignore",
        },
        AlarmSpec {
            resource: ALARM_COMPACTION,
            suffix: "compaction-errors",
            description: "The archive compactor failed (Lambda retries a run twice; the next \
                          hourly run covers every hour since): an object it cannot place \
                          safely leaves its shard-hour as it was, and the log says which",
            watched: metric(
                LAMBDA,
                "Errors",
                Some(("FunctionName", out(COMPACTOR, "name"))),
                "Sum",
            ),
            periods: 1,
            datapoints: 1,
            threshold: Input::Lit(1.0),
            comparison: "GreaterThanOrEqualToThreshold",
            // No run, no error.
            missing: "notBreaching",
        },
    ];
    specs
        .into_iter()
        .map(|s| {
            let alarm = MetricAlarm {
                name: alarm_name(s.suffix),
                alarm_description: s.description.into(),
                watched: s.watched,
                evaluation_periods: s.periods,
                datapoints_to_alarm: s.datapoints,
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

/// The physical name of the stack's alarm with `suffix` (`<function>-<suffix>`).
fn alarm_name(suffix: &str) -> String {
    format!("{}-{suffix}", physical_name(base_names::FUNCTION, &stack()))
}

/// The suffix of the kept-batches alarm, which `redrive` sets OK once the bucket is empty.
const KEPT_BATCHES_SUFFIX: &str = "kept-batches-waiting";

const LAMBDA: &str = "AWS/Lambda";

/// One metric, per minute.
fn metric(
    namespace: impl Into<String>,
    name: &str,
    dimension: Option<(&str, String)>,
    statistic: &str,
) -> Watched {
    Watched::Metric {
        namespace: namespace.into(),
        metric_name: name.into(),
        dimensions: dimension
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        statistic: statistic.into(),
        period: 60,
    }
}

/// The stall expression's metric ids and the expression itself: 1 in a minute where
/// records reached the stream and the function was invoked for none, else 0.
const STALLED_EXPRESSION: &str = "IF(FILL(incoming, 0) > 0 AND FILL(invocations, 0) == 0, 1, 0)";

/// Records arriving (Kinesis `IncomingRecords`) against the function's `Invocations`.
fn stalled() -> Watched {
    let query = |id: &str, namespace: &str, name: &str, dimension: (&str, String)| MetricQuery {
        id: id.into(),
        expression: None,
        label: None,
        metric: Some(QueryMetric {
            namespace: namespace.into(),
            metric_name: name.into(),
            dimensions: [(dimension.0.to_owned(), dimension.1)]
                .into_iter()
                .collect(),
            stat: "Sum".into(),
            period: 60,
        }),
        return_data: false,
    };
    Watched::Expression {
        metric_queries: vec![
            query(
                "incoming",
                "AWS/Kinesis",
                "IncomingRecords",
                ("StreamName", out(STREAM, "name")),
            ),
            query(
                "invocations",
                LAMBDA,
                "Invocations",
                ("FunctionName", out(FUNCTION, "name")),
            ),
            MetricQuery {
                id: "stalled".into(),
                expression: Some(STALLED_EXPRESSION.into()),
                label: Some("records arrived, none invoked".into()),
                metric: None,
                return_data: true,
            },
        ],
    }
}

//! Tests of the program's alarms: each notifies the topic on real dimensions, and the
//! metric-math alarm for a stalled mapping is evaluated, by a model of CloudWatch's alarm
//! evaluation written from its documentation, over the minutes of each way a mapping can
//! run: stalled, healthy, idle, sparse.

use std::collections::HashMap;

use serde_json::{Value, json};
use stackgen::stack::{names, program};

fn alarms() -> Vec<(String, Value)> {
    program()
        .expect("the model builds")
        .resources
        .into_iter()
        .filter(|(_, r)| r.ty == "aws:cloudwatch:MetricAlarm")
        .map(|(name, r)| (name, Value::Object(r.properties.into_iter().collect())))
        .collect()
}

fn alarm(name: &str) -> Value {
    alarms()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no alarm {name}"))
        .1
}

#[test]
fn every_alarm_notifies_the_topic_and_names_real_dimensions() {
    let alarms = alarms();
    assert_eq!(alarms.len(), 9);
    let mut watched = Vec::new();
    for (name, props) in &alarms {
        assert_eq!(
            props["alarmActions"],
            json!(["${alertTopic.arn}"]),
            "{name}"
        );
        assert_eq!(props["okActions"], json!(["${alertTopic.arn}"]), "{name}");
        assert!(props["treatMissingData"].is_string(), "{name}");
        // One metric, or metric math over queries: never both (AWS refuses both).
        let metrics: Vec<&Value> = match props["metricQueries"].as_array() {
            Some(queries) => {
                assert!(props.get("metricName").is_none(), "{name}");
                let returned = queries.iter().filter(|q| q["returnData"] == true).count();
                assert_eq!(returned, 1, "{name}: one query is compared");
                queries.iter().filter_map(|q| q.get("metric")).collect()
            }
            None => vec![props],
        };
        for m in metrics {
            let metric = m["metricName"].as_str().expect("metric");
            watched.push(metric.to_owned());
            let dims = m["dimensions"].as_object().expect("dimensions");
            let dim = |k: &str| dims.get(k).and_then(Value::as_str);
            match (m["namespace"].as_str(), metric) {
                (Some("AWS/Lambda"), "OnFailureDestinationDeliveredEventCount") => {
                    // The mapping's EventCount metric group, by mapping.
                    assert_eq!(
                        dim("EventSourceMappingUUID"),
                        Some("${processorMapping.uuid}")
                    )
                }
                // The compactor's errors: its own function.
                (Some("AWS/Lambda"), _) if name == names::ALARM_COMPACTION => {
                    assert_eq!(dim("FunctionName"), Some("${compactor.name}"), "{name}")
                }
                (Some("AWS/Lambda"), _) => {
                    assert_eq!(dim("FunctionName"), Some("${processor.name}"), "{name}")
                }
                (Some("AWS/Kinesis"), _) => {
                    assert_eq!(dim("StreamName"), Some("${dataStream.name}"), "{name}")
                }
                // The function's EMF metrics: its own namespace, no dimensions.
                (Some("RealtimeProcessing/${pulumi.stack}"), _) => {
                    assert!(dims.is_empty(), "{name}")
                }
                other => panic!("{name}: unexpected metric {other:?}"),
            }
        }
    }
    for m in [
        "Errors",
        "Throttles",
        "IteratorAge",
        "RecordsRejected",
        "BatchItemFailures",
        "DestinationDeliveryFailures",
        "OnFailureDestinationDeliveredEventCount",
        "IncomingRecords",
        "Invocations",
    ] {
        assert!(watched.iter().any(|w| w == m), "no alarm watches {m}");
    }
}

#[test]
fn a_given_up_batch_is_announced_once_per_incident_not_per_object() {
    let p = program().expect("the model builds");
    // No per-object S3 notification to the topic.
    assert!(
        p.resources
            .values()
            .all(|r| r.ty != "aws:s3:BucketNotification"),
        "a bucket notification sends one message per kept batch"
    );
    let kept = alarm(names::ALARM_KEPT);
    assert_eq!(
        kept["metricName"],
        "OnFailureDestinationDeliveredEventCount"
    );
    // Quiet minutes keep the state: only a redrive that empties the bucket clears it.
    assert_eq!(kept["treatMissingData"], "ignore");
    assert_eq!(kept["comparisonOperator"], "GreaterThanOrEqualToThreshold");
    assert_eq!(kept["threshold"], 1.0);
    assert_eq!(
        p.outputs["KeptBatchesAlarmName"],
        "${keptBatchesAlarm.name}"
    );
}

/// A metric's value per minute (`None`: no datapoint that minute).
type Series = Vec<Option<f64>>;

/// The value of a metric-math expression in one minute, as CloudWatch's documentation
/// defines the functions used here: `FILL(s, v)` replaces a missing value with `v`; an
/// operation on a missing value is missing; comparisons and `AND` yield 1 or 0;
/// `IF(c, a, b)` is `a` where `c` is non-zero.
fn eval(expr: &str, series: &HashMap<&str, Series>, minute: usize) -> Option<f64> {
    let tokens: Vec<String> = {
        let spaced = expr
            .replace('(', " ( ")
            .replace(')', " ) ")
            .replace(',', " , ");
        spaced.split_whitespace().map(str::to_owned).collect()
    };
    let mut pos = 0;
    let v = or_expr(&tokens, &mut pos, series, minute);
    assert_eq!(pos, tokens.len(), "unparsed tail in {expr}");
    v
}

type Env<'a> = (&'a HashMap<&'a str, Series>, usize);

fn or_expr(t: &[String], p: &mut usize, s: &HashMap<&str, Series>, m: usize) -> Option<f64> {
    let mut v = comparison(t, p, (s, m));
    while t.get(*p).map(String::as_str) == Some("AND") {
        *p += 1;
        let r = comparison(t, p, (s, m));
        v = v
            .zip(r)
            .map(|(a, b)| f64::from(u8::from(a != 0.0 && b != 0.0)));
    }
    v
}

fn comparison(t: &[String], p: &mut usize, env: Env) -> Option<f64> {
    let left = operand(t, p, env);
    let op = t.get(*p).cloned().unwrap_or_default();
    let cmp: fn(f64, f64) -> bool = match op.as_str() {
        ">" => |a, b| a > b,
        "<" => |a, b| a < b,
        ">=" => |a, b| a >= b,
        "==" => |a, b| a == b,
        _ => return left,
    };
    *p += 1;
    let right = operand(t, p, env);
    left.zip(right).map(|(a, b)| f64::from(u8::from(cmp(a, b))))
}

fn operand(t: &[String], p: &mut usize, env: Env) -> Option<f64> {
    let word = t[*p].clone();
    *p += 1;
    let mut args = |n: usize| -> Vec<Option<f64>> {
        assert_eq!(t[*p], "(");
        *p += 1;
        let mut out = Vec::new();
        for i in 0..n {
            out.push(or_expr(t, p, env.0, env.1));
            assert_eq!(t[*p], if i + 1 == n { ")" } else { "," });
            *p += 1;
        }
        out
    };
    match word.as_str() {
        "FILL" => {
            let a = args(2);
            a[0].or(a[1])
        }
        "IF" => {
            let a = args(3);
            a[0].and_then(|c| if c != 0.0 { a[1] } else { a[2] })
        }
        number if number.parse::<f64>().is_ok() => number.parse().ok(),
        id => env.0.get(id).unwrap_or_else(|| panic!("unknown id {id}"))[env.1],
    }
}

/// The alarm's state after the last `evaluationPeriods` minutes of `series`, by CloudWatch's
/// "M out of N" rule, with missing datapoints treated as `treatMissingData` says.
fn state(alarm: &Value, series: &HashMap<&str, Series>) -> &'static str {
    let queries = alarm["metricQueries"].as_array().expect("queries");
    let returned = queries
        .iter()
        .find(|q| q["returnData"] == true)
        .expect("returned query");
    let expr = returned["expression"].as_str().expect("expression");
    for q in queries.iter().filter(|q| q.get("metric").is_some()) {
        assert!(series.contains_key(q["id"].as_str().expect("id")));
    }
    let n = alarm["evaluationPeriods"].as_u64().expect("periods") as usize;
    let m = alarm["datapointsToAlarm"].as_u64().expect("datapoints") as usize;
    let threshold = alarm["threshold"].as_f64().expect("threshold");
    assert_eq!(alarm["comparisonOperator"], "GreaterThanOrEqualToThreshold");
    assert_eq!(alarm["treatMissingData"], "notBreaching");
    let minutes = series.values().map(Vec::len).max().unwrap_or(0);
    let breaching = (minutes.saturating_sub(n)..minutes)
        .filter(|&minute| eval(expr, series, minute).is_some_and(|v| v >= threshold))
        .count();
    if breaching >= m { "ALARM" } else { "OK" }
}

#[test]
fn the_stalled_mapping_alarm_fires_when_records_arrive_and_none_are_invoked() {
    let alarm = alarm(names::ALARM_STALLED);
    let run = |incoming: Series, invocations: Series| {
        state(
            &alarm,
            &HashMap::from([("incoming", incoming), ("invocations", invocations)]),
        )
    };
    let some = |v: f64| Some(v);
    // A disabled mapping, or one that lost the key: records arrive, nothing is invoked.
    assert_eq!(run(vec![some(100.0); 5], vec![None; 5]), "ALARM");
    // Sparse records and a stalled mapping: records in 3 of the 5 minutes.
    assert_eq!(
        run(
            vec![some(1.0), None, some(2.0), None, some(1.0)],
            vec![None; 5]
        ),
        "ALARM"
    );
    // Healthy: every minute with records has invocations.
    assert_eq!(run(vec![some(100.0); 5], vec![some(4.0); 5]), "OK");
    // Idle: no datapoint at all (missing is not breaching).
    assert_eq!(run(vec![None; 5], vec![None; 5]), "OK");
    // Healthy and sparse: a record at a minute's end is invoked in the next minute.
    assert_eq!(
        run(
            vec![some(1.0), None, some(1.0), None, None],
            vec![None, some(1.0), None, some(1.0), None]
        ),
        "OK"
    );
    // Invocations that are all throttled still count as none: the throttles alarm's case
    // too, but a mapping that cannot invoke is stalled all the same.
    assert_eq!(run(vec![some(50.0); 5], vec![some(0.0); 5]), "ALARM");
}

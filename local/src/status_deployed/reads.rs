//! The deployed stack's CloudWatch side: metric values per minute, the alarms notifying
//! the stack's topic, the function's log lines and its latest problem.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use stackgen::stack::outputs;

use super::{MetricSpec, MetricValue};
use crate::error::Error;
use crate::function_log::{self, Entry, Problem};
use crate::target::Operated;

pub(super) async fn metric_values(
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
    // Each query's (time, value) points, whatever order the pages give them in.
    let mut by_id: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for r in out.metric_data_results() {
        let at = r
            .timestamps()
            .iter()
            .map(|t| t.to_millis().unwrap_or_default());
        by_id
            .entry(r.id().unwrap_or_default().to_owned())
            .or_default()
            .extend(at.zip(r.values().iter().copied()));
    }
    Ok(specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut points = by_id.remove(&format!("m{i}")).unwrap_or_default();
            points.sort_by_key(|(t, _)| *t);
            let per_minute: Vec<f64> = points.into_iter().map(|(_, v)| v).collect();
            let value = if per_minute.is_empty() {
                None
            } else if s.statistic == "Maximum" {
                per_minute.iter().copied().reduce(f64::max)
            } else {
                Some(per_minute.iter().sum())
            };
            MetricValue {
                namespace: s.namespace.clone(),
                name: s.name.to_owned(),
                statistic: s.statistic.to_owned(),
                value,
                per_minute,
            }
        })
        .collect())
}

/// The alarms whose actions notify `topic` (the stack's), with their states.
pub(super) async fn alarms_notifying(
    op: &Operated,
    topic: &str,
) -> Result<BTreeMap<String, String>, Error> {
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

/// Each event of the function's CloudWatch Logs group in the last `since_minutes`, oldest
/// first, that matches `pattern` (a CloudWatch Logs filter pattern; `None`: every one).
async fn each_event(
    op: &Operated,
    since_minutes: u32,
    pattern: Option<&str>,
    mut f: impl FnMut(&str),
) -> Result<(), Error> {
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
        .set_filter_pattern(pattern.map(str::to_owned))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(Error::aws("logs:FilterLogEvents"))?;
        for e in page.events() {
            f(e.message().unwrap_or_default());
        }
    }
    Ok(())
}

/// The function's log lines of the last `since_minutes`, oldest first, at most `limit`
/// (the newest ones), from its CloudWatch Logs group.
pub async fn logs(op: &Operated, since_minutes: u32, limit: usize) -> Result<Vec<String>, Error> {
    let mut lines = std::collections::VecDeque::new();
    each_event(op, since_minutes, None, |m| {
        lines.push_back(m.trim_end().to_owned());
        if lines.len() > limit {
            lines.pop_front();
        }
    })
    .await?;
    Ok(lines.into())
}

/// The latest WARN or ERROR the function logged in the last `since_minutes`, with its error
/// chain (CloudWatch Logs filters by level; each line is read again here, so a looser
/// filter only costs lines).
pub async fn last_problem(op: &Operated, since_minutes: u32) -> Result<Option<Problem>, Error> {
    let mut last = None;
    let pattern = r#"{ ($.level = "WARN") || ($.level = "ERROR") }"#;
    each_event(op, since_minutes, Some(pattern), |m| {
        if let Entry::Problem(p) = function_log::read(m) {
            last = Some(p);
        }
    })
    .await?;
    Ok(last)
}

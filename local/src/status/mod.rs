//! Reading the stack back: aggregates per entity, alarm states, queue depth, mapping counters.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use function::store::{Page, Totals, totals};

use crate::clients::Clients;
use crate::deploy::Deployed;
use crate::error::Error;

/// One (entity, window) aggregate, its pages merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    pub entity: String,
    pub window: String,
    pub totals: Totals,
}

fn aggregates(pages: &[Page]) -> Vec<Aggregate> {
    totals(pages)
        .into_iter()
        .map(|((entity, window), totals)| Aggregate {
            entity,
            window,
            totals,
        })
        .collect()
}

fn pages_of(items: &[HashMap<String, AttributeValue>]) -> Result<Vec<Page>, Error> {
    items
        .iter()
        .map(|i| function::aws::page_of(i).map_err(Error::Page))
        .collect()
}

/// Every aggregate (a full scan: the local table is small).
pub async fn scan(c: &Clients, table: &str) -> Result<Vec<Aggregate>, Error> {
    let items = scan_items(c, table).await?;
    Ok(aggregates(&pages_of(&items)?))
}

/// Every item of `table`, page after page.
pub async fn scan_items(
    c: &Clients,
    table: &str,
) -> Result<Vec<HashMap<String, AttributeValue>>, Error> {
    let mut pages = c
        .dynamodb
        .scan()
        .table_name(table)
        .into_paginator()
        .items()
        .send();
    let mut items = Vec::new();
    while let Some(item) = pages.next().await {
        items.push(item.map_err(Error::aws("dynamodb:Scan"))?);
    }
    Ok(items)
}

/// The aggregates of one entity between two window starts (inclusive,
/// `YYYY-MM-DDTHH:MM:SSZ`), every page of each.
pub async fn query(
    c: &Clients,
    table: &str,
    entity: &str,
    from: &str,
    to: &str,
) -> Result<Vec<Aggregate>, Error> {
    let metrics = function::aws::DynamoMetrics {
        client: c.dynamodb.clone(),
        table: table.to_owned(),
    };
    let pages = metrics
        .pages_between(entity, from, to)
        .await
        .map_err(|e| Error::Aws {
            call: "dynamodb:Query",
            source: Box::new(e),
        })?;
    Ok(aggregates(&pages))
}

/// The latest window of each entity.
pub fn latest_per_entity(items: &[Aggregate]) -> Vec<Aggregate> {
    let mut by: BTreeMap<&str, &Aggregate> = BTreeMap::new();
    for a in items {
        if by
            .get(a.entity.as_str())
            .is_none_or(|old| old.window < a.window)
        {
            by.insert(&a.entity, a);
        }
    }
    by.into_values().cloned().collect()
}

/// Alarm name → state.
pub async fn alarms(c: &Clients, names: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let out = c
        .cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(names.to_vec()))
        .send()
        .await
        .map_err(Error::aws("cloudwatch:DescribeAlarms"))?;
    Ok(out
        .metric_alarms()
        .iter()
        .map(|a| {
            (
                a.alarm_name().unwrap_or_default().to_owned(),
                a.state_value()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect())
}

pub use crate::esm::{Counters, Tally};
pub use crate::function_log::FunctionTotals;

/// Sums the "batch processed" lines of the function's logs in `logs` (retried batches are
/// summed each time they ran): the logs' own account, beside the mapping's [`Tally`].
pub fn function_totals(logs: &std::path::Path) -> FunctionTotals {
    crate::function_log::totals(&crate::tail::Tail::default().gained(logs).lines)
}

mod render;
pub use render::{
    AggregateView, DEFAULT_QUANTILES, quantile_label, render, render_problem, render_views,
};

/// An alarm's state, and why it cannot move here when nothing publishes its metric.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlarmView {
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_evaluated_locally: Option<String>,
}

/// A part of the report that could not be read this time, and why (its whole error
/// chain); the other parts are fresh.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unread {
    pub what: &'static str,
    pub error: String,
}

/// The parts of a report that failed so far.
#[derive(Debug, Default)]
pub struct Parts(pub Vec<Unread>);

impl Parts {
    /// The part `what` as read, or `None` with the failure kept.
    pub fn ok<T>(&mut self, what: &'static str, read: Result<T, Error>) -> Option<T> {
        read.map_err(|e| {
            self.0.push(Unread {
                what,
                error: crate::error::text(&e).replace('\n', " "),
            });
        })
        .ok()
    }
}

/// Everything `status` shows, as data (`--json` prints it as is).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub stack: String,
    pub endpoint: String,
    /// The local event source mapping's counters.
    pub mapping: Counters,
    /// The function's own summaries of the records in `mapping.records_done` (one moment
    /// with the counters).
    pub function: FunctionTotals,
    /// Given-up batches kept in the failed-batches bucket, waiting for `redrive` (`None`:
    /// unread, see `unread`).
    pub failed_batches_waiting: Option<usize>,
    pub failed_batches_bucket: String,
    /// Alarm name → state.
    pub alarms: BTreeMap<String, AlarmView>,
    /// `None`: the table could not be read (see `unread`).
    pub aggregates_in_table: Option<usize>,
    /// The latest window of each entity.
    pub latest: Vec<AggregateView>,
    /// What could not be read this time.
    pub unread: Vec<Unread>,
    /// The latest WARN or ERROR the function logged, with its error chain.
    pub last_problem: Option<crate::function_log::Problem>,
}

/// Reads the stack back, part by part: a part that fails is named in `unread` with its
/// cause, and the rest is still shown.
pub async fn report(c: &Clients, d: &Deployed, tally: Tally) -> Report {
    let mut parts = Parts::default();
    let kept = parts.ok(
        "the failed-batches bucket",
        crate::failure::list(c, &d.mapping.failure_bucket).await,
    );
    let table = d.output(stackgen::stack::outputs::METRICS_TABLE_NAME);
    let items = parts.ok("the metrics table", scan(c, table).await);
    let states = parts
        .ok("the alarms", alarms(c, &d.alarms).await)
        .unwrap_or_default();
    Report {
        stack: d.stack.clone(),
        endpoint: c.endpoint.clone().unwrap_or_else(|| "AWS".into()),
        mapping: tally.mapping,
        function: tally.function,
        failed_batches_waiting: kept.map(|k| k.len()),
        failed_batches_bucket: d.mapping.failure_bucket.clone(),
        alarms: states
            .into_iter()
            .map(|(name, state)| {
                let why = d.alarms_not_evaluated.get(&name).cloned();
                (
                    name,
                    AlarmView {
                        state,
                        not_evaluated_locally: why,
                    },
                )
            })
            .collect(),
        aggregates_in_table: items.as_ref().map(Vec::len),
        latest: items
            .as_deref()
            .map(latest_per_entity)
            .unwrap_or_default()
            .iter()
            .map(AggregateView::from)
            .collect(),
        unread: parts.0,
        last_problem: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_that_fails_is_named_with_its_cause_and_the_others_read() {
        let mut parts = Parts::default();
        assert_eq!(parts.ok("the alarms", Ok::<_, Error>(3)), Some(3));
        let failed: Result<u8, Error> = Err(Error::Usage("the table is gone\nreally".into()));
        assert_eq!(parts.ok("the metrics table", failed), None);
        assert_eq!(parts.0.len(), 1);
        assert_eq!(parts.0[0].what, "the metrics table");
        assert!(
            parts.0[0].error.contains("the table is gone really"),
            "{:?}",
            parts.0
        );
    }
}

//! Reading the stack back: aggregates per entity, alarm states, queue depth, mapping counters.

use std::collections::BTreeMap;
use std::fmt::Write;

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

fn pages_of(
    items: &[std::collections::HashMap<String, AttributeValue>],
) -> Result<Vec<Page>, Error> {
    items
        .iter()
        .map(|i| function::aws::page_of(i).map_err(Error::Item))
        .collect()
}

/// Every aggregate (a full scan: the local table is small).
pub async fn scan(c: &Clients, table: &str) -> Result<Vec<Aggregate>, Error> {
    let mut pages = Vec::new();
    let mut start = None;
    loop {
        let out = c
            .dynamodb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(Error::aws("dynamodb:Scan"))?;
        pages.extend(pages_of(out.items())?);
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(aggregates(&pages));
        }
    }
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

/// One line per aggregate: entity, window, count, then each metric's avg/min/max and events.
pub fn render_items(items: &[Aggregate]) -> String {
    let mut out = String::new();
    for a in items {
        let t = &a.totals;
        let _ = write!(out, "{:<14} {} count={:<5}", a.entity, a.window, t.count);
        for (m, s) in &t.metrics {
            let avg = s.sum.to_f64() / s.count.max(1) as f64;
            let _ = write!(out, " {m}: avg {avg:.2} min {} max {}", s.min, s.max);
        }
        for (e, n) in &t.events {
            let _ = write!(out, " {e}={n}");
        }
        if t.not_aggregated > 0 {
            let _ = write!(out, " not_aggregated={}", t.not_aggregated);
        }
        out.push('\n');
    }
    out
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

/// The mapping's counters as the running stack last wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub records_read: u64,
    pub records_done: u64,
    pub invocations: u64,
    pub function_errors: u64,
    pub partial_failures: u64,
    pub batches_failed: u64,
    pub records_expired: u64,
    pub iterator_age_ms: u64,
}

impl Counters {
    /// A snapshot of live stats.
    pub fn of(s: &crate::esm::Stats) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        Self {
            records_read: s.records_read.load(Relaxed),
            records_done: s.records_done.load(Relaxed),
            invocations: s.invocations.load(Relaxed),
            function_errors: s.function_errors.load(Relaxed),
            partial_failures: s.partial_failures.load(Relaxed),
            batches_failed: s.batches_failed.load(Relaxed),
            records_expired: s.records_expired.load(Relaxed),
            iterator_age_ms: s.iterator_age_ms.load(Relaxed),
        }
    }
}

/// The whole status screen.
pub async fn render(c: &Clients, d: &Deployed, counters: &Counters) -> Result<String, Error> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "stack {} ({})",
        d.stack,
        c.endpoint.as_deref().unwrap_or("AWS")
    );
    let _ = writeln!(
        out,
        "records in {}  out {}  invocations {}  errors {}  partial {}  failed batches {}  iterator age {} ms",
        counters.records_read,
        counters.records_done,
        counters.invocations,
        counters.function_errors,
        counters.partial_failures,
        counters.batches_failed,
        counters.iterator_age_ms
    );
    let kept = crate::failure::list(c, &d.mapping.failure_bucket).await?;
    let _ = writeln!(
        out,
        "failed batches waiting for redrive: {} (in s3://{}/{})",
        kept.len(),
        d.mapping.failure_bucket,
        crate::failure::PREFIX
    );
    for (name, state) in alarms(c, &d.alarms).await? {
        let _ = writeln!(out, "alarm {name:<55} {state}");
    }
    let items = scan(c, d.output("MetricsTableName")).await?;
    let latest = latest_per_entity(&items);
    let _ = writeln!(
        out,
        "latest window of each of {} entities ({} aggregates in the table):",
        latest.len(),
        items.len()
    );
    out.push_str(&render_items(&latest));
    Ok(out)
}

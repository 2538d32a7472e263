//! Reading the stack back: aggregates per entity, alarm states, queue depth, mapping counters.

use std::collections::{BTreeMap, HashMap};
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

/// The mapping's counters as the running stack last wrote them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub records_read: u64,
    pub records_done: u64,
    pub invocations: u64,
    pub function_errors: u64,
    pub partial_failures: u64,
    pub batches_failed: u64,
    pub records_expired: u64,
    pub iterator_age_ms: u64,
    /// Failed writes of given-up batches to the on-failure bucket (each retried).
    #[serde(default)]
    pub failure_writes_failed: u64,
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
            failure_writes_failed: s.failure_writes_failed.load(Relaxed),
        }
    }
}

/// What the function reported in its per-batch summary lines (this run's logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FunctionTotals {
    pub batches: u64,
    pub counted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub time_fallbacks: u64,
    pub id_fallbacks: u64,
}

/// Sums the "batch processed" lines of the function's logs in `logs` (retried batches are
/// summed each time they ran).
pub fn function_totals(logs: &std::path::Path) -> FunctionTotals {
    LogTally::default().update(logs)
}

/// [`function_totals`] kept up to date by reading only what the logs gained since the last
/// look (a live view reads them every few seconds for hours).
#[derive(Debug, Default)]
pub struct LogTally {
    tail: crate::tail::Tail,
    totals: FunctionTotals,
}

impl LogTally {
    /// Adds the lines written since the last call; returns the totals.
    pub fn update(&mut self, logs: &std::path::Path) -> FunctionTotals {
        let gained = self.tail.gained(logs);
        if gained.restarted {
            self.totals = FunctionTotals::default();
        }
        for line in &gained.lines {
            self.add(line);
        }
        self.totals
    }

    fn add(&mut self, line: &str) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            return;
        };
        if v["message"] != "batch processed" {
            return;
        }
        let n = |k: &str| v[k].as_u64().unwrap_or_default();
        let t = &mut self.totals;
        t.batches += 1;
        t.counted += n("counted");
        t.rejected += n("rejected");
        t.duplicates += n("duplicates");
        t.time_fallbacks += n("time_fallbacks");
        t.id_fallbacks += n("id_fallbacks");
    }
}

#[cfg(test)]
mod tally_tests {
    use super::*;

    #[test]
    fn only_new_complete_lines_are_added() {
        let dir = std::env::temp_dir().join(format!("tally-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("lane0.log");
        let line = |n: u64| {
            format!("{{\"message\":\"batch processed\",\"counted\":{n},\"rejected\":1}}\n")
        };
        std::fs::write(
            &file,
            format!(
                "{}{}not json\n{{\"message\":\"other\"}}\n",
                line(3),
                line(4)
            ),
        )
        .expect("write");
        let mut tally = LogTally::default();
        assert_eq!(tally.update(&dir).counted, 7);
        // A half-written line waits; once complete it counts once.
        let half = line(5);
        let (a, b) = half.split_at(10);
        std::fs::write(
            &file,
            format!(
                "{}{}not json\n{{\"message\":\"other\"}}\n{a}",
                line(3),
                line(4)
            ),
        )
        .expect("write");
        assert_eq!(tally.update(&dir).counted, 7);
        std::fs::write(
            &file,
            format!(
                "{}{}not json\n{{\"message\":\"other\"}}\n{a}{b}",
                line(3),
                line(4)
            ),
        )
        .expect("write");
        let t = tally.update(&dir);
        assert_eq!((t.counted, t.rejected, t.batches), (12, 3, 3));
        assert_eq!(function_totals(&dir), t);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// One aggregate as `status --json` and `query --json` print it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AggregateView {
    pub entity: String,
    pub window: String,
    pub count: u64,
    /// metric → count, sum, min, max, avg.
    pub metrics: BTreeMap<String, serde_json::Value>,
    pub events: BTreeMap<String, u64>,
    pub not_aggregated: u64,
}

/// The quantiles `status` and `query` show unless asked for others.
pub const DEFAULT_QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// A quantile's label: `p50`, `p99.9`.
pub fn quantile_label(q: f64) -> String {
    let percent = format!("{:.4}", q * 100.0);
    format!("p{}", percent.trim_end_matches('0').trim_end_matches('.'))
}

impl From<&Aggregate> for AggregateView {
    fn from(a: &Aggregate) -> Self {
        Self::with_quantiles(a, &DEFAULT_QUANTILES)
    }
}

impl AggregateView {
    /// The aggregate with each metric's `quantiles` (from its sketch, within the stack's
    /// relative accuracy; left out where a page has no sketch).
    pub fn with_quantiles(a: &Aggregate, quantiles: &[f64]) -> Self {
        let t = &a.totals;
        Self {
            entity: a.entity.clone(),
            window: a.window.clone(),
            count: t.count,
            metrics: t
                .metrics
                .iter()
                .map(|(m, s)| {
                    let sum = s.sum.to_f64();
                    let mut v = serde_json::json!({
                        "count": s.count,
                        "sum": sum,
                        "min": s.min.to_f64(),
                        "max": s.max.to_f64(),
                        "avg": sum / s.count.max(1) as f64,
                    });
                    let qs: serde_json::Map<String, serde_json::Value> = quantiles
                        .iter()
                        .filter_map(|q| Some((quantile_label(*q), t.quantile(m, *q)?.into())))
                        .collect();
                    if !qs.is_empty() {
                        v["quantiles"] = serde_json::Value::Object(qs);
                    }
                    (m.clone(), v)
                })
                .collect(),
            events: t.events.iter().map(|(e, n)| (e.clone(), *n)).collect(),
            not_aggregated: t.not_aggregated,
        }
    }
}

/// Everything `status` shows, as data (`--json` prints it as is).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub stack: String,
    pub endpoint: String,
    /// The local event source mapping's counters.
    pub mapping: Counters,
    /// The function's own per-batch summaries, added up.
    pub function: FunctionTotals,
    /// Given-up batches kept in the failed-batches bucket, waiting for `redrive`.
    pub failed_batches_waiting: usize,
    pub failed_batches_bucket: String,
    /// Alarm name → state.
    pub alarms: BTreeMap<String, String>,
    pub aggregates_in_table: usize,
    /// The latest window of each entity.
    pub latest: Vec<AggregateView>,
}

/// Reads the stack back.
pub async fn report(
    c: &Clients,
    d: &Deployed,
    mapping: Counters,
    function: FunctionTotals,
) -> Result<Report, Error> {
    let kept = crate::failure::list(c, &d.mapping.failure_bucket).await?;
    let items = scan(c, d.output(stackgen::stack::outputs::METRICS_TABLE_NAME)).await?;
    Ok(Report {
        stack: d.stack.clone(),
        endpoint: c.endpoint.clone().unwrap_or_else(|| "AWS".into()),
        mapping,
        function,
        failed_batches_waiting: kept.len(),
        failed_batches_bucket: d.mapping.failure_bucket.clone(),
        alarms: alarms(c, &d.alarms).await?,
        aggregates_in_table: items.len(),
        latest: latest_per_entity(&items)
            .iter()
            .map(AggregateView::from)
            .collect(),
    })
}

/// The status screen.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let m = &r.mapping;
    let f = &r.function;
    let _ = writeln!(out, "stack {} ({})", r.stack, r.endpoint);
    let _ = writeln!(
        out,
        "mapping   records read {}  done {}  invocations {}  function errors {}  \
         partial failures {} (batches where the function asked to retry some records)  \
         iterator age {} ms",
        m.records_read,
        m.records_done,
        m.invocations,
        m.function_errors,
        m.partial_failures,
        m.iterator_age_ms
    );
    let _ = writeln!(
        out,
        "function  counted {}  rejected {} (see `rejected`)  duplicates skipped {}  \
         time fallbacks {}  id fallbacks {}  over {} batches",
        f.counted, f.rejected, f.duplicates, f.time_fallbacks, f.id_fallbacks, f.batches
    );
    let _ = writeln!(
        out,
        "failed batches: {} given up this run, {} waiting for `redrive` in s3://{}/{}",
        m.batches_failed,
        r.failed_batches_waiting,
        r.failed_batches_bucket,
        crate::failure::PREFIX
    );
    for (name, state) in &r.alarms {
        let _ = writeln!(out, "alarm {name:<55} {state}");
    }
    let _ = writeln!(
        out,
        "latest window of each of {} entities ({} aggregates in the table):",
        r.latest.len(),
        r.aggregates_in_table
    );
    out.push_str(&render_views(&r.latest));
    out
}

/// A quantile estimate to 4 significant digits (its accuracy is 0.1-10 %).
fn round4(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(3 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// One line per aggregate: entity, window, count, then each metric's avg/min/max, its
/// quantiles, and events.
pub fn render_views(items: &[AggregateView]) -> String {
    let mut out = String::new();
    for a in items {
        let _ = write!(out, "{:<14} {} count={:<5}", a.entity, a.window, a.count);
        for (m, s) in &a.metrics {
            let f = |k: &str| s[k].as_f64().unwrap_or_default();
            let _ = write!(
                out,
                " {m}: avg {:.2} min {} max {}",
                f("avg"),
                f("min"),
                f("max")
            );
            if let Some(qs) = s.get("quantiles").and_then(|q| q.as_object()) {
                for (label, v) in qs {
                    let _ = write!(out, " {label} {}", round4(v.as_f64().unwrap_or_default()));
                }
            }
        }
        for (e, n) in &a.events {
            let _ = write!(out, " {e}={n}");
        }
        if a.not_aggregated > 0 {
            let _ = write!(out, " not_aggregated={}", a.not_aggregated);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod quantile_tests {
    use super::*;

    #[test]
    fn quantiles_are_labelled_and_rounded_for_reading() {
        let labels: Vec<String> = [0.5, 0.95, 0.99, 0.999, 0.0, 1.0, 0.125]
            .into_iter()
            .map(quantile_label)
            .collect();
        assert_eq!(
            labels,
            ["p50", "p95", "p99", "p99.9", "p0", "p100", "p12.5"]
        );
        assert_eq!(round4(25.043_21), 25.04);
        assert_eq!(round4(-0.000_123_456), -0.000_123_5);
        assert_eq!(round4(0.0), 0.0);
    }
}

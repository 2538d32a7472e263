//! How `status`, `watch` (without a terminal) and `query` print the stack: one aggregate
//! as a view (with its quantiles), the status screen, the aggregate lines.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Aggregate, Report};

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

/// The status screen.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let m = &r.mapping;
    let f = &r.function;
    let _ = writeln!(out, "stack {} ({})", r.stack, r.endpoint);
    for u in &r.unread {
        let _ = writeln!(out, "UNREAD {}: {}", u.what, u.error);
    }
    let _ = writeln!(
        out,
        "mapping   records read {}  done {} (given up {})  not yet done {}  invocations {}  \
         function errors {}  partial failures {} (batches where the function asked to retry \
         some records)  iterator age {} ms",
        m.records_read,
        m.records_done,
        m.records_given_up,
        m.records_read.saturating_sub(m.records_done),
        m.invocations,
        m.function_errors,
        m.partial_failures,
        m.iterator_age_ms
    );
    let _ = writeln!(
        out,
        "function  of the records done: counted {}  rejected {} (see `rejected`)  \
         duplicates skipped {}  time fallbacks {}  id fallbacks {}  over {} batches",
        f.counted, f.rejected, f.duplicates, f.time_fallbacks, f.id_fallbacks, f.batches
    );
    let waiting = r
        .failed_batches_waiting
        .map_or_else(|| "?".to_owned(), |n| n.to_string());
    let _ = writeln!(
        out,
        "failed batches: {} given up this run, {waiting} waiting for `redrive` in s3://{}/{}",
        m.batches_failed,
        r.failed_batches_bucket,
        crate::failure::PREFIX
    );
    for (name, a) in &r.alarms {
        match &a.not_evaluated_locally {
            Some(why) => {
                let _ = writeln!(out, "alarm {name:<55} not evaluated locally ({why})");
            }
            None => {
                let _ = writeln!(out, "alarm {name:<55} {}", a.state);
            }
        }
    }
    if let Some(p) = &r.last_problem {
        let _ = writeln!(out, "{}", render_problem(p));
    }
    match r.aggregates_in_table {
        Some(n) => {
            let _ = writeln!(
                out,
                "latest window of each of {} entities ({n} aggregates in the table):",
                r.latest.len(),
            );
        }
        None => out.push_str("the metrics table could not be read (see UNREAD above)\n"),
    }
    out.push_str(&render_views(&r.latest));
    out
}

/// The latest problem the function logged, as `status` prints it.
pub fn render_problem(p: &crate::function_log::Problem) -> String {
    format!(
        "latest problem the function logged ({}): {}",
        p.time, p.what
    )
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

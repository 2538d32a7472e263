//! Reading: the pages of an (entity, window) merged into the aggregate a user asks for.

use std::collections::BTreeMap;

use super::page::{Page, Stat};

/// One (entity, window) aggregate, all pages merged (marks and versions left out).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Totals {
    pub count: u64,
    pub log_lines: u64,
    pub first_event_ms: i64,
    pub last_event_ms: i64,
    pub metrics: BTreeMap<String, Stat>,
    pub events: BTreeMap<String, u64>,
    pub not_aggregated: u64,
    /// Pages the aggregate spans.
    pub pages: u32,
}

impl Totals {
    /// The `q`-quantile of metric `name`, clamped to its exact min and max; `None` without
    /// a sketch on every page.
    pub fn quantile(&self, name: &str, q: f64) -> Option<f64> {
        let s = self.metrics.get(name)?;
        let v = s.sketch.as_ref()?.quantile(q)?;
        Some(v.clamp(s.min.to_f64(), s.max.to_f64()))
    }

    /// Adds one page.
    pub fn merge(&mut self, p: &Page) {
        self.pages += 1;
        if p.count > 0 {
            if self.count == 0 {
                self.first_event_ms = p.first_event_ms;
                self.last_event_ms = p.last_event_ms;
            }
            self.first_event_ms = self.first_event_ms.min(p.first_event_ms);
            self.last_event_ms = self.last_event_ms.max(p.last_event_ms);
        }
        self.count += p.count;
        self.log_lines += p.log_lines;
        self.not_aggregated += p.not_aggregated;
        for (name, s) in &p.metrics {
            self.metrics
                .entry(name.clone())
                .and_modify(|t| {
                    t.count += s.count;
                    t.sum = super::Dec(t.sum.0 + s.sum.0);
                    t.min = t.min.min(s.min);
                    t.max = t.max.max(s.max);
                    // Quantiles only where every page has a sketch: one without would
                    // leave its values out.
                    match (&mut t.sketch, &s.sketch) {
                        (Some(a), Some(b)) => a.merge(b),
                        (a, _) => *a = None,
                    }
                })
                .or_insert_with(|| s.clone());
        }
        for (e, n) in &p.events {
            *self.events.entry(e.clone()).or_default() += n;
        }
    }
}

/// Merges pages into aggregates keyed by (entity, window label).
pub fn totals<'p>(pages: impl IntoIterator<Item = &'p Page>) -> BTreeMap<(String, String), Totals> {
    let mut out: BTreeMap<(String, String), Totals> = BTreeMap::new();
    for p in pages {
        out.entry((p.entity.clone(), p.window.clone()))
            .or_default()
            .merge(p);
    }
    out
}

//! One page of an (entity, window) aggregate: its partial aggregate, the marks of the
//! (shard, partition key) domains assigned to it, and its item form.
//!
//! Numbers are exact: metric values are fixed-point [`Dec`]s (nanounits), so sums written
//! as DynamoDB Numbers never need more than 38 significant digits, and a sum that would is
//! not added but counted in `not_aggregated` (the record itself is in the archive).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat};

use crate::extract::Observation;
use crate::position::Position;
use crate::sketch::{Accuracy, Sketch};

/// Attribute names of a page item.
pub mod attr {
    /// Table partition key: the entity.
    pub const PARTITION_KEY: &str = "partition_key";
    /// Table sort key: the window label, plus `#<page>` for pages after the first.
    pub const SORT_KEY: &str = "timestamp";
    /// TTL attribute: the later of window end and latest arrival, + `metricsTtlDays`, epoch
    /// seconds.
    pub const TTL: &str = "ttl";
    /// Window start label (`YYYY-MM-DDTHH:MM:SSZ`), the same on every page.
    pub const WINDOW: &str = "window";
    pub const PAGE: &str = "page";
    pub const WINDOW_SECONDS: &str = "window_seconds";
    pub const COUNT: &str = "count";
    pub const LOG_LINES: &str = "log_lines";
    pub const FIRST_EVENT: &str = "first_event";
    pub const LAST_EVENT: &str = "last_event";
    /// Map: metric name → {count, sum, min, max}.
    pub const METRICS: &str = "metrics";
    /// Map: event value → count.
    pub const EVENTS: &str = "events";
    /// Map: shard id → {Kinesis partition key → position ([`crate::position::Position::to_bytes`], binary;
    /// `<sequence>:<sub>` text as earlier versions wrote it is still read)}.
    pub const MARKS: &str = "marks";
    /// Metric or event observations not aggregated (caps, 38-digit overflow).
    pub const NOT_AGGREGATED: &str = "not_aggregated";
    /// Map: archive hour (`YYYY-MM-DDTHH`, arrival time) → records counted from it; tells
    /// a recompute which archive partitions hold this page's records.
    pub const ARRIVALS: &str = "arrivals";
    /// Set once the page takes no new marks.
    pub const FULL: &str = "full";
    /// Incremented by every write; writes are conditioned on it.
    pub const VERSION: &str = "version";
}

/// Most distinct metric names one page aggregates.
pub const MAX_METRICS_PER_PAGE: usize = 400;
/// Most distinct event values one page counts.
pub const MAX_EVENTS_PER_PAGE: usize = 200;
/// Longest metric name or event value aggregated, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// A page takes new marks while its marks use fewer bytes than this.
pub const MARKS_BUDGET_BYTES: usize = 8 * 1024;

/// Nanounits per unit.
const SCALE: i128 = 1_000_000_000;
/// Largest magnitude in nanounits with at most 38 significant digits.
const MAX_UNITS: i128 = 10i128.pow(38) - 1;

/// A fixed-point decimal with nine fractional digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dec(pub i128);

impl Dec {
    /// The nearest value to `v` (callers bound |v| ≤ 1e15).
    pub fn from_f64(v: f64) -> Self {
        Dec((v * SCALE as f64).round() as i128)
    }

    /// `self + o`, or `None` past 38 significant digits.
    pub fn checked_add(self, o: Dec) -> Option<Dec> {
        self.0
            .checked_add(o.0)
            .filter(|s| s.abs() <= MAX_UNITS)
            .map(Dec)
    }

    /// As a float (for display and averages).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    /// Parses decimal text (optionally with an exponent), as DynamoDB returns Numbers.
    pub fn parse(text: &str) -> Option<Dec> {
        let (neg, t) = match text.strip_prefix('-') {
            Some(t) => (true, t),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exp) = t.split_once(['e', 'E']).unwrap_or((t, "0"));
        let exp: i32 = exp.parse().ok()?;
        let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        let mut units: i128 = 0;
        for c in whole.chars().chain(frac.chars()) {
            let d = c.to_digit(10)?;
            units = units.checked_mul(10)?.checked_add(i128::from(d))?;
        }
        let shift = exp + 9 - frac.len() as i32;
        if shift >= 0 {
            units = units.checked_mul(10i128.checked_pow(shift as u32)?)?;
        } else {
            units /= 10i128.checked_pow(shift.unsigned_abs())?;
        }
        Some(Dec(if neg { -units } else { units }))
    }
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let (int, frac) = (a / SCALE as u128, a % SCALE as u128);
        if frac == 0 {
            write!(f, "{sign}{int}")
        } else {
            let digits = format!("{frac:09}");
            write!(f, "{sign}{int}.{}", digits.trim_end_matches('0'))
        }
    }
}

/// One metric's values in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub count: u64,
    pub sum: Dec,
    pub min: Dec,
    pub max: Dec,
    /// Its values' quantile sketch (`None`: sketches off, or a page written before they
    /// were on; every value the count counts is in it otherwise).
    pub sketch: Option<Sketch>,
}

impl Stat {
    /// A metric's first value.
    pub fn of(v: Dec, quantiles: Option<Accuracy>) -> Self {
        let sketch = quantiles.map(|a| {
            let mut sk = Sketch::new(a);
            sk.add(v.to_f64());
            sk
        });
        Self {
            count: 1,
            sum: v,
            min: v,
            max: v,
            sketch,
        }
    }
}

/// Buckets all of a page's sketches may hold together: each of its m metrics' sketches
/// keeps at most [`sketch_cap`]`(m)`, so at most this many in all.
pub const PAGE_SKETCH_BUCKETS: usize = 8_192;

/// Most buckets each sketch of a page with `metrics` metrics keeps.
pub fn sketch_cap(metrics: usize) -> usize {
    (PAGE_SKETCH_BUCKETS / metrics.max(1)).min(crate::sketch::MAX_BUCKETS)
}

fn shrink(sketch: &mut Sketch, cap: usize) {
    while sketch.buckets() > cap && sketch.collapse_lowest() {}
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SSZ` (window labels).
pub fn window_label(ms: i64) -> String {
    iso(ms, SecondsFormat::Secs)
}

/// Formats epoch milliseconds as RFC 3339 with milliseconds (event times, archive lines).
pub fn iso_millis(ms: i64) -> String {
    iso(ms, SecondsFormat::Millis)
}

fn iso(ms: i64, format: SecondsFormat) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(format, true))
        .unwrap_or_else(|| ms.to_string())
}

/// The sort key of page `index` of a window.
pub fn sort_key(window_label: &str, index: u32) -> String {
    if index == 0 {
        window_label.to_owned()
    } else {
        format!("{window_label}#{index}")
    }
}

/// The upper bound of a sort-key range that ends with window `window_label`, all its pages
/// included: pages after the first sort as `<window>#<n>`, and `$` sorts after `#`.
pub fn last_sort_key(window_label: &str) -> String {
    format!("{window_label}$")
}

/// One page of an (entity, window) aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub entity: String,
    pub window: String,
    pub index: u32,
    pub version: u64,
    pub window_seconds: u32,
    pub ttl: i64,
    pub count: u64,
    pub log_lines: u64,
    /// Earliest and latest event time (ms), meaningful when `count > 0`.
    pub first_event_ms: i64,
    pub last_event_ms: i64,
    pub metrics: BTreeMap<String, Stat>,
    pub events: BTreeMap<String, u64>,
    /// shard id → Kinesis partition key → last counted position.
    pub marks: BTreeMap<String, BTreeMap<String, Position>>,
    pub not_aggregated: u64,
    /// Archive hour (`YYYY-MM-DDTHH`) → records of this page that arrived in it.
    pub arrivals: BTreeMap<String, u64>,
    pub full: bool,
}

/// The archive hour of an arrival time, `YYYY-MM-DDTHH` (the key of [`Page::arrivals`]).
pub fn arrival_hour(ms: i64) -> String {
    let label = window_label(ms);
    label.get(..13).unwrap_or(&label).to_owned()
}

impl Page {
    /// An empty page.
    pub fn new(entity: &str, window: &str, index: u32) -> Self {
        Self {
            entity: entity.to_owned(),
            window: window.to_owned(),
            index,
            ..Self::default()
        }
    }

    /// This page's sort key.
    pub fn sort_key(&self) -> String {
        sort_key(&self.window, self.index)
    }

    /// The last counted position of a domain, if this page holds its mark.
    pub fn mark(&self, shard: &str, key: &str) -> Option<&Position> {
        self.marks.get(shard)?.get(key)
    }

    /// Moves a domain's mark up to `pos` (creating it there); never moves it back.
    pub fn advance_mark(&mut self, shard: &str, key: &str, pos: &Position) {
        let mark = self
            .marks
            .entry(shard.to_owned())
            .or_default()
            .entry(key.to_owned())
            .or_insert_with(|| pos.clone());
        if *mark < *pos {
            *mark = pos.clone();
        }
    }

    /// Bytes the marks map may take in the item (DynamoDB accounting, positions at their
    /// longest).
    pub fn marks_bytes(&self) -> usize {
        3 + self
            .marks
            .iter()
            .map(|(s, keys)| 1 + s.len() + 3 + keys.keys().map(|k| mark_bytes(k)).sum::<usize>())
            .sum::<usize>()
    }

    /// Notes that a counted record arrived at `ms`.
    pub fn arrived(&mut self, ms: i64) {
        *self.arrivals.entry(arrival_hour(ms)).or_default() += 1;
    }

    /// Adds one observation (with `quantiles`, each metric value to its sketch too);
    /// metrics and events past the caps, and empty or over-long names and event values, are
    /// counted in `not_aggregated`, not kept.
    pub fn add(&mut self, o: &Observation<'_>, quantiles: Option<Accuracy>) {
        if self.count == 0 {
            self.first_event_ms = o.event_time_ms;
            self.last_event_ms = o.event_time_ms;
        }
        self.count += 1;
        self.log_lines += u64::from(o.log_line);
        self.first_event_ms = self.first_event_ms.min(o.event_time_ms);
        self.last_event_ms = self.last_event_ms.max(o.event_time_ms);
        for (name, v) in &o.metrics {
            if !self.add_metric(name, Dec::from_f64(*v), quantiles) {
                self.not_aggregated += 1;
            }
        }
        for e in &o.events {
            // An empty value cannot be a map key (DynamoDB: "Empty attribute name"), as an
            // empty metric name cannot: the record is counted, the value is not.
            let known = self.events.contains_key(e.as_ref());
            let fits = !e.is_empty() && e.len() <= MAX_NAME_BYTES;
            if known || (fits && self.events.len() < MAX_EVENTS_PER_PAGE) {
                *self.events.entry(e.to_string()).or_default() += 1;
            } else {
                self.not_aggregated += 1;
            }
        }
    }

    fn add_metric(&mut self, name: &str, v: Dec, quantiles: Option<Accuracy>) -> bool {
        let room = self.metrics.len() < MAX_METRICS_PER_PAGE;
        let cap = sketch_cap(self.metrics.len());
        match self.metrics.get_mut(name) {
            Some(s) => match s.sum.checked_add(v) {
                Some(sum) => {
                    s.count += 1;
                    s.sum = sum;
                    s.min = s.min.min(v);
                    s.max = s.max.max(v);
                    match (quantiles, &mut s.sketch) {
                        (Some(_), Some(sk)) => {
                            sk.add(v.to_f64());
                            shrink(sk, cap);
                        }
                        // Sketches turned off: one that stops counting would mislead.
                        (None, sk) => *sk = None,
                        // Begun before sketches were on: it would miss earlier values.
                        (Some(_), None) => {}
                    }
                    true
                }
                None => false,
            },
            None if room && !name.is_empty() && name.len() <= MAX_NAME_BYTES => {
                self.metrics.insert(name.to_owned(), Stat::of(v, quantiles));
                // One more metric: every sketch fits the smaller share.
                let cap = sketch_cap(self.metrics.len());
                for sk in self.metrics.values_mut().filter_map(|s| s.sketch.as_mut()) {
                    shrink(sk, cap);
                }
                true
            }
            None => false,
        }
    }
}

/// Longest position as a mark stores it ([`Position::to_bytes`]).
pub const MAX_POSITION_BYTES: usize = crate::position::MAX_POSITION_BINARY_BYTES;

/// Bytes one mark may take in the marks map, counted at the longest position it can ever
/// grow to, so a page's marks never outgrow the budget after it took them.
pub fn mark_bytes(key: &str) -> usize {
    1 + key.len() + MAX_POSITION_BYTES
}

//! Aggregation per (entity, event-time window): counts, per-metric count/sum/min/max,
//! event-type counts, first/last event time. Merge is associative and commutative.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::extract::Observation;

/// Identifies one metrics item: entity and window start (epoch ms).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WindowKey {
    pub entity: String,
    pub window_start_ms: i64,
}

/// Summary of one metric's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    fn of(v: f64) -> Self {
        Self {
            count: 1,
            sum: v,
            min: v,
            max: v,
        }
    }

    fn merge(&mut self, o: &Stat) {
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }
}

/// A small map kept sorted by key: a few entries per aggregate, so one small allocation
/// instead of a B-tree node (most records start a new aggregate; see BENCHMARKS.md).
#[derive(Debug, Clone, PartialEq)]
pub struct SmallMap<V>(Vec<(String, V)>);

impl<V> Default for SmallMap<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> SmallMap<V> {
    /// The value of `key`, inserted with `make` when absent.
    pub fn entry(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (key.to_owned(), make()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The aggregate of one (entity, window).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowAgg {
    pub count: u64,
    pub log_lines: u64,
    pub first_event_ms: i64,
    pub last_event_ms: i64,
    pub metrics: SmallMap<Stat>,
    pub events: SmallMap<u64>,
}

impl WindowAgg {
    /// The aggregate of a single observation.
    pub fn of(o: &Observation<'_>) -> Self {
        let mut a = Self {
            count: 0,
            log_lines: 0,
            first_event_ms: o.event_time_ms,
            last_event_ms: o.event_time_ms,
            metrics: SmallMap::default(),
            events: SmallMap::default(),
        };
        a.add(o);
        a
    }

    /// Adds one observation.
    pub fn add(&mut self, o: &Observation<'_>) {
        if self.count == 0 {
            self.first_event_ms = o.event_time_ms;
            self.last_event_ms = o.event_time_ms;
        }
        self.count += 1;
        self.log_lines += u64::from(o.log_line);
        self.first_event_ms = self.first_event_ms.min(o.event_time_ms);
        self.last_event_ms = self.last_event_ms.max(o.event_time_ms);
        for (name, v) in &o.metrics {
            let mut fresh = false;
            let s = self.metrics.entry(name, || {
                fresh = true;
                Stat::of(*v)
            });
            if !fresh {
                s.merge(&Stat::of(*v));
            }
        }
        for e in &o.events {
            *self.events.entry(e, || 0) += 1;
        }
    }

    /// Merges another aggregate of the same key into this one.
    pub fn merge(&mut self, o: &WindowAgg) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = o.clone();
            return;
        }
        self.count += o.count;
        self.log_lines += o.log_lines;
        self.first_event_ms = self.first_event_ms.min(o.first_event_ms);
        self.last_event_ms = self.last_event_ms.max(o.last_event_ms);
        for (k, s) in o.metrics.iter() {
            let mut fresh = false;
            let m = self.metrics.entry(k, || {
                fresh = true;
                *s
            });
            if !fresh {
                m.merge(s);
            }
        }
        for (k, n) in o.events.iter() {
            *self.events.entry(k, || 0) += n;
        }
    }
}

/// Start of the window holding `t_ms` (floor, also for times before 1970).
pub fn window_start(t_ms: i64, window_secs: u32) -> i64 {
    let w = i64::from(window_secs.max(1)) * 1000;
    t_ms.div_euclid(w) * w
}

/// The window key of an observation.
pub fn key_of(o: &Observation<'_>, window_secs: u32) -> WindowKey {
    WindowKey {
        entity: o.entity.to_string(),
        window_start_ms: window_start(o.event_time_ms, window_secs),
    }
}

/// Aggregates observations by (entity, window).
pub fn aggregate<'o, 'a: 'o>(
    obs: impl IntoIterator<Item = &'o Observation<'a>>,
    window_secs: u32,
) -> BTreeMap<WindowKey, WindowAgg> {
    // Keyed by the borrowed entity while counting: no allocation per record.
    let obs = obs.into_iter();
    let mut by_key: FxHashMap<(&'o str, i64), WindowAgg> =
        FxHashMap::with_capacity_and_hasher(obs.size_hint().0, Default::default());
    for o in obs {
        let key = (
            o.entity.as_ref(),
            window_start(o.event_time_ms, window_secs),
        );
        by_key.entry(key).or_default().add(o);
    }
    by_key
        .into_iter()
        .map(|((entity, window_start_ms), agg)| {
            let key = WindowKey {
                entity: entity.to_owned(),
                window_start_ms,
            };
            (key, agg)
        })
        .collect()
}

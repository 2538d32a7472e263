//! Aggregation per (entity, event-time window): counts, per-metric count/sum/min/max,
//! event-type counts, first/last event time. Merge is associative and commutative.

use std::collections::{BTreeMap, HashMap};

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

/// The aggregate of one (entity, window).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowAgg {
    pub count: u64,
    pub log_lines: u64,
    pub first_event_ms: i64,
    pub last_event_ms: i64,
    pub metrics: BTreeMap<String, Stat>,
    pub events: BTreeMap<String, u64>,
}

impl WindowAgg {
    /// The aggregate of a single observation.
    pub fn of(o: &Observation<'_>) -> Self {
        let mut a = Self {
            count: 0,
            log_lines: 0,
            first_event_ms: o.event_time_ms,
            last_event_ms: o.event_time_ms,
            metrics: BTreeMap::new(),
            events: BTreeMap::new(),
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
            match self.metrics.get_mut(name.as_ref()) {
                Some(s) => s.merge(&Stat::of(*v)),
                None => {
                    self.metrics.insert(name.to_string(), Stat::of(*v));
                }
            }
        }
        for e in &o.events {
            match self.events.get_mut(e.as_ref()) {
                Some(n) => *n += 1,
                None => {
                    self.events.insert(e.to_string(), 1);
                }
            }
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
        for (k, s) in &o.metrics {
            self.metrics
                .entry(k.clone())
                .and_modify(|m| m.merge(s))
                .or_insert(*s);
        }
        for (k, n) in &o.events {
            *self.events.entry(k.clone()).or_insert(0) += n;
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
    let mut by_key: HashMap<(&'o str, i64), WindowAgg> = HashMap::new();
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

//! Metrics items and their exactly-once conditional updates (pure), plus the store trait.
//!
//! Item layout (one item per entity and window; see ARCHITECTURE.md):
//! `partition_key` (entity), `timestamp` (window start, `YYYY-MM-DDTHH:MM:SSZ`), `ttl`,
//! `window_seconds`, `count`, `log_lines`, `first_event`, `last_event`,
//! `metric.<name>.{count,sum,min,max}`, `event.<value>`, and one high-water mark
//! `hwm.<shardId>.<partitionKey>` = `<sequence>:<sub>` per (shard, Kinesis partition key)
//! that ever contributed.
//!
//! Exactly-once: a contribution only includes records past the item's marks for their
//! (shard, key), and the update that adds it also moves those marks, conditioned on the
//! marks (and any min/max/first/last it lowers or raises) still holding the values the plan
//! was computed from. Counts and sums use `ADD`, which commutes with concurrent writers of
//! other shards. A failed condition returns the current item (`ALL_OLD`) and the plan is
//! recomputed from it.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::aggregate::{WindowAgg, WindowKey};
use crate::extract::Observation;
use crate::position::Position;

/// Attribute names of a metrics item.
pub mod attr {
    pub const PARTITION_KEY: &str = "partition_key";
    pub const WINDOW: &str = "timestamp";
    pub const TTL: &str = "ttl";
    pub const WINDOW_SECONDS: &str = "window_seconds";
    pub const COUNT: &str = "count";
    pub const LOG_LINES: &str = "log_lines";
    pub const FIRST_EVENT: &str = "first_event";
    pub const LAST_EVENT: &str = "last_event";
    pub const METRIC_PREFIX: &str = "metric.";
    pub const EVENT_PREFIX: &str = "event.";
    pub const HWM_PREFIX: &str = "hwm.";

    /// `metric.<name>.<part>` with part one of count, sum, min, max.
    pub fn metric(name: &str, part: &str) -> String {
        format!("{METRIC_PREFIX}{name}.{part}")
    }

    /// `event.<value>`.
    pub fn event(value: &str) -> String {
        format!("{EVENT_PREFIX}{value}")
    }

    /// `hwm.<shardId>.<partitionKey>`.
    pub fn hwm(mark: &str) -> String {
        format!("{HWM_PREFIX}{mark}")
    }
}

/// An attribute value as the function reads and writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Val {
    Int(i64),
    Float(f64),
    Str(String),
}

impl Val {
    fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            Val::Str(_) => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// What the function knows of an item (from a previous write's `ALL_NEW` or a failed
/// condition's `ALL_OLD`); `None` attributes means "believed absent".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemState {
    pub attrs: Option<BTreeMap<String, Val>>,
}

impl ItemState {
    /// The state of an item believed not to exist.
    pub fn absent() -> Self {
        Self { attrs: None }
    }

    fn get(&self, name: &str) -> Option<&Val> {
        self.attrs.as_ref()?.get(name)
    }

    /// The high-water mark for `mark` (`<shard>.<partitionKey>`), if any.
    pub fn hwm(&self, mark: &str) -> Option<Position> {
        self.get(&attr::hwm(mark))
            .and_then(Val::as_str)
            .and_then(Position::parse)
    }
}

/// One condition of an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The item exists (true) or does not (false).
    ItemExists(bool),
    /// The attribute holds exactly this value.
    Equals(String, Val),
    /// The attribute is absent.
    Absent(String),
}

/// A conditional update of one metrics item.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub partition_key: String,
    pub window: String,
    pub conditions: Vec<Cond>,
    pub set: Vec<(String, Val)>,
    pub add: Vec<(String, Val)>,
}

/// The DynamoDB expression form of an [`Update`].
#[derive(Debug, Clone, PartialEq)]
pub struct Expressions {
    pub update: String,
    pub condition: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, Val)>,
}

impl Update {
    /// Renders the update as `UpdateExpression`, `ConditionExpression` and placeholders.
    pub fn expressions(&self) -> Expressions {
        let mut names: Vec<(String, String)> = Vec::new();
        let mut values: Vec<(String, Val)> = Vec::new();
        let mut name = |n: &str| -> String {
            let p = format!("#n{}", names.len());
            names.push((p.clone(), n.to_owned()));
            p
        };
        let mut value = |v: &Val| -> String {
            let p = format!(":v{}", values.len());
            values.push((p.clone(), v.clone()));
            p
        };
        let conditions: Vec<String> = self
            .conditions
            .iter()
            .map(|c| match c {
                Cond::ItemExists(true) => {
                    format!("attribute_exists({})", name(attr::PARTITION_KEY))
                }
                Cond::ItemExists(false) => {
                    format!("attribute_not_exists({})", name(attr::PARTITION_KEY))
                }
                Cond::Equals(a, v) => format!("{} = {}", name(a), value(v)),
                Cond::Absent(a) => format!("attribute_not_exists({})", name(a)),
            })
            .collect();
        let sets: Vec<String> = self
            .set
            .iter()
            .map(|(a, v)| format!("{} = {}", name(a), value(v)))
            .collect();
        let adds: Vec<String> = self
            .add
            .iter()
            .map(|(a, v)| format!("{} {}", name(a), value(v)))
            .collect();
        let mut update = String::new();
        if !sets.is_empty() {
            update.push_str("SET ");
            update.push_str(&sets.join(", "));
        }
        if !adds.is_empty() {
            if !update.is_empty() {
                update.push(' ');
            }
            update.push_str("ADD ");
            update.push_str(&adds.join(", "));
        }
        Expressions {
            update,
            condition: conditions.join(" AND "),
            names,
            values,
        }
    }
}

/// One observation with its place in the shard.
#[derive(Debug, Clone, PartialEq)]
pub struct Marked<'a> {
    /// `<shardId>.<Kinesis partition key>`: the ordering domain of the record.
    pub mark: String,
    pub pos: Position,
    pub obs: Observation<'a>,
}

/// The outcome of planning an item's update.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `None` when every record was already counted.
    pub update: Option<Update>,
    /// Records skipped because the item's marks show them counted.
    pub duplicates: u64,
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SSZ` (window keys).
pub fn window_label(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

fn event_label(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Plans the update that adds `records` (all of one item) to an item in `state`.
pub fn plan(
    key: &WindowKey,
    state: &ItemState,
    records: &[&Marked<'_>],
    window_secs: u32,
    ttl_days: u32,
) -> Plan {
    let mut agg = WindowAgg::default();
    let mut marks: BTreeMap<&str, &Position> = BTreeMap::new();
    let mut duplicates = 0;
    for m in records {
        let seen = state.hwm(&m.mark);
        if seen.as_ref().is_some_and(|s| &m.pos <= s) {
            duplicates += 1;
            continue;
        }
        agg.add(&m.obs);
        let e = marks.entry(&m.mark).or_insert(&m.pos);
        if *e < &m.pos {
            *e = &m.pos;
        }
    }
    if agg.count == 0 {
        return Plan {
            update: None,
            duplicates,
        };
    }
    let mut u = Update {
        partition_key: key.entity.clone(),
        window: window_label(key.window_start_ms),
        conditions: vec![Cond::ItemExists(state.attrs.is_some())],
        set: Vec::new(),
        add: Vec::new(),
    };
    // Guarded SET: the condition pins the value the plan saw.
    let guarded = |u: &mut Update, name: String, new: Val| {
        match state.get(&name) {
            Some(old) => u.conditions.push(Cond::Equals(name.clone(), old.clone())),
            None => u.conditions.push(Cond::Absent(name.clone())),
        }
        u.set.push((name, new));
    };
    for (mark, pos) in marks {
        guarded(&mut u, attr::hwm(mark), Val::Str(pos.to_string()));
    }
    let first = event_label(agg.first_event_ms);
    if state
        .get(attr::FIRST_EVENT)
        .and_then(Val::as_str)
        .is_none_or(|old| first.as_str() < old)
    {
        guarded(&mut u, attr::FIRST_EVENT.into(), Val::Str(first));
    }
    let last = event_label(agg.last_event_ms);
    if state
        .get(attr::LAST_EVENT)
        .and_then(Val::as_str)
        .is_none_or(|old| last.as_str() > old)
    {
        guarded(&mut u, attr::LAST_EVENT.into(), Val::Str(last));
    }
    for (name, s) in agg.metrics.iter() {
        let (min_a, max_a) = (attr::metric(name, "min"), attr::metric(name, "max"));
        if state
            .get(&min_a)
            .and_then(Val::as_f64)
            .is_none_or(|old| s.min < old)
        {
            guarded(&mut u, min_a, Val::Float(s.min));
        }
        if state
            .get(&max_a)
            .and_then(Val::as_f64)
            .is_none_or(|old| s.max > old)
        {
            guarded(&mut u, max_a, Val::Float(s.max));
        }
        u.add
            .push((attr::metric(name, "count"), Val::Int(s.count as i64)));
        u.add.push((attr::metric(name, "sum"), Val::Float(s.sum)));
    }
    for (event, n) in agg.events.iter() {
        u.add.push((attr::event(event), Val::Int(*n as i64)));
    }
    u.add.push((attr::COUNT.into(), Val::Int(agg.count as i64)));
    if agg.log_lines > 0 {
        u.add
            .push((attr::LOG_LINES.into(), Val::Int(agg.log_lines as i64)));
    }
    let window_end_s = key.window_start_ms.div_euclid(1000) + i64::from(window_secs);
    u.set.push((
        attr::TTL.into(),
        Val::Int(window_end_s + i64::from(ttl_days) * 86_400),
    ));
    u.set.push((
        attr::WINDOW_SECONDS.into(),
        Val::Int(i64::from(window_secs)),
    ));
    Plan {
        update: Some(u),
        duplicates,
    }
}

/// The result of sending an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Applied; the item as it is now.
    Applied(ItemState),
    /// A condition failed; the item as it is now.
    Conflict(ItemState),
}

/// The metrics table, as the function uses it: conditional updates only.
pub trait MetricsStore: Sync {
    /// Sends one conditional update.
    fn update(&self, u: &Update) -> impl Future<Output = Result<Outcome, Error>> + Send;
}

/// Applies an update to an in-memory item with DynamoDB's semantics (conditions, SET, ADD).
pub fn apply(item: &mut Option<BTreeMap<String, Val>>, u: &Update) -> bool {
    let holds = u.conditions.iter().all(|c| match c {
        Cond::ItemExists(e) => item.is_some() == *e,
        Cond::Equals(a, v) => item.as_ref().and_then(|i| i.get(a)) == Some(v),
        Cond::Absent(a) => item.as_ref().and_then(|i| i.get(a)).is_none(),
    });
    if !holds {
        return false;
    }
    let attrs = item.get_or_insert_with(|| {
        BTreeMap::from([
            (
                attr::PARTITION_KEY.to_owned(),
                Val::Str(u.partition_key.clone()),
            ),
            (attr::WINDOW.to_owned(), Val::Str(u.window.clone())),
        ])
    });
    for (a, v) in &u.set {
        attrs.insert(a.clone(), v.clone());
    }
    for (a, v) in &u.add {
        let sum = match (attrs.get(a), v) {
            (Some(Val::Int(x)), Val::Int(y)) => Val::Int(x + y),
            (Some(old), new) => {
                Val::Float(old.as_f64().unwrap_or(0.0) + new.as_f64().unwrap_or(0.0))
            }
            (None, new) => new.clone(),
        };
        attrs.insert(a.clone(), sum);
    }
    true
}

/// An in-memory metrics table with DynamoDB's update semantics (tests, benches, demos).
#[derive(Debug, Default)]
pub struct MemoryTable {
    items: std::sync::Mutex<BTreeMap<(String, String), BTreeMap<String, Val>>>,
    /// While true, every update fails (fault injection).
    pub failing: std::sync::atomic::AtomicBool,
}

impl MemoryTable {
    /// A copy of every item.
    pub fn snapshot(&self) -> BTreeMap<(String, String), BTreeMap<String, Val>> {
        self.items.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

impl MetricsStore for MemoryTable {
    fn update(&self, u: &Update) -> impl Future<Output = Result<Outcome, Error>> + Send {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return std::future::ready(Err(Error::Metrics {
                item: u.partition_key.clone(),
                source: "injected failure".into(),
            }));
        }
        let result = self
            .items
            .lock()
            .map_err(|_| Error::Metrics {
                item: u.partition_key.clone(),
                source: "memory table poisoned".into(),
            })
            .map(|mut items| {
                let key = (u.partition_key.clone(), u.window.clone());
                let mut item = items.get(&key).cloned();
                let applied = apply(&mut item, u);
                if let Some(i) = &item {
                    items.insert(key, i.clone());
                }
                let state = ItemState { attrs: item };
                if applied {
                    Outcome::Applied(state)
                } else {
                    Outcome::Conflict(state)
                }
            });
        std::future::ready(result)
    }
}

impl<T: MetricsStore + Send + Sync> MetricsStore for std::sync::Arc<T> {
    fn update(&self, u: &Update) -> impl Future<Output = Result<Outcome, Error>> + Send {
        (**self).update(u)
    }
}

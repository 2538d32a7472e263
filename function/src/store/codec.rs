//! A page as a DynamoDB item and back: the attributes `Page::to_item` writes, and
//! `Page::from_item`, which reads them strictly (a wrong shape is a [`Malformed`] naming the
//! attribute, never a default: read as empty, a malformed `marks` would count its records
//! again).

use std::collections::BTreeMap;
use std::fmt;

use super::item::{Av, Item};
use super::page::{Dec, Page, Stat, attr, iso_millis};
use crate::position::Position;
use crate::sketch::Sketch;

/// A metric entry's quantile sketch (binary, [`crate::sketch`]'s encoding).
pub const SKETCH: &str = "q";

/// Why an item is not a page the function wrote: where, and what it should have been.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at} is not {expected}")]
pub struct Malformed {
    /// `attribute marks`, `mark <shard>/<key>`, `metric <name>.sum`, …
    pub at: String,
    pub expected: &'static str,
}

impl Malformed {
    /// A top-level attribute of the wrong shape.
    pub fn attribute(name: &str, expected: &'static str) -> Self {
        Self::at(format!("attribute {name}"), expected)
    }

    /// Anything else of the wrong shape.
    pub fn at(at: String, expected: &'static str) -> Self {
        Self { at, expected }
    }
}

impl Page {
    /// The item form.
    pub fn to_item(&self) -> Item {
        let n = |v: &dyn fmt::Display| Av::N(v.to_string());
        let mut item = Item::new();
        let mut put = |k: &str, v: Av| {
            item.insert(k.to_owned(), v);
        };
        put(attr::PARTITION_KEY, Av::S(self.entity.clone()));
        put(attr::SORT_KEY, Av::S(self.sort_key()));
        put(attr::WINDOW, Av::S(self.window.clone()));
        put(attr::PAGE, n(&self.index));
        put(attr::VERSION, n(&self.version));
        put(attr::WINDOW_SECONDS, n(&self.window_seconds));
        put(attr::TTL, n(&self.ttl));
        put(attr::COUNT, n(&self.count));
        put(attr::LOG_LINES, n(&self.log_lines));
        if self.count > 0 {
            put(attr::FIRST_EVENT, Av::S(iso_millis(self.first_event_ms)));
            put(attr::LAST_EVENT, Av::S(iso_millis(self.last_event_ms)));
        }
        let metrics = self.metrics.iter().map(|(k, s)| {
            let stat = [
                ("count", n(&s.count)),
                ("sum", n(&s.sum)),
                ("min", n(&s.min)),
                ("max", n(&s.max)),
            ];
            let mut m: BTreeMap<String, Av> =
                stat.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            if let Some(sk) = &s.sketch {
                m.insert(SKETCH.to_owned(), Av::B(sk.to_bytes()));
            }
            (k.clone(), Av::M(m))
        });
        put(attr::METRICS, Av::M(metrics.collect()));
        let events = self.events.iter().map(|(k, c)| (k.clone(), n(c)));
        put(attr::EVENTS, Av::M(events.collect()));
        let marks = self.marks.iter().map(|(shard, keys)| {
            let keys = keys.iter().map(|(k, p)| (k.clone(), Av::B(p.to_bytes())));
            (shard.clone(), Av::M(keys.collect()))
        });
        put(attr::MARKS, Av::M(marks.collect()));
        put(attr::NOT_AGGREGATED, n(&self.not_aggregated));
        let arrivals = self.arrivals.iter().map(|(h, c)| (h.clone(), n(c)));
        put(attr::ARRIVALS, Av::M(arrivals.collect()));
        if self.full {
            put(attr::FULL, Av::Bool(true));
        }
        item
    }

    /// Reads a page item; an attribute of the wrong shape is an error naming it.
    pub fn from_item(item: &Item) -> Result<Page, Malformed> {
        let s = |k: &str| {
            item.get(k)
                .and_then(Av::as_s)
                .ok_or_else(|| Malformed::attribute(k, "a string"))
        };
        let num = |k: &str| -> Result<u64, Malformed> {
            match item.get(k) {
                None => Ok(0),
                Some(v) => v
                    .as_n()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| Malformed::attribute(k, "a whole number")),
            }
        };
        let small = |k: &str| -> Result<u32, Malformed> {
            u32::try_from(num(k)?).map_err(|_| Malformed::attribute(k, "a 32-bit number"))
        };
        let time = |k: &str| -> Result<i64, Malformed> {
            match item.get(k) {
                None => Ok(0),
                Some(v) => v
                    .as_s()
                    .and_then(crate::extract::parse_time)
                    .ok_or_else(|| Malformed::attribute(k, "a time")),
            }
        };
        // Absent: empty (a page without events has no `events`). Any other type is an
        // error: read as empty, a malformed `marks` would count its records again.
        let map = |k: &str| -> Result<BTreeMap<String, Av>, Malformed> {
            match item.get(k) {
                None => Ok(BTreeMap::new()),
                Some(v) => v
                    .as_m()
                    .cloned()
                    .ok_or_else(|| Malformed::attribute(k, "a map")),
            }
        };
        let full = match item.get(attr::FULL) {
            None => false,
            Some(Av::Bool(b)) => *b,
            Some(_) => return Err(Malformed::attribute(attr::FULL, "a boolean")),
        };
        let mut metrics = BTreeMap::new();
        for (name, v) in map(attr::METRICS)? {
            let m = v
                .as_m()
                .ok_or_else(|| Malformed::at(format!("metric {name}"), "a map"))?;
            let dec = |p: &str| {
                m.get(p)
                    .and_then(Av::as_n)
                    .and_then(Dec::parse)
                    .ok_or_else(|| Malformed::at(format!("metric {name}.{p}"), "a number"))
            };
            let count = m
                .get("count")
                .and_then(Av::as_n)
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| Malformed::at(format!("metric {name}.count"), "a whole number"))?;
            // The sketch, when there is one, holds exactly the values the count counts.
            let sketch = match m.get(SKETCH) {
                None => None,
                Some(q) => Some(
                    q.as_b()
                        .and_then(Sketch::from_bytes)
                        .filter(|sk| sk.count() == count)
                        .ok_or_else(|| {
                            Malformed::at(
                                format!("metric {name}.{SKETCH}"),
                                "a sketch of its values",
                            )
                        })?,
                ),
            };
            let stat = Stat {
                count,
                sum: dec("sum")?,
                min: dec("min")?,
                max: dec("max")?,
                sketch,
            };
            metrics.insert(name, stat);
        }
        let mut events = BTreeMap::new();
        for (value, c) in map(attr::EVENTS)? {
            let c = c.as_n().and_then(|t| t.parse().ok());
            events.insert(
                value.clone(),
                c.ok_or_else(|| Malformed::at(format!("event {value}"), "a count"))?,
            );
        }
        let mut arrivals = BTreeMap::new();
        for (hour, c) in map(attr::ARRIVALS)? {
            let c = c.as_n().and_then(|t| t.parse().ok());
            arrivals.insert(
                hour.clone(),
                c.ok_or_else(|| Malformed::at(format!("arrival hour {hour}"), "a count"))?,
            );
        }
        let mut marks: BTreeMap<String, BTreeMap<String, Position>> = BTreeMap::new();
        for (shard, keys) in map(attr::MARKS)? {
            let keys = keys
                .as_m()
                .ok_or_else(|| Malformed::at(format!("marks of {shard}"), "a map"))?;
            let parsed = keys
                .iter()
                .map(|(k, p)| {
                    // Binary since marks were made compact; text as earlier versions wrote.
                    let pos = match p {
                        Av::B(b) => Position::from_bytes(b),
                        Av::S(s) => Position::parse(s),
                        _ => None,
                    };
                    pos.map(|p| (k.clone(), p))
                        .ok_or_else(|| Malformed::at(format!("mark {shard}/{k}"), "a position"))
                })
                .collect::<Result<_, Malformed>>()?;
            marks.insert(shard, parsed);
        }
        Ok(Page {
            entity: s(attr::PARTITION_KEY)?.to_owned(),
            window: s(attr::WINDOW)?.to_owned(),
            index: small(attr::PAGE)?,
            version: num(attr::VERSION)?,
            window_seconds: small(attr::WINDOW_SECONDS)?,
            ttl: i64::try_from(num(attr::TTL)?)
                .map_err(|_| Malformed::attribute(attr::TTL, "epoch seconds"))?,
            count: num(attr::COUNT)?,
            log_lines: num(attr::LOG_LINES)?,
            first_event_ms: time(attr::FIRST_EVENT)?,
            last_event_ms: time(attr::LAST_EVENT)?,
            metrics,
            events,
            marks,
            not_aggregated: num(attr::NOT_AGGREGATED)?,
            arrivals,
            full,
        })
    }
}

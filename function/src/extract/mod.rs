//! Extraction: one JSON object → entity, event time, numeric metrics and event types.
//!
//! Walks the document with a serde visitor (no intermediate `Value`), flattening nested
//! objects with `.`; arrays are skipped. Pure: no clock, the arrival time comes in.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::error::Category;

mod time;
use time::epoch_ms;
pub use time::parse_time;

/// Extraction settings (from the function's configuration; defaults there too).
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Fields naming the entity, in order of preference.
    pub id_fields: Vec<String>,
    /// Event times further than this after arrival fall back to arrival time.
    pub max_future_ms: i64,
    /// Event times further than this before arrival fall back to arrival time.
    pub max_past_ms: i64,
    /// Deepest object nesting accepted.
    pub max_depth: usize,
}

/// Longest id kept as an entity, in UTF-8 bytes (DynamoDB's partition key limit).
pub const MAX_ID_BYTES: usize = crate::limits::MAX_PARTITION_KEY_BYTES;

/// Largest metric magnitude kept; larger values are ignored (DynamoDB numbers keep 38 digits).
pub const MAX_METRIC: f64 = 1e15;

/// What one record contributes to the aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<'a> {
    pub entity: Cow<'a, str>,
    pub event_time_ms: i64,
    /// The record's own time was missing, unparsable or out of bounds.
    pub time_fallback: bool,
    /// An id field was present but not a valid key value (empty or over
    /// [`MAX_ID_BYTES`]), so a later id field or the partition key names the entity.
    pub id_fallback: bool,
    pub metrics: Vec<(Cow<'a, str>, f64)>,
    pub events: Vec<Cow<'a, str>>,
    /// A CloudWatch Logs line that was not JSON.
    pub log_line: bool,
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("JSON value is not an object")]
    NotAnObject,
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
}

/// Context a record brings besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// The user record's partition key (entity fallback).
    pub partition_key: &'a str,
    /// `approximateArrivalTimestamp` in epoch milliseconds.
    pub arrival_ms: i64,
    /// A time the transport already knows (CloudWatch Logs event time), preferred to arrival.
    pub default_time_ms: Option<i64>,
}

/// Extracts an observation from a JSON object's bytes.
pub fn extract<'a>(
    json: &'a [u8],
    env: Envelope<'a>,
    rules: &Rules,
) -> Result<Observation<'a>, ExtractError> {
    let mut acc = Acc {
        rules,
        id: None,
        invalid_id: false,
        time: None,
        metrics: Vec::new(),
        events: [None, None],
    };
    let mut de = serde_json::Deserializer::from_slice(json);
    let seed = Root { acc: &mut acc };
    seed.deserialize(&mut de)
        .map_err(|e| classify(&e, json, rules))?;
    de.end().map_err(|e| ExtractError::Json(e.to_string()))?;
    let id_fallback = acc.id.is_none() && acc.invalid_id;
    let entity = acc
        .id
        .map_or(Cow::Borrowed(env.partition_key), |(_, id)| id);
    let fallback_ms = env.default_time_ms.unwrap_or(env.arrival_ms);
    let (event_time_ms, time_fallback) = match acc.time {
        Some(t)
            if t <= env.arrival_ms + rules.max_future_ms
                && t >= env.arrival_ms - rules.max_past_ms =>
        {
            (t, false)
        }
        Some(_) => (fallback_ms, true),
        None => (fallback_ms, env.default_time_ms.is_none()),
    };
    Ok(Observation {
        entity,
        event_time_ms,
        time_fallback,
        id_fallback,
        metrics: acc.metrics,
        events: acc.events.into_iter().flatten().collect(),
        log_line: false,
    })
}

/// The observation of a CloudWatch Logs line that is not JSON.
pub fn log_line<'a>(env: Envelope<'a>) -> Observation<'a> {
    Observation {
        entity: Cow::Borrowed(env.partition_key),
        event_time_ms: env.default_time_ms.unwrap_or(env.arrival_ms),
        time_fallback: env.default_time_ms.is_none(),
        id_fallback: false,
        metrics: Vec::new(),
        events: Vec::new(),
        log_line: true,
    }
}

/// What a failed read means, by the error's category, not its text: our visitors raise
/// only data errors, and only two kinds: a root that is not an object, or nesting past
/// `max_depth` (16, far below serde_json's own limit of 128). Syntax and end-of-input errors
/// are JSON that does not parse.
fn classify(e: &serde_json::Error, json: &[u8], rules: &Rules) -> ExtractError {
    match e.classify() {
        Category::Data if json.trim_ascii_start().first() == Some(&b'{') => {
            ExtractError::TooDeep(rules.max_depth)
        }
        Category::Data => ExtractError::NotAnObject,
        Category::Io | Category::Syntax | Category::Eof => ExtractError::Json(e.to_string()),
    }
}

const NOT_OBJECT: &str = "not-an-object";
const TOO_DEEP: &str = "too-deep";

struct Acc<'a, 'r> {
    rules: &'r Rules,
    /// The id found so far with the index of its field in `rules.id_fields` (lower wins).
    id: Option<(usize, Cow<'a, str>)>,
    /// An id field held a value that cannot be a key (empty or too long).
    invalid_id: bool,
    time: Option<i64>,
    metrics: Vec<(Cow<'a, str>, f64)>,
    /// The `event` and `eventType` values (each key counts once; the last occurrence wins).
    events: [Option<Cow<'a, str>>; 2],
}

impl<'a> Acc<'a, '_> {
    /// A key seen again in the same object: its earlier value no longer counts, as in every
    /// JSON parser (the last occurrence wins).
    fn forget(&mut self, path: Path<'a, '_>) {
        let name = path.name();
        let nested = |n: &str| {
            n.strip_prefix(name.as_ref())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        };
        self.metrics.retain(|(n, _)| !nested(n));
        if path.is_top() {
            match path.leaf() {
                "timestamp" => self.time = None,
                "event" => self.events[0] = None,
                "eventType" => self.events[1] = None,
                leaf => {
                    let index = self.rules.id_fields.iter().position(|f| f == leaf);
                    if index.is_some() && self.id.as_ref().map(|(i, _)| *i) == index {
                        self.id = None;
                    }
                }
            }
        }
    }

    fn number(&mut self, path: Path<'a, '_>, v: f64) {
        if path.is_top() {
            let name = path.leaf();
            if name == "timestamp" {
                self.time = epoch_ms(v);
                return;
            }
            if let Some(i) = self.rules.id_fields.iter().position(|f| f == name) {
                self.set_id(i, Cow::Owned(format_id(v)));
                return;
            }
        }
        if v.is_finite() && v.abs() <= MAX_METRIC {
            // Quantize to 1e-9 so DynamoDB's 38-digit sums never overflow precision.
            let q = (v * 1e9).round() / 1e9;
            self.metrics.push((path.name(), q));
        }
    }

    fn string(&mut self, path: Path<'a, '_>, s: Cow<'a, str>) {
        if !path.is_top() {
            return;
        }
        let name = path.leaf();
        if name == "timestamp" {
            self.time = parse_time(&s);
        } else if name == "event" {
            self.events[0] = Some(s);
        } else if name == "eventType" {
            self.events[1] = Some(s);
        } else if let Some(i) = self.rules.id_fields.iter().position(|f| f == name) {
            self.set_id(i, s);
        }
    }

    fn set_id(&mut self, index: usize, id: Cow<'a, str>) {
        if id.is_empty() || id.len() > MAX_ID_BYTES {
            self.invalid_id = true;
            return;
        }
        if self.id.as_ref().is_none_or(|(best, _)| index <= *best) {
            self.id = Some((index, id));
        }
    }
}

fn format_id(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A field's place: parent prefix (owned, with dots) and its own key.
#[derive(Clone, Copy)]
struct Path<'a, 'p> {
    prefix: Option<&'p str>,
    key: &'p Cow<'a, str>,
}

impl<'a> Path<'a, '_> {
    fn is_top(&self) -> bool {
        self.prefix.is_none()
    }

    fn leaf(&self) -> &str {
        self.key
    }

    fn name(&self) -> Cow<'a, str> {
        match self.prefix {
            None => self.key.clone(),
            Some(p) => Cow::Owned(format!("{p}.{}", self.key)),
        }
    }
}

struct Root<'x, 'a, 'r> {
    acc: &'x mut Acc<'a, 'r>,
}

impl<'de, 'x, 'r> DeserializeSeed<'de> for Root<'x, 'de, 'r> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(ObjectVisitor {
            acc: self.acc,
            prefix: None,
            depth: 1,
        })
    }
}

struct ObjectVisitor<'x, 'a, 'r, 'p> {
    acc: &'x mut Acc<'a, 'r>,
    prefix: Option<&'p str>,
    depth: usize,
}

impl<'de, 'x, 'r, 'p> Visitor<'de> for ObjectVisitor<'x, 'de, 'r, 'p> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        if self.depth > self.acc.rules.max_depth {
            return Err(de::Error::custom(TOO_DEEP));
        }
        // Keys of this object so far, to spot a repeated one (objects are small: a scan).
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            let key = key.0;
            if seen.contains(&key) {
                self.acc.forget(Path {
                    prefix: self.prefix,
                    key: &key,
                });
            } else {
                seen.push(key.clone());
            }
            map.next_value_seed(FieldSeed {
                acc: self.acc,
                path: Path {
                    prefix: self.prefix,
                    key: &key,
                },
                depth: self.depth,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(NOT_OBJECT))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
}

struct FieldSeed<'x, 'a, 'r, 'p> {
    acc: &'x mut Acc<'a, 'r>,
    path: Path<'a, 'p>,
    depth: usize,
}

impl<'de, 'x, 'r, 'p> DeserializeSeed<'de> for FieldSeed<'x, 'de, 'r, 'p> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'x, 'r, 'p> Visitor<'de> for FieldSeed<'x, 'de, 'r, 'p> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.acc.number(self.path, v);
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.acc.number(self.path, v as f64);
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.acc.number(self.path, v as f64);
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.acc.string(self.path, Cow::Borrowed(v));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.acc.string(self.path, Cow::Owned(v.to_owned()));
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Skip {
            depth: self.depth + 1,
            max: self.acc.rules.max_depth,
        }
        .visit_seq(seq)
    }
    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<(), M::Error> {
        let prefix = self.path.name();
        ObjectVisitor {
            acc: self.acc,
            prefix: Some(&prefix),
            depth: self.depth + 1,
        }
        .visit_map(map)
    }
}

/// Skips a value (arrays are not aggregated) while still bounding its nesting.
#[derive(Clone, Copy)]
struct Skip {
    depth: usize,
    max: usize,
}

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth > self.max {
            return Err(de::Error::custom(TOO_DEEP));
        }
        let inner = Skip {
            depth: self.depth + 1,
            ..self
        };
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        if self.depth > self.max {
            return Err(de::Error::custom(TOO_DEEP));
        }
        let inner = Skip {
            depth: self.depth + 1,
            ..self
        };
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// A map key, borrowed when the JSON has no escapes.
struct CowStr<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

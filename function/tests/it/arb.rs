//! Every proptest strategy of the function's tests, in one place.

use std::borrow::Cow;

use function::extract::Observation;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::support::T0_MS;

/// A sensor reading as a producer sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// `sensorId` (may be empty or longer than a key value can be).
    pub id: String,
    pub partition_key: String,
    /// Event time: seconds after `T0_MS` (also the arrival time).
    pub second: i64,
    /// `field000`, `field001`, … (nested every tenth field, to count every leaf).
    pub values: Vec<i64>,
}

impl Reading {
    /// The flattened name of value `i`: every tenth value sits in the nested `group`.
    pub fn name(i: usize) -> String {
        if i % 10 == 9 {
            format!("group.field{i:03}")
        } else {
            format!("field{i:03}")
        }
    }

    /// The record's JSON.
    pub fn json(&self) -> String {
        let mut fields = Map::new();
        let mut group = Map::new();
        fields.insert("sensorId".into(), json!(self.id));
        let t = T0_MS / 1000 + self.second;
        fields.insert("timestamp".into(), json!(t));
        for (i, v) in self.values.iter().enumerate() {
            match Self::name(i).strip_prefix("group.") {
                Some(leaf) => group.insert(leaf.to_owned(), json!(v)),
                None => fields.insert(Self::name(i), json!(v)),
            };
        }
        if !group.is_empty() {
            fields.insert("group".into(), Value::Object(group));
        }
        Value::Object(fields).to_string()
    }
}

/// An id: usually a valid one, sometimes empty, sometimes past DynamoDB's 2,048 bytes.
pub fn arb_id() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0u8..4).prop_map(|n| format!("sensor-{n}")),
        1 => Just(String::new()),
        1 => (2049usize..3200).prop_map(|n| "é".repeat(n / 2)),
    ]
}

/// A partition key: a few shared ones (IoT: key = device) or a random one per record.
pub fn arb_partition_key() -> impl Strategy<Value = String> {
    prop_oneof![(0u8..3).prop_map(|n| format!("device-{n}")), "[a-f0-9]{32}",]
}

/// Readings: narrow or wide (up to 160 numeric fields), within two minutes.
pub fn arb_readings() -> impl Strategy<Value = Vec<Reading>> {
    let reading = (
        arb_id(),
        arb_partition_key(),
        0i64..120,
        prop_oneof![
            3 => prop::collection::vec(-1000i64..1000, 0..4),
            1 => prop::collection::vec(-1_000_000i64..1_000_000, 64..160),
        ],
    )
        .prop_map(|(id, partition_key, second, values)| Reading {
            id,
            partition_key,
            second,
            values,
        });
    prop::collection::vec(reading, 1..600)
}

/// A JSON object's text whose keys repeat (drawn from a handful), with numbers, strings,
/// nulls and nested objects as values.
pub fn arb_object_with_repeated_keys() -> impl Strategy<Value = String> {
    let key = || prop::sample::select(vec!["sensorId", "event", "timestamp", "v", "w", "o"]);
    let leaf = prop_oneof![
        (-1000i64..1000).prop_map(|n| n.to_string()),
        prop::sample::select(vec!["\"a\"", "\"b\"", "null", "true"]).prop_map(str::to_owned),
    ];
    let value = leaf.prop_recursive(2, 12, 4, move |inner| {
        prop::collection::vec((key(), inner), 0..4).prop_map(|fields| object_text(&fields))
    });
    prop::collection::vec((key(), value), 0..10).prop_map(|fields| object_text(&fields))
}

fn object_text(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

/// An observation as extraction makes it (quarter-step values: sums are exact in any order).
pub fn arb_obs() -> impl Strategy<Value = Observation<'static>> {
    (
        prop::sample::select(vec!["a", "b", "c"]),
        -200_000i64..400_000,
        prop::collection::btree_map(
            prop::sample::select(vec!["t", "h", "x.y"]),
            -1000i32..1000,
            0..3,
        ),
        prop::collection::vec(prop::sample::select(vec!["click", "view"]), 0..2),
        any::<bool>(),
    )
        .prop_map(|(e, dt, m, ev, log)| Observation {
            entity: Cow::Owned(e.to_owned()),
            event_time_ms: T0_MS + dt,
            time_fallback: false,
            id_fallback: false,
            // Quarter steps: exact in f64, so sums are exact in any order.
            metrics: m
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.to_owned()), f64::from(v) / 4.0))
                .collect(),
            events: ev.into_iter().map(|e| Cow::Owned(e.to_owned())).collect(),
            log_line: log,
        })
}

pub fn arb_key() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9-]{1,20}"
}

/// An IoT reading or a clickstream event (70 % / 30 %), as a JSON value.
pub fn arb_payload() -> impl Strategy<Value = serde_json::Value> {
    let sensor = (0u8..4, -400i32..400, 0u8..100, 0i64..180).prop_map(|(s, t, h, dt)| {
        json!({
            "sensorId": format!("sensor-{s:03}"),
            "temperature": f64::from(t) / 10.0,
            "humidity": h,
            "timestamp": crate::support::extract_time(T0_MS + dt * 1000),
        })
    });
    let click = (
        0u8..4,
        prop::sample::select(vec!["page_view", "click", "add_to_cart"]),
        0i64..180,
    )
        .prop_map(|(u, e, dt)| {
            json!({
                "userId": format!("user-{u}"),
                "event": e,
                "page": "/p",
                "timestamp": (T0_MS + dt * 1000) / 1000,
            })
        });
    prop_oneof![7 => sensor, 3 => click]
}

/// One user record: (entity, seconds after T0, reading).
pub type User = (usize, i64, i64);
/// A generated Kinesis record: (partition key, user records, kind: JSON / KPL / garbage).
pub type GenRecord = (usize, Vec<User>, u8);

/// A Kinesis record of the generated stream: plain JSON, KPL-aggregated, or garbage.
pub fn arb_record() -> impl Strategy<Value = GenRecord> {
    (
        0usize..4,
        prop::collection::vec((0usize..3, 0i64..150, -50i64..50), 1..4),
        0u8..10,
    )
}

pub fn arb_shard() -> impl Strategy<Value = Vec<GenRecord>> {
    prop::collection::vec(arb_record(), 1..14)
}

#[derive(Debug, Clone)]
pub enum Next {
    Success,
    Redeliver,
    Partial(prop::sample::Index),
    FailingTable,
    FailingArchive,
    Replay,
    /// The batch fails (0: table down, 1: archive down, 2: one entity's item failing) and
    /// Lambda gives up on it: its unprocessed records go to the failure destination.
    GiveUp(u8),
    /// The operator's recovery: the given-up records are invoked again, then recovered.
    Redrive,
    /// The archive compacted, with parts of about this many bytes, killed after this many
    /// bucket calls (`None`: run to its end).
    Compact(usize, Option<usize>),
}

pub fn arb_step() -> impl Strategy<Value = (prop::sample::Index, usize, Next, usize)> {
    let next = prop_oneof![
        4 => Just(Next::Success),
        2 => Just(Next::Redeliver),
        2 => any::<prop::sample::Index>().prop_map(Next::Partial),
        1 => Just(Next::FailingTable),
        1 => Just(Next::FailingArchive),
        1 => Just(Next::Replay),
        2 => (0u8..3).prop_map(Next::GiveUp),
        1 => Just(Next::Redrive),
        2 => (prop_oneof![Just(300usize), Just(256 << 20)], prop::option::of(0usize..30))
            .prop_map(|(part, crash)| Next::Compact(part, crash)),
    ];
    (any::<prop::sample::Index>(), 1usize..6, next, 0usize..3)
}

/// A position anywhere in the range Kinesis allows: a 1–129-digit sequence number (leading
/// zeros included, which parse away) and any sub-record index.
pub fn arb_position() -> impl Strategy<Value = function::position::Position> {
    ("[0-9]{1,129}", any::<u32>()).prop_map(|(seq, sub)| function::position::Position {
        seq: function::position::SeqNo::parse(&seq).expect("1-129 digits"),
        sub,
    })
}

/// Metric values as a page holds them (nanounit decimals): tiny, ordinary and huge, both
/// signs, zeros, repeats.
pub fn arb_values() -> impl Strategy<Value = Vec<f64>> {
    let value = prop_oneof![
        3 => -50.0f64..150.0,
        2 => (-15i32..15, 1.0f64..10.0, any::<bool>())
            .prop_map(|(e, m, neg)| if neg { -m } else { m } * 10f64.powi(e)),
        1 => Just(0.0),
        1 => Just(21.5),
    ];
    prop::collection::vec(value, 1..300).prop_map(|vs| {
        vs.into_iter()
            .map(|v| function::store::Dec::from_f64(v).to_f64())
            .collect()
    })
}

/// A sketch's relative accuracy, per mille.
pub fn arb_accuracy() -> impl Strategy<Value = function::sketch::Accuracy> {
    prop_oneof![Just(1u16), Just(10), Just(20), Just(100)]
        .prop_map(|pm| function::sketch::Accuracy::per_mille(pm).expect("in range"))
}

//! Proptest strategies shared by the function's properties.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

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
        let t = crate::support::T0_MS / 1000 + self.second;
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

//! The benchmark's record mix and the measured work, shared by both bench binaries.

use std::collections::HashMap;

use function::decode::{self, Body, Limits};
use function::extract::{self, Envelope, Observation, Rules};
use function::store::Page;
use function::window::{WindowKey, key_of};

pub const T0_MS: i64 = 1_705_314_600_000;

/// `n` records: (partition key, data).
pub fn records(n: usize) -> Vec<(String, Vec<u8>)> {
    let mut rng = fastrand::Rng::with_seed(0x2545_F491_4F6C_DD1D);
    let mut next = move || rng.u64(..);
    (0..n)
        .map(|i| {
            let r = next();
            let ts = rfc3339(T0_MS + (r % 300_000) as i64);
            if r % 10 < 7 {
                let id = format!("sensor-{:03}", r % 200);
                let json = format!(
                    r#"{{"sensorId":"{id}","temperature":{:.1},"humidity":{},"timestamp":"{ts}"}}"#,
                    15.0 + (r % 200) as f64 / 10.0,
                    30 + r % 60
                );
                (id, json.into_bytes())
            } else {
                let id = format!("user-{}", r % 1000);
                let ev = ["page_view", "click", "add_to_cart"][(r % 3) as usize];
                let json = format!(
                    r#"{{"userId":"{id}","event":"{ev}","page":"/p/{}","timestamp":"{ts}"}}"#,
                    i % 50
                );
                (id, json.into_bytes())
            }
        })
        .collect()
}

/// The seed's timestamp form, `2024-01-15T10:30:00Z`.
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .expect("a time in range")
}

/// Decode, extract, and add each observation to its aggregate's page with `Page::add` (the
/// production aggregation, without plans, marks or writes).
pub fn decode_and_aggregate(batch: &[(String, Vec<u8>)], rules: &Rules) -> usize {
    let decoded: Vec<_> = batch
        .iter()
        .map(|(pk, d)| decode::decode(d, pk, Limits::default()))
        .collect();
    let mut obs: Vec<Observation<'_>> = Vec::with_capacity(batch.len());
    for d in decoded.iter().flatten() {
        for u in d.units() {
            if let Body::Json(b) = &u.body {
                let env = Envelope {
                    partition_key: "pk",
                    arrival_ms: T0_MS,
                    default_time_ms: None,
                };
                if let Ok(o) = extract::extract(b, env, rules) {
                    obs.push(o);
                }
            }
        }
    }
    let mut pages: HashMap<WindowKey, Page> = HashMap::with_capacity(obs.len());
    for o in &obs {
        pages
            .entry(key_of(o, 60))
            .or_insert_with(|| Page::new(&o.entity, "", 0))
            .add(o, Some(function::sketch::Accuracy::DEFAULT));
    }
    pages.len()
}

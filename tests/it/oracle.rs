//! The end-to-end oracle: what the table must hold, computed from the sent records alone
//! (chrono and serde_json, not the function's own code), and the assertion against it.

use std::collections::BTreeMap;

use local::producer::Sample;
use local::{LocalStack, status};
use serde_json::Value;

#[derive(Debug, Default, PartialEq)]
struct Expected {
    count: u64,
    /// metric → (count, sum, min, max)
    metrics: BTreeMap<String, (u64, f64, f64, f64)>,
    events: BTreeMap<String, u64>,
}

/// What the table must hold, computed from the sent JSON independently of the function.
/// `window` is the deployed stack's aggregation window in seconds.
fn oracle(samples: &[Sample], window: i64) -> BTreeMap<(String, String), Expected> {
    let mut out: BTreeMap<(String, String), Expected> = BTreeMap::new();
    for s in samples {
        let v: Value = serde_json::from_slice(&s.data).expect("sample json");
        let entity = v["sensorId"]
            .as_str()
            .or(v["userId"].as_str())
            .expect("id")
            .to_owned();
        let t = chrono_secs(v["timestamp"].as_str().expect("ts"));
        let window = format_window(t - t.rem_euclid(window));
        let e = out.entry((entity, window)).or_default();
        e.count += 1;
        for m in ["temperature", "humidity"] {
            if let Some(x) = v[m].as_f64() {
                let st = e
                    .metrics
                    .entry(m.to_owned())
                    .or_insert((0, 0.0, f64::MAX, f64::MIN));
                st.0 += 1;
                st.1 += x;
                st.2 = st.2.min(x);
                st.3 = st.3.max(x);
            }
        }
        if let Some(ev) = v["event"].as_str() {
            *e.events.entry(ev.to_owned()).or_default() += 1;
        }
    }
    out
}

/// Epoch seconds of an RFC 3339 time (chrono, not the function's own parser).
fn chrono_secs(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("valid time")
        .timestamp()
}

/// `YYYY-MM-DDTHH:MM:SSZ` (chrono, not the function's own formatter).
fn format_window(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .expect("in range")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Every aggregate in the table (pages merged), by (entity, window).
pub(crate) async fn aggregates(s: &LocalStack) -> BTreeMap<(String, String), status::Aggregate> {
    status::scan(
        &s.clients,
        s.deployed
            .output(stackgen::stack::outputs::METRICS_TABLE_NAME),
    )
    .await
    .expect("scan")
    .into_iter()
    .map(|a| ((a.entity.clone(), a.window.clone()), a))
    .collect()
}

/// Asserts the table equals the oracle: counts, min, max exactly; sums to 1e-6.
pub(crate) async fn assert_table(s: &LocalStack, samples: &[Sample]) {
    let got = aggregates(s).await;
    let window = s.deployed.window_secs().expect("the deployed window");
    let want = oracle(samples, i64::from(window));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, e) in &want {
        let t = &got[k].totals;
        assert_eq!(t.count, e.count, "count of {k:?}");
        for (m, (n, sum, min, max)) in &e.metrics {
            let st = t.metrics.get(m).unwrap_or_else(|| panic!("{m} of {k:?}"));
            assert_eq!(st.count, *n, "{m} count of {k:?}");
            let got_sum = st.sum.to_f64();
            assert!(
                (got_sum - sum).abs() < 1e-6,
                "{m} sum of {k:?}: {got_sum} vs {sum}"
            );
            assert_eq!(st.min.to_f64(), *min, "{m} min of {k:?}");
            assert_eq!(st.max.to_f64(), *max, "{m} max of {k:?}");
        }
        for (ev, n) in &e.events {
            assert_eq!(t.events.get(ev).copied(), Some(*n), "event {ev} of {k:?}");
        }
    }
}

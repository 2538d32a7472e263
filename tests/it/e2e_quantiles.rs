//! End to end: p50/p95/p99 of a known distribution, read back from the table the packaged
//! function wrote on the local stack, within the stack's 1 % of the exact values.

use local::producer::Sample;
use local::status::{AggregateView, DEFAULT_QUANTILES};

use crate::e2e::{aggregates, now_ms, send, up, wait_done};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn percentiles_of_a_known_distribution_are_within_the_accuracy_of_the_exact_ones() {
    let s = up("dev", "quantiles").await;
    // 1..=1,000 ms in a scrambled order, one entity, one window, ten partition keys (so
    // several batches and pages contribute).
    let window = (now_ms() / 60_000 - 1) * 60;
    let samples: Vec<Sample> = (0..1_000u64)
        .map(|i| {
            let latency = (i * 7_919) % 1_000 + 1;
            Sample {
                partition_key: format!("client-{}", i % 10),
                data: serde_json::json!({
                    "sensorId": "latency-probe",
                    "latency_ms": latency,
                    "timestamp": window + 10,
                })
                .to_string()
                .into_bytes(),
            }
        })
        .collect();
    send(&s, &samples).await;
    wait_done(&s, 1_000).await;
    let all = aggregates(&s).await;
    let (_, probe) = all
        .iter()
        .find(|((entity, _), _)| entity == "latency-probe")
        .expect("the probe's aggregate");
    assert_eq!(probe.totals.count, 1_000);
    // The exact values of ranks ⌊q·999⌋ of 1..=1000.
    for (q, exact) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
        let got = probe.totals.quantile("latency_ms", q).expect("a quantile");
        assert!(
            (got - exact).abs() <= 0.01 * exact,
            "p{q}: {got} vs {exact}"
        );
    }
    // What `query --json` prints carries them.
    let view = AggregateView::with_quantiles(probe, &DEFAULT_QUANTILES);
    let qs = &view.metrics["latency_ms"]["quantiles"];
    assert!(
        qs["p50"].is_number() && qs["p95"].is_number() && qs["p99"].is_number(),
        "{qs}"
    );
    s.down().await;
}

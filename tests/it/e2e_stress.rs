//! End to end under stress: DynamoDB's limits as the emulator enforces them (wide records,
//! 5,000 partition keys in one entity's window, a 1,000-record batch with 1,000 keys for
//! one item, empty and 3,000-byte ids), a function killed mid-batch over and over, and a
//! shard split under the mapping — every record counted exactly once.

use std::collections::BTreeMap;

use local::producer::Sample;
use serde_json::{Map, Value, json};

use crate::e2e::{now_ms, send, up, wait_done};

/// (entity, window) → (count, metric → (count, sum)).
type Expected = BTreeMap<(String, String), (u64, BTreeMap<String, (u64, i64)>)>;

/// What the table must hold, from the samples alone: the id names the entity when it is
/// 1..=2,048 bytes, else the partition key does; every top-level integer is a metric.
fn oracle(samples: &[Sample]) -> Expected {
    let mut out = Expected::new();
    for s in samples {
        let v: Value = serde_json::from_slice(&s.data).expect("json");
        let id = v["sensorId"].as_str().unwrap_or_default();
        let entity = if !id.is_empty() && id.len() <= 2048 {
            id.to_owned()
        } else {
            s.partition_key.clone()
        };
        let secs = v["timestamp"].as_i64().expect("epoch seconds");
        let window = chrono::DateTime::from_timestamp(secs - secs.rem_euclid(60), 0)
            .expect("in range")
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let e = out.entry((entity, window)).or_default();
        e.0 += 1;
        for (k, x) in v.as_object().into_iter().flatten() {
            if let (Some(x), false) = (x.as_i64(), k == "timestamp") {
                let m = e.1.entry(k.clone()).or_default();
                m.0 += 1;
                m.1 += x;
            }
        }
    }
    out
}

fn sample(
    id: &str,
    key: &str,
    secs: i64,
    metrics: impl IntoIterator<Item = (String, i64)>,
) -> Sample {
    let mut fields = Map::new();
    fields.insert("sensorId".into(), json!(id));
    fields.insert("timestamp".into(), json!(secs));
    for (k, v) in metrics {
        fields.insert(k, json!(v));
    }
    Sample {
        partition_key: key.to_owned(),
        data: Value::Object(fields).to_string().into_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_records_thousands_of_keys_and_odd_ids_count_exactly() {
    let mut s = up("dev", "limits").await;
    // Batches of up to 1,000 records (the mapping allows 10,000).
    s.deployed.mapping.batch_size = 1000;
    s.start_mapping().await.expect("restart");
    let t = now_ms() / 1000 - 30;
    let key = |i: usize| {
        format!(
            "{:08x}-7d1e-4c7a-9e52-{i:012x}",
            i.wrapping_mul(2_654_435_761)
        )
    };
    // One batch of 1,000 records with 1,000 keys, all for one item.
    let hot: Vec<Sample> = (0..1000)
        .map(|i| sample("hot", &key(i), t, [("reading".into(), i as i64 % 10)]))
        .collect();
    send(&s, &hot).await;
    wait_done(&s, 1000).await;
    assert_eq!(
        s.counters().invocations,
        1,
        "the 1,000 records were one batch"
    );
    // 4,000 more keys for the same entity and window, 120 wide records (110 fields),
    // and ids the table cannot hold as keys.
    let mut rest: Vec<Sample> = (1000..5000)
        .map(|i| sample("hot", &key(i), t, [("reading".into(), i as i64 % 10)]))
        .collect();
    rest.extend((0..120).map(|i| {
        let id = format!("wide-{}", i % 3);
        let fields = (0..110).map(|f| (format!("channel{f:03}"), ((i * 7 + f) % 1000) as i64));
        sample(&id, &id, t, fields)
    }));
    rest.extend((0..20).map(|i| sample("", &format!("empty-id-{i}"), t, [("v".into(), 1)])));
    let long = "x".repeat(3000);
    rest.extend((0..20).map(|i| sample(&long, &format!("long-id-{i}"), t, [("v".into(), 2)])));
    send(&s, &rest).await;
    wait_done(&s, 1000 + rest.len() as u64).await;

    let c = s.counters();
    assert_eq!(
        (c.partial_failures, c.function_errors, c.batches_failed),
        (0, 0, 0),
        "{c:?}"
    );
    let got = crate::e2e::aggregates(&s).await;
    let all: Vec<Sample> = hot.into_iter().chain(rest).collect();
    let want = oracle(&all);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, (count, metrics)) in &want {
        let t = &got[k].totals;
        assert_eq!(t.count, *count, "count of {k:?}");
        assert_eq!(t.not_aggregated, 0, "{k:?}");
        for (m, (n, sum)) in metrics {
            let st = &t.metrics[m];
            assert_eq!(
                (st.count, st.sum.to_f64()),
                (*n, *sum as f64),
                "{m} of {k:?}"
            );
        }
    }
    let hot_pages = got
        .iter()
        .find(|((e, _), _)| e == "hot")
        .map(|(_, a)| a.totals.pages)
        .unwrap_or_default();
    assert!(hot_pages > 10, "5,000 keys spread over pages: {hot_pages}");
    s.down().await;
}

/// Kills (SIGKILL) every `bootstrap` process of this stack: found by its executable path
/// under the test's own state directory, so parallel tests are not touched.
fn kill_bootstraps(bootstrap: &std::path::Path) -> usize {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let exe = std::fs::read_link(p.path().join("exe")).ok();
        if exe.as_deref() == Some(bootstrap) {
            let ok = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status()
                .is_ok_and(|s| s.success());
            killed += usize::from(ok);
        }
    }
    killed
}

/// The function killed mid-batch over and over while records arrive: every record is
/// counted exactly once (after a redrive of whatever the retries gave up on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_killed_over_and_over_under_load_still_counts_exactly() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    let mut s = up("dev", "sigkill").await;
    let bootstrap = std::fs::canonicalize(&s.bootstrap).expect("bootstrap path");
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (stop, killed) = (stop.clone(), killed.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(350)).await;
                killed.fetch_add(kill_bootstraps(&bootstrap), Ordering::SeqCst);
            }
        })
    };
    let samples = local::producer::samples(1500, 41, now_ms(), 60);
    local::producer::send(
        &s.clients,
        s.deployed.output(r#gen::stack::outputs::DATA_STREAM_NAME),
        &samples,
        300,
        None,
    )
    .await
    .expect("sent");
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    let _ = killer.await;
    wait_done(&s, 1500).await;
    let c = s.counters();
    eprintln!("kills {}, {c:?}", killed.load(Ordering::SeqCst));
    assert!(
        killed.load(Ordering::SeqCst) >= 5,
        "kills: {}",
        killed.load(Ordering::SeqCst)
    );
    assert!(c.function_errors > 0, "the mapping saw the crashes: {c:?}");
    if c.batches_failed > 0 {
        s.stop_mapping().await;
        let r = s.redrive().await.expect("redrive");
        assert_eq!(r.still_failing, 0, "{r:?}");
    }
    crate::e2e::assert_table(&s, &samples).await;
    s.down().await;
}

/// A split shard hands over to its children: records sent before and after a SplitShard
/// are all counted exactly once. (MiniStack deletes the parent at the split, where
/// Kinesis keeps it closed; the mapping treats both as the parent's end.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_split_the_children_are_read() {
    let s = up("dev", "split").await;
    let before = local::producer::samples(100, 51, now_ms(), 30);
    send(&s, &before).await;
    wait_done(&s, 100).await;
    let stream = s
        .deployed
        .output(r#gen::stack::outputs::DATA_STREAM_NAME)
        .to_owned();
    s.clients
        .kinesis
        .split_shard()
        .stream_name(&stream)
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((u128::MAX / 2).to_string())
        .send()
        .await
        .expect("split");
    let after = local::producer::samples(200, 52, now_ms(), 30);
    send(&s, &after).await;
    wait_done(&s, 300).await;
    let all: Vec<Sample> = before.into_iter().chain(after).collect();
    crate::e2e::assert_table(&s, &all).await;
    s.down().await;
}

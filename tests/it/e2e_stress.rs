//! End to end under stress: DynamoDB's limits as the emulator enforces them (wide records,
//! 5,000 partition keys in one entity's window, a 1,000-record batch with 1,000 keys for
//! one item, empty and 3,000-byte ids), a function killed mid-invocation over and over, and a
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
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
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

/// SIGKILL to one process.
fn kill(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -KILL {pid}");
}

/// How many times the function is killed mid-invocation, and which responses are held.
const KILLS: usize = 6;
const STRIDE: usize = 3;

/// The function killed mid-invocation over and over while records arrive: every record is
/// counted exactly once.
///
/// Where each kill lands is decided, not timed: the local Runtime API holds every third
/// response the function posts (`runtime::Hold`), `KILLS` in all, and reports the process;
/// the test kills it there. By then the function has written its archive object and every
/// page of the batch, so each retry must find its records already counted. Every hold is
/// reached by construction: 1,500 records are at least 15 batches, and each kill adds a
/// retry, so there are at least 21 responses and the last hold is response 16. The
/// response after a held one is delivered, so no batch runs out of retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn a_function_killed_over_and_over_under_load_still_counts_exactly() {
    use std::time::Duration;

    let mut s = up("dev", "sigkill").await;
    let (hold, mut held) = local::runtime::Hold::every(STRIDE, KILLS);
    s.hold = Some(hold);
    s.start_mapping()
        .await
        .expect("mapping restarts with the hold");
    let samples = local::producer::samples(1500, 41, now_ms(), 60);
    let stream = s
        .deployed
        .output(stackgen::stack::outputs::DATA_STREAM_NAME)
        .to_owned();
    let clients = s.clients.clone();
    let sent = samples.clone();
    let producer =
        tokio::spawn(
            async move { local::producer::send(&clients, &stream, &sent, 300, None).await },
        );
    for k in 0..KILLS {
        // The deadline only bounds a hang: every held response arrives as batches do.
        let pid = tokio::time::timeout(Duration::from_secs(120), held.recv())
            .await
            .unwrap_or_else(|_| panic!("held response {} never came: {:?}", k + 1, s.counters()))
            .expect("the hold is alive");
        kill(pid);
    }
    producer.await.expect("producer task").expect("sent");
    wait_done(&s, 1500).await;
    let c = s.counters();
    eprintln!("{c:?}");
    assert_eq!(
        c.function_errors, KILLS as u64,
        "every kill is one crash the mapping saw, and nothing else failed: {c:?}"
    );
    let f = local::status::function_totals(&s.state_dir.join("logs"));
    assert!(
        f.duplicates > 0,
        "a retry after a kill found records already counted: {f:?}"
    );
    // The mapping took each invocation's summary from its log as it ended: the same sums.
    assert_eq!(s.tally().function, f, "{:?}", s.tally());
    assert_eq!(
        c.batches_failed, 0,
        "every kill was followed by a delivered retry: {c:?}"
    );
    crate::e2e::assert_table(&s, &samples).await;
    s.down().await;
}

/// A split shard hands over to its children: records sent before and after a SplitShard
/// are all counted exactly once. (MiniStack deletes the parent at the split, where
/// Kinesis keeps it closed; the mapping treats both as the parent's end.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn after_a_split_the_children_are_read() {
    let s = up("dev", "split").await;
    let before = local::producer::samples(100, 51, now_ms(), 30);
    send(&s, &before).await;
    wait_done(&s, 100).await;
    let stream = s
        .deployed
        .output(stackgen::stack::outputs::DATA_STREAM_NAME)
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

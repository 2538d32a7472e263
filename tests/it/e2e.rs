//! End to end: records through Kinesis, the event source mapping and the packaged
//! `bootstrap` into S3 and DynamoDB on the local stack, checked against an oracle.
//!
//! Each test starts its own emulator on a free loopback port and stops it at the end.
//! Needs Python 3 (the emulator is installed into `.local/venv` on first use) and the
//! packaged function (`cargo xtask package`, which `cargo xtask ci` runs first).

use std::io::Read;
use std::time::{Duration, Instant};

use local::producer::{self, Sample};
use local::{Build, LocalStack, UpOptions, repo_root, status};

use crate::inbox::{inbox_count, subscribe_inbox};
pub(crate) use crate::oracle::{aggregates, assert_table};
use serde_json::Value;

pub(crate) async fn up(stack: &str, test: &str) -> LocalStack {
    up_as(stack, test, None).await
}

/// [`up`], running the function built for `architecture` instead of the stack's.
pub(crate) async fn up_as(
    stack: &str,
    test: &str,
    architecture: Option<stackgen::settings::Architecture>,
) -> LocalStack {
    // The mapping's and deploy's warnings show with the failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_test_writer()
        .try_init();
    let dir = local::test_state_dir("e2e", test);
    let opts = UpOptions {
        root: repo_root(),
        stack: stack.to_owned(),
        port: None,
        build: Build::PACKAGED,
        progress: false,
        state_dir: Some(dir),
        architecture,
    };
    LocalStack::up(&opts).await.expect("local stack comes up")
}

/// Polls `check` until it holds or `limit` passes.
async fn wait_for<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub(crate) async fn wait_done(s: &LocalStack, n: u64) {
    let started = Instant::now();
    while s.counters().records_done < n {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "timed out after 90 s waiting for {n} records done: {:?}",
            s.counters()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every archive key under `prefix` (every page of the listing: a busy run writes more
/// than 1,000 objects).
pub(crate) async fn archive_keys(s: &LocalStack, prefix: &str) -> Vec<String> {
    let bucket = s
        .deployed
        .output(stackgen::stack::outputs::ARCHIVE_BUCKET_NAME);
    let mut pages = s
        .clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("list");
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    keys
}

/// Every archived line under `prefix`.
pub(crate) async fn archive(s: &LocalStack, prefix: &str) -> Vec<Value> {
    let c = &s.clients;
    let bucket = s
        .deployed
        .output(stackgen::stack::outputs::ARCHIVE_BUCKET_NAME);
    let keys = archive_keys(s, prefix).await;
    let mut lines = Vec::new();
    for key in keys {
        let obj =
            c.s3.get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .expect("get");
        let body = obj.body.collect().await.expect("body").into_bytes();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .expect("gzip");
        lines.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("json line")),
        );
    }
    lines
}

pub(crate) async fn send(s: &LocalStack, samples: &[Sample]) {
    producer::send(
        &s.clients,
        s.deployed
            .output(stackgen::stack::outputs::DATA_STREAM_NAME),
        samples,
        0,
        None,
    )
    .await
    .expect("sent");
}

/// Points the function at a table that does not exist (as with revoked access) and
/// restarts the mapping after its checkpoint; returns the table for [`restore_table`].
pub(crate) async fn break_table(s: &mut LocalStack) -> String {
    let env = &mut s.deployed.function.env;
    let table = env["METRICS_TABLE"].clone();
    env.insert("METRICS_TABLE".into(), format!("{table}-unreachable"));
    s.start_mapping()
        .await
        .expect("mapping restarts after its checkpoint");
    table
}

/// Points the function at its `table` again and restarts the mapping.
pub(crate) async fn restore_table(s: &mut LocalStack, table: String) {
    s.deployed
        .function
        .env
        .insert("METRICS_TABLE".into(), table);
    s.start_mapping().await.expect("restart");
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn records_across_both_shards_are_archived_once_and_aggregated_exactly() {
    let s = up("prod", "exact").await;
    assert_eq!(s.deployed.mapping.parallelization_factor, 2);
    let samples = producer::samples(600, 7, now_ms(), 180);
    send(&s, &samples).await;
    wait_done(&s, 600).await;

    let lines = archive(&s, "raw/").await;
    let mut ids: Vec<(String, String, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["shardId"].as_str().unwrap_or_default().to_owned(),
                l["sequenceNumber"].as_str().unwrap_or_default().to_owned(),
                l["subSequenceNumber"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 600, "every record archived exactly once");
    let shards: std::collections::BTreeSet<&str> = ids.iter().map(|i| i.0.as_str()).collect();
    assert_eq!(shards.len(), 2, "records went through both shards");
    let mut sent: Vec<Value> = samples
        .iter()
        .map(|x| serde_json::from_slice(&x.data).expect("json"))
        .collect();
    let mut archived: Vec<Value> = lines.iter().map(|l| l["data"].clone()).collect();
    sent.sort_by_key(|v| v.to_string());
    archived.sort_by_key(|v| v.to_string());
    assert_eq!(
        archived, sent,
        "the archive holds exactly the sent payloads"
    );

    assert_table(&s, &samples).await;
    // The dashboard is created too, with the deployed names resolved.
    let dashboard = s
        .clients
        .cloudwatch
        .get_dashboard()
        .dashboard_name(s.deployed.output(stackgen::stack::outputs::DASHBOARD_NAME))
        .send()
        .await
        .expect("the dashboard exists");
    let body: Value = serde_json::from_str(dashboard.dashboard_body().unwrap_or_default())
        .expect("the dashboard body is JSON");
    assert!(
        body.to_string().contains(&s.deployed.function.name) && !body.to_string().contains("${"),
        "{body}"
    );
    // Every line the packaged bootstrap wrote is JSON with a timestamp and a level, as
    // Lambda's JSON log format needs for applicationLogLevel filtering.
    let logs = s.state_dir.join("logs");
    let mut lines = 0;
    for entry in std::fs::read_dir(&logs).expect("logs") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("log");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(
                v["timestamp"].is_string() && v["level"].is_string(),
                "{line}"
            );
            lines += 1;
        }
    }
    assert!(lines > 0);
    s.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn a_poison_record_is_quarantined_and_does_not_block_its_shard() {
    let s = up("dev", "poison").await;
    let good = producer::samples(2, 11, now_ms(), 10);
    let key = good[0].partition_key.clone();
    let records = vec![
        Sample {
            partition_key: key.clone(),
            data: good[0].data.clone(),
        },
        Sample {
            partition_key: key.clone(),
            data: b"{\"sensorId\": oops".to_vec(),
        },
        Sample {
            partition_key: key,
            data: good[1].data.clone(),
        },
    ];
    send(&s, &records).await;
    wait_done(&s, 3).await;
    let rejected = archive(&s, "rejected/").await;
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("not valid JSON")
    );
    assert_eq!(archive(&s, "raw/").await.len(), 2);
    assert_table(&s, &good).await;
    assert_eq!(s.counters().batches_failed, 0);
    // One moment of the mapping: the records done, split by what the function did.
    let t = s.tally();
    assert_eq!(
        (
            t.mapping.records_done,
            t.function.counted,
            t.function.rejected,
            t.function.duplicates,
            t.mapping.records_given_up
        ),
        (3, 2, 1, 0, 0),
        "{t:?}"
    );
    s.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn given_up_batches_are_exact_after_redrive_even_behind_newer_records() {
    let mut s = up("dev", "redrive").await;
    let inbox = subscribe_inbox(&s, "failed-batch-inbox").await;
    let first = producer::samples(40, 21, now_ms(), 60);
    send(&s, &first).await;
    wait_done(&s, 40).await;
    assert_table(&s, &first).await;

    // Fault: the function's table is unreachable (as with revoked access).
    let table = break_table(&mut s).await;
    let second_now = now_ms();
    let second = producer::samples(40, 22, second_now, 60);
    send(&s, &second).await;
    wait_done(&s, 40).await;
    let c = s.counters();
    assert!(
        c.partial_failures >= 4,
        "first try and 3 retries reported partial failures: {c:?}"
    );
    assert!(c.batches_failed >= 1, "{c:?}");
    assert_eq!(
        c.records_read, 40,
        "the restarted mapping resumed after its checkpoint"
    );
    // Done, and every one of them given up: nothing was counted behind the broken table.
    let t = s.tally();
    assert_eq!(
        (
            t.mapping.records_done,
            t.mapping.records_given_up,
            t.function.counted
        ),
        (40, 40, 0),
        "{t:?}"
    );

    // The on-failure bucket keeps Lambda's invocation records: metadata and every record.
    let bucket = s.deployed.mapping.failure_bucket.clone();
    let keys = local::failure::list(&s.clients, &bucket)
        .await
        .expect("list");
    assert!(!keys.is_empty());
    let mut total = 0;
    for k in &keys {
        assert!(
            k.starts_with("aws/lambda/local-processorMapping/shardId-000000000000/"),
            "{k}"
        );
        let kept = local::failure::get(&s.clients, &bucket, k)
            .await
            .expect("kept batch");
        assert_eq!(
            kept.request_context.condition,
            local::failure::Condition::RetryAttemptsExhausted
        );
        let recs = kept.records().expect("the payload's records");
        assert_eq!(kept.batch.batch_size, recs.len());
        assert_eq!(kept.batch.start_sequence_number, recs[0].sequence_number);
        // As Lambda writes it: the payload an escaped JSON string, a response context
        // (the function was invoked), the key ending in a UUID.
        let raw = s
            .clients
            .s3
            .get_object()
            .bucket(&bucket)
            .key(k)
            .send()
            .await
            .expect("get");
        let raw = raw.body.collect().await.expect("body").into_bytes();
        let raw: Value = serde_json::from_slice(&raw).expect("json");
        assert!(raw["payload"].is_string(), "{raw}");
        assert_eq!(
            raw["responseContext"]["functionError"], "Unhandled",
            "{raw}"
        );
        assert_eq!(k.rsplit('-').next().map(str::len), Some(12), "{k}");
        total += kept.batch.batch_size;
    }
    assert_eq!(total, 40);
    // Raised and announced: the kept-batches alarm, once for the incident (not once per
    // batch), and the storage-failures alarm, from the function's EMF `BatchItemFailures`
    // (put to CloudWatch as CloudWatch Logs would; partial failures are not `Errors`).
    let kept_alarm = "realtime-data-processor-dev-kept-batches-waiting";
    for alarm in [kept_alarm, "realtime-data-processor-dev-storage-failures"] {
        wait_for(Duration::from_secs(30), alarm, || async {
            inbox_count(&s, &inbox, alarm).await > 0
        })
        .await;
    }
    assert_eq!(inbox_count(&s, &inbox, kept_alarm).await, 1, "{keys:?}");
    // Archived before counting: the archive has all 80 records even though 40 failed.
    assert_eq!(archive(&s, "raw/").await.len(), 80);

    // Clear the fault; newer records of the same keys and windows are counted first, so
    // the given-up records now lie below their keys' marks.
    restore_table(&mut s, table).await;
    let third = producer::samples(40, 23, second_now, 60);
    send(&s, &third).await;
    wait_done(&s, 40).await;
    assert_eq!(s.counters().batches_failed, 0);

    // The stream no longer holds the given-up records: redrive uses the kept batches only.
    s.stop_mapping().await;
    s.clients
        .kinesis
        .delete_stream()
        .stream_name(
            s.deployed
                .output(stackgen::stack::outputs::DATA_STREAM_NAME),
        )
        .send()
        .await
        .expect("delete stream");

    // Redrive: re-invoke, rebuild from the archive: exact totals over all 120 records.
    let r = s.redrive().await.expect("redrive");
    assert_eq!((r.records, r.waiting()), (40, 0), "{r:?}");
    // The bucket is empty: the redrive set the alarm OK (once the last keep left its window).
    assert!(r.alarm_cleared, "{r:?}");
    let states = status::alarms(&s.clients, &s.deployed.alarms)
        .await
        .expect("alarms");
    assert_eq!(states[kept_alarm], "OK");
    assert!(r.pages_rebuilt > 0, "{r:?}");
    let all: Vec<Sample> = first.iter().chain(&second).chain(&third).cloned().collect();
    assert_table(&s, &all).await;
    // A second redrive finds nothing to do and changes nothing.
    let again = s.redrive().await.expect("redrive again");
    assert_eq!(again.batches, 0);
    assert!(
        local::failure::list(&s.clients, &bucket)
            .await
            .expect("list")
            .is_empty()
    );
    assert_table(&s, &all).await;
    s.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn errors_above_the_threshold_raise_the_alarm_on_the_topic() {
    let mut s = up("dev", "alarm").await;
    let inbox_url = subscribe_inbox(&s, "alarm-inbox").await;

    // Fault: the function cannot start (its configuration is broken), so every invocation
    // fails; the mapping retries and bisects.
    s.deployed.function.env.remove("ARCHIVE_BUCKET");
    s.start_mapping().await.expect("restart");
    send(&s, &producer::samples(8, 31, now_ms(), 30)).await;
    wait_for(
        Duration::from_secs(90),
        "the errors alarm notification",
        || async { inbox_count(&s, &inbox_url, "realtime-data-processor-dev-errors").await > 0 },
    )
    .await;
    let c = s.counters();
    assert!(c.function_errors > 5, "{c:?}");
    let states = status::alarms(&s.clients, &s.deployed.alarms)
        .await
        .expect("alarms");
    assert_eq!(states["realtime-data-processor-dev-errors"], "ALARM");
    s.down().await;
}

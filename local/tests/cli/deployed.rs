//! The deployed target, with the emulator standing in for AWS: a stack deployed from the
//! program, its outputs saved as `pulumi stack output --json` prints them, and the binary
//! run with `--outputs` and the usual AWS environment (no state file, no local function):
//! redrive invokes the deployed function through `lambda:Invoke`. Faults: batches given up
//! behind newer records of the same keys, an archive object in GLACIER (the redrive stops
//! after invoking, before recovery, and says how to restore it), a redrive killed midway.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use local::producer::{self, Sample};
use local::{Build, LocalStack, UpOptions};

use super::{json, state};

/// The binary against the deployed stack whose outputs `outputs` holds, with an AWS
/// environment that points at the emulator and nothing else (no profile files).
fn deployed(s: &LocalStack, outputs: &Path, args: &[&str]) -> std::process::Command {
    let empty = state("deployed-no-state");
    let mut c = super::local(&empty, &["--outputs"]);
    c.arg(outputs).args(args);
    c.env("AWS_ENDPOINT_URL", &s.emulator.endpoint)
        .env("AWS_REGION", &s.deployed.region)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE");
    c
}

fn run(s: &LocalStack, outputs: &Path, args: &[&str]) -> Output {
    super::output(deployed(s, outputs, args))
}

/// Per entity: records, temperature sum (tenths), and events, from the samples alone.
fn oracle(samples: &[Sample]) -> BTreeMap<String, (u64, i64, BTreeMap<String, u64>)> {
    let mut out: BTreeMap<String, (u64, i64, BTreeMap<String, u64>)> = BTreeMap::new();
    for s in samples {
        let v: serde_json::Value = serde_json::from_slice(&s.data).expect("sample");
        let id = v["sensorId"].as_str().or(v["userId"].as_str()).expect("id");
        let e = out.entry(id.to_owned()).or_default();
        e.0 += 1;
        e.1 += v["temperature"]
            .as_f64()
            .map_or(0, |t| (t * 10.0).round() as i64);
        if let Some(ev) = v["event"].as_str() {
            *e.2.entry(ev.to_owned()).or_default() += 1;
        }
    }
    out
}

/// The table, summed over windows per entity, read with the deployed target's `query`.
fn table(
    s: &LocalStack,
    outputs: &Path,
    entities: &[String],
) -> BTreeMap<String, (u64, i64, BTreeMap<String, u64>)> {
    let mut out = BTreeMap::new();
    for id in entities {
        let views = json(&run(s, outputs, &["query", "--entity", id, "--json"]));
        let mut e: (u64, i64, BTreeMap<String, u64>) = Default::default();
        for w in views.as_array().expect("windows") {
            e.0 += w["count"].as_u64().expect("count");
            if let Some(sum) = w["metrics"]["temperature"]["sum"].as_f64() {
                e.1 += (sum * 10.0).round() as i64;
            }
            for (ev, n) in w["events"].as_object().into_iter().flatten() {
                *e.2.entry(ev.clone()).or_default() += n.as_u64().expect("event count");
            }
        }
        out.insert(id.clone(), e);
    }
    out
}

async fn send(s: &LocalStack, samples: &[Sample]) {
    let stream = s
        .deployed
        .output(stackgen::stack::outputs::DATA_STREAM_NAME);
    producer::send(&s.clients, stream, samples, 0, None)
        .await
        .expect("sent");
}

async fn wait_done(s: &LocalStack, n: u64) {
    let started = Instant::now();
    while s.counters().records_done < n {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{:?}",
            s.counters()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The keys under `raw/` in the archive bucket `archive` (one listing page: these tests
/// write far fewer than 1,000 objects).
async fn raw_keys(s: &LocalStack, archive: &str) -> Vec<String> {
    let listed = s
        .clients
        .s3
        .list_objects_v2()
        .bucket(archive)
        .prefix("raw/")
        .send()
        .await
        .expect("list");
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

async fn kept(s: &LocalStack) -> Vec<String> {
    local::failure::list(&s.clients, &s.deployed.mapping.failure_bucket)
        .await
        .expect("list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn a_deployed_stack_is_redriven_exactly_through_the_lambda_api() {
    let dir = state("deployed");
    let mut s = LocalStack::up(&UpOptions {
        root: local::repo_root(),
        stack: "dev".into(),
        port: None,
        build: Build::PACKAGED,
        progress: false,
        state_dir: Some(dir.join("dev")),
        architecture: None,
    })
    .await
    .expect("the stack deploys");
    // The outputs, as `pulumi stack output --json` prints them.
    let outputs = dir.join("outputs.json");
    std::fs::write(
        &outputs,
        serde_json::to_string_pretty(&s.deployed.outputs).expect("json"),
    )
    .expect("outputs file");

    let now = chrono::Utc::now().timestamp_millis();
    let first = producer::samples(40, 41, now, 60);
    send(&s, &first).await;
    wait_done(&s, 40).await;
    // Fault: the mapping's function cannot reach the table, so Lambda gives up (the
    // deployed function, which redrive invokes, is healthy: the fault has been fixed).
    let table_name = s.deployed.function.env["METRICS_TABLE"].clone();
    s.deployed
        .function
        .env
        .insert("METRICS_TABLE".into(), format!("{table_name}-unreachable"));
    s.start_mapping().await.expect("restart");
    // In three sends, so at least three batches are kept and a redrive can be killed
    // between two of them.
    let second = producer::samples(39, 42, now, 60);
    for (i, part) in second.chunks(13).enumerate() {
        send(&s, part).await;
        wait_done(&s, 13 * (i as u64 + 1)).await;
    }
    assert!(kept(&s).await.len() >= 3, "{:?}", s.counters());
    // Newer records of the same keys are counted first.
    s.deployed
        .function
        .env
        .insert("METRICS_TABLE".into(), table_name);
    s.start_mapping().await.expect("restart");
    let third = producer::samples(40, 43, now, 60);
    send(&s, &third).await;
    wait_done(&s, 40).await;
    s.stop_mapping().await;
    let batches = kept(&s).await.len();

    // --dry-run: the kept batches and what their rebuild would read; nothing changes.
    let plan = json(&run(&s, &outputs, &["redrive", "--dry-run", "--json"]));
    let listed = plan["kept"].as_array().expect("kept");
    assert_eq!(listed.len(), batches, "{plan}");
    let records: u64 = listed
        .iter()
        .map(|k| k["records"].as_u64().expect("n"))
        .sum();
    assert_eq!(records, 39, "{plan}");
    for k in listed {
        assert!(
            !k["rebuild"]["archive_hours"]
                .as_array()
                .expect("hours")
                .is_empty(),
            "{k}"
        );
        assert_eq!(k["condition"], "RetryAttemptsExhausted", "{k}");
    }
    assert_eq!(kept(&s).await.len(), batches);

    // status: kept batches waiting, the stack's alarms, the metrics (the mapping published
    // Lambda's; the emulator has no mapping of its own, which status says).
    let st = json(&run(&s, &outputs, &["status", "--json", "--minutes", "30"]));
    assert_eq!(st["failed_batches_waiting"], batches, "{st}");
    assert_eq!(st["alarms"].as_object().expect("alarms").len(), 9, "{st}");
    // Lambda's deliveries to the bucket raised the kept-batches alarm.
    let kept_alarm = s
        .deployed
        .output(stackgen::stack::outputs::KEPT_BATCHES_ALARM_NAME);
    assert_eq!(st["alarms"][kept_alarm], "ALARM", "{st}");
    assert_eq!(st["mappings"], serde_json::json!([]), "{st}");
    // watch on a terminal: the deployed monitor shows the same, and fits.
    let endpoint = s.emulator.endpoint.clone();
    let empty = state("deployed-watch-no-state");
    let view = super::terminal::in_pty(
        &[
            "--state",
            &empty.to_string_lossy(),
            "--outputs",
            &outputs.to_string_lossy(),
            "watch",
            "--interval",
            "1",
        ],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_REGION", &s.deployed.region),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ],
        (30, 100),
        8,
    );
    let lines = super::terminal::last_screen(view, 30, 100);
    let text = lines.join("\n");
    assert!(
        lines[0].starts_with(&format!(
            "deployed {}",
            s.deployed
                .output(stackgen::stack::outputs::PROCESSOR_FUNCTION_NAME)
        )),
        "{text}"
    );
    for needle in [
        "mapping  none found for the function".to_owned(),
        format!("kept     {batches} batches waiting for redrive"),
        "kept-batches-waiting ALARM".to_owned(),
        "records in per minute".to_owned(),
    ] {
        assert!(text.contains(&needle), "no {needle:?} in\n{text}");
    }
    let metric = |name: &str| {
        st["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|m| m["name"] == name)
            .and_then(|m| m["value"].as_f64())
    };
    assert!(metric("Invocations").unwrap_or(0.0) > 0.0, "{st}");
    assert!(metric("Errors").is_some(), "{st}");

    // An archive object the rebuild needs is in GLACIER: redrive invokes, then stops before
    // recovery, keeps every batch, and names the restore command.
    let archive = s
        .deployed
        .output(stackgen::stack::outputs::ARCHIVE_BUCKET_NAME)
        .to_owned();
    let frozen = raw_keys(&s, &archive).await[0].clone();
    s.clients
        .s3
        .copy_object()
        .bucket(&archive)
        .key(&frozen)
        .copy_source(format!("{archive}/{frozen}"))
        .storage_class(aws_sdk_s3::types::StorageClass::Glacier)
        .send()
        .await
        .expect("to GLACIER");
    let o = run(&s, &outputs, &["redrive"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("GLACIER") && out.contains("restore-object"),
        "{out}"
    );
    assert!(out.contains(&frozen), "{out}");
    assert_eq!(kept(&s).await.len(), batches, "every batch stays");

    // Restored (the emulator takes 2 s), redrive runs again; killed once it has deleted
    // a batch, and run once more to the end.
    s.clients
        .s3
        .restore_object()
        .bucket(&archive)
        .key(&frozen)
        .restore_request(aws_sdk_s3::types::RestoreRequest::builder().days(1).build())
        .send()
        .await
        .expect("restore");
    // Restored when HeadObject says so (`ongoing-request="false"`), as on AWS.
    let started = Instant::now();
    loop {
        let head = s
            .clients
            .s3
            .head_object()
            .bucket(&archive)
            .key(&frozen)
            .send()
            .await
            .expect("head");
        if head
            .restore()
            .is_some_and(|r| r.contains("ongoing-request=\"false\""))
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{head:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut child = deployed(&s, &outputs, &["redrive"])
        .spawn()
        .expect("redrive");
    let started = Instant::now();
    while kept(&s).await.len() == batches && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let left = kept(&s).await.len();
    assert!(
        0 < left && left < batches,
        "killed between batches: {left} of {batches} left"
    );
    let o = run(&s, &outputs, &["redrive", "--json"]);
    let report = json(&o);
    assert!(kept(&s).await.is_empty(), "{report}");
    // The bucket is empty: the redrive set the kept-batches alarm OK (the incident ended).
    assert_eq!(report["alarm_cleared"], true, "{report}");
    let st = json(&run(&s, &outputs, &["status", "--json"]));
    assert_eq!(st["alarms"][kept_alarm], "OK", "{st}");

    // Exact: every record once, by the deployed target's own `query`.
    let all: Vec<Sample> = first.iter().chain(&second).chain(&third).cloned().collect();
    let want = oracle(&all);
    let entities: Vec<String> = want.keys().cloned().collect();
    assert_eq!(table(&s, &outputs, &entities), want);
    // Idempotent: a further redrive finds nothing and changes nothing.
    let again = json(&run(&s, &outputs, &["redrive", "--json"]));
    assert_eq!(again["batches"], 0, "{again}");
    assert_eq!(table(&s, &outputs, &entities), want);
    // A batch kept for years (the Lambda guide's, arrived 2019): past its counting deadline,
    // so never invoked. By default it stays, with the reason; `--expired quarantine` moves
    // its records to rejected/, uncounted. The table does not change either way.
    let failed = s.deployed.mapping.failure_bucket.clone();
    let old_key = local::failure::key("0000", "shardId-000000000001", now);
    s.clients
        .s3
        .put_object()
        .bucket(&failed)
        .key(&old_key)
        .body(
            include_bytes!("../../fixtures/on-failure-s3-kinesis.json")
                .to_vec()
                .into(),
        )
        .send()
        .await
        .expect("plant an old kept batch");
    let plan = json(&run(&s, &outputs, &["redrive", "--dry-run", "--json"]));
    let why = plan["kept"][0]["past_deadline"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("counting deadline"), "{plan}");
    let o = run(&s, &outputs, &["redrive", "--json"]);
    assert!(
        !o.status.success(),
        "a batch left waiting fails the command"
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON output");
    assert_eq!(report["still_failing"][0][0], old_key.as_str(), "{report}");
    assert!(
        super::stderr(&o).contains("still waiting"),
        "{}",
        super::stderr(&o)
    );
    assert_eq!(kept(&s).await, std::slice::from_ref(&old_key));
    let report = json(&run(
        &s,
        &outputs,
        &["redrive", "--expired", "quarantine", "--json"],
    ));
    assert_eq!(
        (
            &report["quarantined"],
            &report["quarantined_records"],
            &report["batches"]
        ),
        (
            &serde_json::json!(1),
            &serde_json::json!(2),
            &serde_json::json!(0)
        ),
        "{report}"
    );
    assert!(kept(&s).await.is_empty());
    let quarantined = s
        .clients
        .s3
        .list_objects_v2()
        .bucket(&archive)
        .prefix("rejected/year=2019/month=11/")
        .send()
        .await
        .expect("list");
    assert_eq!(quarantined.contents().len(), 1, "{quarantined:?}");
    assert_eq!(table(&s, &outputs, &entities), want);
    // compact: the deployed compactor (handler `compact`) through lambda:Invoke merges the
    // hours' batch objects (the redrive's late ones too); the table reads the same.
    let mut hours: Vec<String> = raw_keys(&s, &archive)
        .await
        .iter()
        .filter_map(|k| {
            let f = |n: &str| k.split('/').find_map(|p| p.strip_prefix(n));
            Some(format!(
                "{}-{}-{}T{}",
                f("year=")?,
                f("month=")?,
                f("day=")?,
                f("hour=")?
            ))
        })
        .collect();
    hours.dedup();
    let mut args = vec!["compact", "--json"];
    for h in &hours {
        args.extend(["--hour", h.as_str()]);
    }
    let report = json(&run(&s, &outputs, &args));
    assert!(report["shardHours"].as_u64() >= Some(1), "{report}");
    assert_eq!(report["left"], serde_json::json!([]), "{report}");
    let after = raw_keys(&s, &archive).await;
    assert!(
        after.iter().all(|k| k.ends_with("-compacted.ndjson.gz")),
        "{after:?}"
    );
    assert_eq!(table(&s, &outputs, &entities), want);
    // sql: the deployed workgroup's saved query through the Athena API, each record once
    // (the compacted hours and the redrive's records alike).
    let (first, last) = (
        format!("'{}'", hours.first().expect("an hour")),
        format!("'{}'", hours.last().expect("an hour")),
    );
    let counts = json(&run(
        &s,
        &outputs,
        &[
            "sql",
            "--named",
            "counts-per-window",
            "--json",
            "--param",
            &first,
            "--param",
            &last,
            "--param",
            &first,
            "--param",
            &last,
        ],
    ));
    let counted: u64 = counts["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r[2].as_str()
                .and_then(|n| n.parse::<u64>().ok())
                .expect("a count")
        })
        .sum();
    assert_eq!(counts["columns"][2], "records", "{counts}");
    assert_eq!(counted, want.values().map(|e| e.0).sum::<u64>(), "{counts}");
    // logs: the deployed function's lines from CloudWatch Logs (its redrive invocations).
    let o = run(&s, &outputs, &["logs", "--since", "10m", "--lines", "500"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", super::stderr(&o));
    assert!(text.contains("REPORT RequestId"), "{text}");
    s.down().await;
}

//! End to end: SQL over the archive on the local stack (the program's Glue tables and
//! Athena workgroup in MiniStack, which answers with DuckDB). Every saved query runs; the
//! de-duplicated counts per entity and window equal the metrics table's although retries
//! and a redrive archived records more than once; the rejected table lists exactly what was
//! quarantined, with reasons.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use local::LocalStack;
use local::producer::{self, Sample};
use local::sql::{self, Answer, Place};
use stackgen::stack::outputs;

use crate::e2e::{
    aggregates, archive, archive_keys, break_table, now_ms, restore_table, send, up, wait_done,
};

/// The stack's workgroup and database.
fn place(s: &LocalStack) -> Place<'_> {
    Place {
        workgroup: s.deployed.output(outputs::ATHENA_WORKGROUP_NAME),
        database: s.deployed.output(outputs::GLUE_DATABASE_NAME),
    }
}

async fn query(s: &LocalStack, text: &str, params: &[String]) -> Answer {
    sql::run(&s.clients.athena, &place(s), text, params)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// One column of an answer, by name.
fn col<'a>(a: &'a Answer, row: &'a [Option<String>], name: &str) -> &'a str {
    let i = a.columns.iter().position(|c| c == name).expect(name);
    row[i].as_deref().unwrap_or_default()
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Records that cannot be counted: not JSON, or JSON that is not an object.
fn bad(n: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| Sample {
            partition_key: format!("bad-{i}"),
            data: match i % 3 {
                0 => format!("not json {i}"),
                1 => format!("[{i}]"),
                _ => format!("\"text {i}\""),
            }
            .into_bytes(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn sql_counts_each_record_once_equal_to_the_metrics_table_and_lists_the_quarantined() {
    let mut s = up("dev", "sql").await;
    let start = now_ms();
    let first = producer::samples(800, 41, start, 60);
    let rejects = bad(30);
    let mixed: Vec<Sample> = first.iter().chain(&rejects).cloned().collect();
    send(&s, &mixed).await;
    wait_done(&s, mixed.len() as u64).await;

    // Give-ups: the table unreachable, so batches are retried and bisected (each time
    // archived again) and kept; the redrive archives them once more and counts them.
    let table = break_table(&mut s).await;
    let second = producer::samples(200, 42, now_ms(), 60);
    send(&s, &second).await;
    wait_done(&s, 200).await;
    assert!(s.counters().batches_failed >= 1, "{:?}", s.counters());
    restore_table(&mut s, table).await;
    let r = s.redrive().await.expect("redrive");
    assert_eq!((r.records, r.waiting()), (200, 0), "{r:?}");
    s.stop_mapping().await;

    let hour = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .expect("time")
            .format("'%Y-%m-%dT%H'")
            .to_string()
    };
    let hours = [hour(start - 3_600_000), hour(now_ms() + 3_600_000)];

    // The archive holds copies (of bisected retries, when the run had some, and of this
    // object, put again under another key of its hour as a retry of part of its batch
    // would be): the de-duplication is what makes the counts right.
    let bucket = s.deployed.output(outputs::ARCHIVE_BUCKET_NAME);
    let key = archive_keys(&s, "raw/").await.remove(0);
    s.clients
        .s3
        .copy_object()
        .bucket(bucket)
        .copy_source(format!("{bucket}/{key}"))
        .key(key.replace(".ndjson.gz", "-retried.ndjson.gz"))
        .send()
        .await
        .expect("copy");
    // A record the table refuses is archived under raw/ (before counting) and quarantined
    // under rejected/, uncounted. Here a rejected line written by hand stands for the
    // refusal of one counted record: SQL must count it out.
    let raw = archive(&s, "raw/").await;
    let refused = raw
        .iter()
        .find(|l| l["entity"].is_string())
        .expect("a counted line")
        .clone();
    let mut line = refused.clone();
    let fields = line.as_object_mut().expect("object");
    fields.remove("entity");
    fields.remove("windowStart");
    fields.insert(
        "reason".into(),
        "metrics table refused the item: test".into(),
    );
    let hour_of =
        |k: &str| k[k.find("year=").expect("hour")..k.rfind('/').expect("/") + 1].to_owned();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, format!("{line}\n").as_bytes()).expect("gzip");
    s.clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(format!("rejected/{}refused.ndjson.gz", hour_of(&key)))
        .body(gz.finish().expect("gzip").into())
        .send()
        .await
        .expect("put");

    let lines = query(&s, "SELECT count(*) AS n FROM records", &[]).await;
    let distinct = query(
        &s,
        "SELECT count(*) AS n FROM (SELECT DISTINCT shardId, sequenceNumber, \
         subSequenceNumber FROM records WHERE entity IS NOT NULL) AS once",
        &[],
    )
    .await;
    let n = |a: &Answer| col(a, &a.rows[0], "n").parse::<u64>().expect("a count");
    assert_eq!(n(&distinct), 1_000, "every counted record once");
    assert!(n(&lines) > 1_000, "retries archived copies: {}", n(&lines));
    assert!(lines.data_scanned_bytes > 0, "{lines:?}");

    // Every saved query of the workgroup, as the program saved it, runs.
    let saved = sql::saved(&s.clients.athena, place(&s).workgroup)
        .await
        .expect("named queries");
    let names: BTreeSet<&str> = saved.iter().map(|q| q.name.as_str()).collect();
    let program: BTreeSet<&str> = stackgen::stack::sql::NAMED.iter().map(|q| q.name).collect();
    assert_eq!(names, program);
    let mut answers = BTreeMap::new();
    for q in &saved {
        let mut params: Vec<String> = hours.to_vec();
        if q.name == "counts-per-window" {
            params.extend(hours.iter().cloned());
        }
        if q.name == "records-of-entity" {
            params.insert(0, quoted("sensor-001"));
        }
        answers.insert(q.name.clone(), query(&s, &q.query, &params).await);
    }

    // Counts per entity and window equal the metrics table's (less the refused one).
    let table = aggregates(&s).await;
    let mut expected: BTreeMap<(String, String), u64> = table
        .iter()
        .map(|(k, a)| (k.clone(), a.totals.count))
        .collect();
    let window = refused["windowStart"].as_str().expect("window").to_owned();
    let entity = refused["entity"].as_str().expect("entity").to_owned();
    *expected.get_mut(&(entity, window)).expect("its window") -= 1;
    expected.retain(|_, n| *n > 0);
    let counts = &answers["counts-per-window"];
    let got: BTreeMap<(String, String), u64> = counts
        .rows
        .iter()
        .map(|row| {
            let window = col(counts, row, "window_start").to_owned();
            let records = col(counts, row, "records").parse().expect("count");
            ((col(counts, row, "entity").to_owned(), window), records)
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(got.values().sum::<u64>(), 999);

    // One entity's records, each once.
    let sent = first
        .iter()
        .chain(&second)
        .filter(|x| x.partition_key == "sensor-001")
        .count();
    assert_eq!(answers["records-of-entity"].rows.len(), sent);

    // The rejected table lists exactly the quarantined records, with their reasons.
    let listed = &answers["rejected-records"];
    let mut quarantined = BTreeMap::new();
    for row in &listed.rows {
        if col(listed, row, "reason").starts_with("metrics table refused") {
            assert_eq!(
                col(listed, row, "sequence_number"),
                refused["sequenceNumber"]
            );
            continue;
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(col(listed, row, "data_base64"))
            .expect("base64");
        let reason = col(listed, row, "reason").to_owned();
        let key = col(listed, row, "partition_key").to_owned();
        assert!(
            quarantined.insert(key, (data, reason)).is_none(),
            "listed twice"
        );
    }
    assert_eq!(quarantined.len(), rejects.len());
    for (i, b) in rejects.iter().enumerate() {
        let (data, reason) = &quarantined[&b.partition_key];
        assert_eq!(data, &b.data);
        let why = if i % 3 == 0 {
            "not valid JSON"
        } else {
            "JSON value is not an object"
        };
        assert!(reason.starts_with(why), "{reason}");
    }
    let by_reason = &answers["rejected-by-reason"];
    let total: u64 = by_reason
        .rows
        .iter()
        .map(|r| col(by_reason, r, "records").parse::<u64>().expect("count"))
        .sum();
    assert_eq!(total, rejects.len() as u64 + 1);

    // README's query, for today: each counted record once per entity.
    let block = local::readme_block("sql-check", "sql").expect("README's checked SQL block");
    let today = chrono::Utc::now()
        .format("year = '%Y' AND month = '%m' AND day = '%d'")
        .to_string();
    let day = "year = '2026' AND month = '12' AND day = '07'";
    assert!(block.contains(day), "the block filters on one day: {block}");
    let pasted = block.replace(day, &today);
    let per_entity = query(&s, &pasted, &[]).await;
    let total: u64 = per_entity
        .rows
        .iter()
        .map(|r| {
            col(&per_entity, r, "records")
                .parse::<u64>()
                .expect("count")
        })
        .sum();
    // (A run that crosses midnight UTC sees yesterday's records in another day.)
    assert!(total <= 1_000 && total > 0, "{total}");

    // A parameter count the query does not have fails the call, as on Athena.
    let place = place(&s);
    let one = sql::run(&s.clients.athena, &place, &saved[0].query, &hours[..1]).await;
    assert!(one.is_err(), "{one:?}");

    // A query that would scan more than the workgroup's limit is cancelled, with Athena's
    // reason. (Athena's smallest limit is 10 MB; the emulator takes a smaller one, so a
    // small archive can pass it.)
    s.clients
        .athena
        .update_work_group()
        .work_group(place.workgroup)
        .configuration_updates(
            aws_sdk_athena::types::WorkGroupConfigurationUpdates::builder()
                .bytes_scanned_cutoff_per_query(lines.data_scanned_bytes / 2)
                .build(),
        )
        .send()
        .await
        .expect("update");
    let over = sql::run(
        &s.clients.athena,
        &place,
        "SELECT count(*) FROM records",
        &[],
    )
    .await;
    match over {
        Err(local::error::Error::Query { state, reason }) => {
            assert_eq!(state, "cancelled");
            assert!(reason.contains("Bytes scanned limit"), "{reason}");
        }
        other => panic!("not cancelled: {other:?}"),
    }
    s.down().await;
}

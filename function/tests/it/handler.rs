//! The batch handler on AWS-shaped fixture events, with in-memory stores.

use std::sync::atomic::Ordering;

use function::store::{Av, Dec, iso_millis};
use serde_json::Value;

use crate::support::{block_on, fixture, processor, totals};

fn num(v: Option<&Av>) -> f64 {
    v.and_then(Av::as_n)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {v:?}"))
}

/// A warm container keeps the view of a recent item (its next record is one write, no
/// conflict) and drops the views of windows far behind the newest one it wrote, so memory
/// follows the active items: a late record for a dropped item costs one conflict and is
/// still counted once.
#[test]
fn warm_views_follow_the_recent_windows() {
    use crate::support::{In, SHARDS, T0_MS, event, seq};
    let (p, _, table) = processor();
    let at = |n: u64, minute: i64| {
        let ms = T0_MS + minute * 60_000;
        let ts = chrono::DateTime::from_timestamp_millis(ms)
            .expect("valid")
            .to_rfc3339();
        In {
            shard: SHARDS[0],
            seq: seq(n),
            partition_key: "sensor-a".into(),
            data: format!(r#"{{"sensorId":"sensor-a","temperature":1,"timestamp":"{ts}"}}"#)
                .into_bytes(),
            arrival_ms: ms,
        }
    };
    let run = |r: In| block_on(p.process(&event(&[r]))).expect("processed").1;
    assert_eq!(run(at(1, 0)).conflicts, 0, "a new item");
    assert_eq!(run(at(2, 0)).conflicts, 0, "its view was kept");
    assert_eq!(run(at(3, 60)).conflicts, 0, "an hour later: a new item");
    let late = run(at(4, 0));
    assert_eq!(
        (late.counted, late.conflicts),
        (1, 1),
        "the old view was dropped"
    );
    let counts: Vec<u64> = totals(&table).values().map(|t| t.count).collect();
    assert_eq!(counts, [3, 1]);
}

#[test]
fn sensor_and_clickstream_batch_is_archived_and_aggregated() {
    let (p, archive, table) = processor();
    let ev = fixture("kinesis-sensor-clickstream.json");
    let (resp, summary) = block_on(p.process(&ev)).expect("processed");
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!((summary.counted, summary.rejected), (7, 0));

    let lines = archive.lines("raw/");
    assert_eq!(lines.len(), 7);
    assert!(lines.iter().all(|l| l["shardId"] == "shardId-000000000000"));
    assert_eq!(lines[0]["data"]["sensorId"], "sensor-001");
    let keys: Vec<String> = archive.snapshot().into_keys().collect();
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].starts_with("raw/year=2024/month=01/day=15/hour=10/shardId-000000000000-"),
        "{}",
        keys[0]
    );

    let items = totals(&table);
    let s1 = &items[&("sensor-001".to_owned(), "2024-01-15T10:30:00Z".to_owned())];
    let t = &s1.metrics["temperature"];
    assert_eq!(s1.count, 2);
    assert_eq!(
        (t.sum, t.min, t.max),
        (
            Dec::parse("50").expect("n"),
            Dec::parse("24.5").expect("n"),
            Dec::parse("25.5").expect("n")
        )
    );
    assert_eq!(s1.metrics["humidity"].count, 2);
    assert_eq!(iso_millis(s1.first_event_ms), "2024-01-15T10:30:00.000Z");
    assert_eq!(iso_millis(s1.last_event_ms), "2024-01-15T10:30:30.000Z");
    // TTL: window end + 90 days (every record arrived before the window ended), on the
    // item as DynamoDB's TTL reads it.
    let raw = table.snapshot();
    let item = &raw[&("sensor-001".to_owned(), "2024-01-15T10:30:00Z".to_owned())];
    assert_eq!(num(item.get("ttl")), (1_705_314_660 + 90 * 86_400) as f64);
    let next = &items[&("sensor-001".to_owned(), "2024-01-15T10:31:00Z".to_owned())];
    assert_eq!(next.count, 1);
    let user = &items[&("user-42".to_owned(), "2024-01-15T10:30:00Z".to_owned())];
    assert_eq!(user.events["page_view"], 1);
    assert_eq!(user.events["add_to_cart"], 1);
    assert_eq!(
        user.metrics["session.durationMs"].sum,
        Dec::parse("2401").expect("n")
    );
    assert_eq!(items.len(), 5);
}

#[test]
fn a_redelivered_batch_changes_nothing() {
    let (p, _archive, table) = processor();
    let ev = fixture("kinesis-sensor-clickstream.json");
    block_on(p.process(&ev)).expect("first");
    let before = table.snapshot();
    // A fresh container (empty cache) and the warm one both see the batch again.
    let (fresh, ..) = processor();
    let fresh =
        function::handler::Processor::new(fresh.config.clone(), _archive.clone(), table.clone());
    let (_, s1) = block_on(fresh.process(&ev)).expect("again");
    let (_, s2) = block_on(p.process(&ev)).expect("again");
    assert_eq!((s1.counted, s1.duplicates), (0, 7));
    assert_eq!((s2.counted, s2.duplicates), (0, 7));
    assert_eq!(table.snapshot(), before);
}

#[test]
fn bad_records_are_quarantined_and_do_not_block_the_shard() {
    let (p, archive, table) = processor();
    let (resp, summary) = block_on(p.process(&fixture("kinesis-bad-records.json"))).expect("ok");
    assert!(
        resp.batch_item_failures.is_empty(),
        "a poison record must not fail the batch"
    );
    assert_eq!((summary.rejected, summary.counted), (7, 1));
    let rejected = archive.lines("rejected/");
    assert_eq!(rejected.len(), 7);
    let reasons: Vec<&str> = rejected
        .iter()
        .filter_map(|l| l["reason"].as_str())
        .collect();
    for expected in [
        "not valid JSON",
        "not an object",
        "gzip",
        "checksum",
        "exceeds",
        "nesting",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "no rejection mentions {expected:?}: {reasons:?}"
        );
    }
    assert!(rejected.iter().all(|l| l["dataBase64"].is_string()));
    assert_eq!(archive.lines("raw/").len(), 1);
    assert_eq!(table.snapshot().len(), 1);
}

#[test]
fn kpl_records_are_deaggregated() {
    let (p, archive, table) = processor();
    let (_, s) = block_on(p.process(&fixture("kinesis-kpl-aggregated.json"))).expect("ok");
    assert_eq!((s.kinesis_records, s.user_records, s.counted), (1, 3, 3));
    let entities: Vec<String> = table.snapshot().into_keys().map(|(e, _)| e).collect();
    assert_eq!(entities, ["sensor-001", "sensor-002", "user-42"]);
    let subs: Vec<u64> = archive
        .lines("raw/")
        .iter()
        .filter_map(|l| l["subSequenceNumber"].as_u64())
        .collect();
    assert_eq!(subs, [0, 1, 2]);
    assert_eq!(archive.lines("raw/")[2]["partitionKey"], "user-42");
}

#[test]
fn cloudwatch_logs_events_become_records() {
    let (p, archive, table) = processor();
    let (resp, s) = block_on(p.process(&fixture("kinesis-cloudwatch-logs.json"))).expect("ok");
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!((s.counted, s.control_messages, s.rejected), (3, 1, 0));
    let items = table.snapshot();
    let entities: Vec<&str> = items.keys().map(|(e, _)| e.as_str()).collect();
    assert_eq!(entities, ["/app/web", "dev-9", "user-42"]);
    let log_item = &items[&("/app/web".to_owned(), "2024-01-15T10:30:00Z".to_owned())];
    assert_eq!(num(log_item.get("log_lines")), 1.0);
    let lines = archive.lines("raw/");
    assert!(lines.iter().any(|l| l["message"] == "GET /health 200 3ms"));
    // The log group is archived with each log line: recovery keys it the same way.
    assert!(
        lines
            .iter()
            .filter(|l| l["message"].is_string())
            .all(|l| l["logGroup"] == "/app/web")
    );
}

#[test]
fn archive_failure_reports_the_first_unarchived_record_and_counts_nothing_after() {
    let (p, archive, table) = processor();
    archive
        .fail_prefixes
        .lock()
        .expect("lock")
        .push("raw/".into());
    let ev = fixture("kinesis-sensor-clickstream.json");
    let (resp, s) = block_on(p.process(&ev)).expect("processed");
    let first_seq = ev.records[0].kinesis.sequence_number.clone();
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert_eq!(
        resp.batch_item_failures[0].item_identifier.as_deref(),
        Some(first_seq.as_str())
    );
    assert_eq!(s.counted, 0);
    assert!(table.snapshot().is_empty());
}

#[test]
fn table_failure_reports_the_earliest_record_of_a_failed_item() {
    let (p, archive, table) = processor();
    table.failing.store(true, Ordering::SeqCst);
    let ev = fixture("kinesis-sensor-clickstream.json");
    let (resp, s) = block_on(p.process(&ev)).expect("processed");
    assert_eq!(
        resp.batch_item_failures[0].item_identifier.as_deref(),
        Some(ev.records[0].kinesis.sequence_number.as_str())
    );
    assert_eq!(s.counted, 0);
    assert_eq!(archive.lines("raw/").len(), 7, "archived before counting");
    table.failing.store(false, Ordering::SeqCst);
    let (resp, s) = block_on(p.process(&ev)).expect("retry");
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(s.counted, 7);
}

#[test]
fn handler_response_serializes_like_lambda_expects() {
    let (p, archive, _) = processor();
    archive
        .fail_prefixes
        .lock()
        .expect("lock")
        .push("raw/".into());
    let resp = block_on(p.handle(fixture("kinesis-sensor-clickstream.json"))).expect("ok");
    let json: Value = serde_json::to_value(&resp).expect("json");
    assert!(
        json["batchItemFailures"][0]["itemIdentifier"].is_string(),
        "{json}"
    );
}

mod conservation {
    use proptest::prelude::*;

    use crate::arb::arb_payload;
    use crate::support::{In, SHARDS, T0_MS, block_on, event, processor, seq};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Every input record is either counted (and archived raw) or rejected (and archived
        /// with a reason): valid + rejected = input, nothing dropped, nothing failed. The
        /// oracle is the generator's own label: a generated reading or event counts; bytes
        /// behind a NUL (never JSON, never a KPL or gzip header) are one rejected record.
        #[test]
        fn valid_plus_rejected_is_the_input(
            records in prop::collection::vec(
                prop_oneof![
                    arb_payload().prop_map(|p| (true, p.to_string().into_bytes())),
                    prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
                        b.insert(0, 0);
                        (false, b)
                    }),
                ],
                1..40,
            )
        ) {
            let ins: Vec<In> = records
                .iter()
                .enumerate()
                .map(|(i, (_, data))| In {
                    shard: SHARDS[0],
                    seq: seq(i as u64 + 1),
                    partition_key: format!("k{}", i % 3),
                    data: data.clone(),
                    arrival_ms: T0_MS,
                })
                .collect();
            let valid = records.iter().filter(|(v, _)| *v).count() as u64;
            let (p, archive, _) = processor();
            let (resp, s) = block_on(p.process(&event(&ins))).expect("processed");
            prop_assert!(resp.batch_item_failures.is_empty());
            prop_assert_eq!(s.user_records, records.len() as u64);
            prop_assert_eq!(s.counted, valid);
            prop_assert_eq!(s.rejected, records.len() as u64 - valid);
            prop_assert_eq!(archive.lines("raw/").len() as u64, valid);
            prop_assert_eq!(archive.lines("rejected/").len() as u64, s.rejected);
        }
    }
}

/// A late record (an event time long before its arrival) gets a page that lives
/// `metricsTtlDays` past the arrival, not past its old window: the page must outlive every
/// redelivery of the record the stream can still make.
#[test]
fn a_late_records_page_lives_past_its_arrival() {
    use crate::support::{In, SHARDS, T0_MS, event, seq};
    let (p, _, table) = processor();
    // Five days before its arrival: inside MAX_PAST_AGE_SECONDS (7 days), so it is counted
    // in its own old window.
    let five_days_earlier = T0_MS / 1000 - 5 * 86_400;
    let rec = In {
        shard: SHARDS[0],
        seq: seq(1),
        partition_key: "k".into(),
        data: format!(r#"{{"sensorId":"late","timestamp":{five_days_earlier},"v":1}}"#)
            .into_bytes(),
        arrival_ms: T0_MS,
    };
    block_on(p.process(&event(&[rec]))).expect("processed");
    let pages = table.pages().expect("pages");
    let page = pages
        .iter()
        .find(|p| p.entity == "late")
        .expect("the late page");
    assert_eq!(page.window, "2024-01-10T10:30:00Z", "{page:?}");
    assert_eq!(page.ttl, T0_MS / 1000 + 90 * 86_400, "{page:?}");
}

//! The monitor's screen at 80×24 and 160×50 with a fault in progress, against committed
//! snapshots (`local/tests/snapshots/`; `UPDATE_SNAPSHOTS=1` rewrites them).

use std::collections::BTreeMap;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::model::History;
use super::model::Snapshot;
use super::render::*;
use crate::status::AggregateView;
use crate::status::{AlarmView, Counters, FunctionTotals, Report, Unread};
use chrono::{DateTime, Utc};

fn alarm(name: &str, state: &str, not_here: bool) -> (String, AlarmView) {
    (
        format!("realtime-data-processor-prod-{name}"),
        AlarmView {
            state: state.into(),
            not_evaluated_locally: not_here
                .then(|| "nothing here publishes AWS/Kinesis IncomingRecords".into()),
        },
    )
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").to_utc()
}

/// 300 entities, traffic, and a fault in progress: the archive bucket gone, batches
/// given up, an alarm firing, the failed-batches bucket unreadable; an alarm nothing here
/// can evaluate.
fn faulty() -> History {
    let latest: Vec<AggregateView> = (0..300)
        .map(|i| AggregateView {
            entity: format!("sensor-{i:04}"),
            window: "2026-12-07T01:59:00Z".into(),
            count: (i * 7919) % 97,
            metrics: BTreeMap::from([(
                "temperature".to_owned(),
                serde_json::json!({ "avg": 20.5 + f64::from(i as u32 % 10) }),
            )]),
            events: BTreeMap::new(),
            not_aggregated: 0,
        })
        .collect();
    let report = |read: u64, done: u64, counted: u64, failed: u64| Report {
        stack: "prod".into(),
        endpoint: "http://127.0.0.1:4566".into(),
        mapping: Counters {
            records_read: read,
            records_done: done,
            invocations: 40,
            function_errors: failed * 4,
            partial_failures: 0,
            batches_failed: failed,
            records_given_up: failed * 100,
            records_expired: 0,
            iterator_age_ms: 75_000,
            failure_writes_failed: 0,
        },
        function: FunctionTotals {
            batches: 38,
            counted,
            rejected: 3,
            duplicates: done - counted - 3 - failed * 100,
            ..FunctionTotals::default()
        },
        failed_batches_waiting: None,
        failed_batches_bucket: "b".into(),
        alarms: BTreeMap::from([
            alarm("errors", "ALARM", false),
            alarm("iterator-age", "OK", false),
            alarm("mapping-stalled", "OK", true),
            alarm("rejected-records", "INSUFFICIENT_DATA", false),
        ]),
        aggregates_in_table: Some(1_234),
        latest: latest.clone(),
        unread: vec![Unread {
            what: "the failed-batches bucket",
            error: "s3:ListObjectsV2 failed: service error: NoSuchBucket".into(),
        }],
        last_problem: None,
    };
    let mut h = History::default();
    let t0 = at("2026-12-07T02:00:00Z").timestamp_millis();
    h.push(Snapshot {
        at_ms: t0,
        report: report(1_000, 1_000, 997, 0),
    });
    h.push(Snapshot {
        at_ms: t0 + 2_000,
        report: report(1_500, 1_300, 1_000, 2),
    });
    for (i, d) in [61, 64, 70, 75, 80, 95, 120, 2_400].iter().enumerate() {
        h.logs.add(&format!(
            r#"{{"timestamp":"2026-12-07T02:00:0{i}Z","level":"INFO","message":"batch processed","duration_ms":{d}}}"#
        ));
    }
    h.logs.add(r#"{"timestamp":"2026-12-07T02:00:01.5Z","level":"WARN","message":"archive write failed","shard":"shardId-000000000001","error":"archive write raw/x failed: service error: NoSuchBucket: The specified bucket does not exist"}"#);
    h
}

fn screen(width: u16, height: u16, stale: Option<Stale>) -> Vec<String> {
    let h = faulty();
    let ctx = Context {
        stack: "prod",
        endpoint: "http://127.0.0.1:4566",
        now: at("2026-12-07T02:00:09Z"),
        stale,
        colour: true,
        keys: "q: leave this view (the stack keeps running)   Ctrl-C: stop the stack",
    };
    rendered(width, height, |f| draw(f, &h, &ctx))
}

/// `h` drawn without colour at `width`×`height`, at the fixture's clock.
fn plain(h: &History, width: u16, height: u16) -> Vec<String> {
    let ctx = Context {
        stack: "prod",
        endpoint: "e",
        now: at("2026-12-07T02:00:09Z"),
        stale: None,
        colour: false,
        keys: "q",
    };
    rendered(width, height, |f| draw(f, h, &ctx))
}

/// The lines a terminal of this size shows after `draw`.
fn rendered(width: u16, height: u16, draw: impl FnOnce(&mut ratatui::Frame<'_>)) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    t.draw(draw).expect("draw");
    let buf = t.backend().buffer().clone();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect()
}

/// The screen at a size equals its committed snapshot (`UPDATE_SNAPSHOTS=1` rewrites).
fn check(width: u16, height: u16) -> Vec<String> {
    let lines = screen(width, height, None);
    matches_snapshot(&format!("monitor-{width}x{height}"), &lines, height);
    lines
}

/// `lines` fill the terminal and equal the committed snapshot `name`.
fn matches_snapshot(name: &str, lines: &[String], height: u16) {
    assert_eq!(
        lines.len(),
        usize::from(height),
        "the screen is the terminal's size"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/snapshots/{name}.txt"));
    let text = lines.join("\n") + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).expect("snapshot written");
    }
    let want = std::fs::read_to_string(&path).expect("a committed snapshot");
    assert_eq!(text, want, "{}", path.display());
}

#[test]
fn at_80x24_and_160x50_the_first_lines_show_the_fault_and_the_list_is_cut_to_fit() {
    for (w, h) in [(80, 24), (160, 50)] {
        let lines = check(w, h);
        let top = lines[..11].join("\n");
        for needle in [
            "stack prod",
            "02:00:09 UTC",
            "PARTIAL",
            "UNREAD   the failed-batches bucket: s3:ListObjectsV2 failed",
            "rates    in 250/s",
            "given up 1.0 batch/s",
            "backlog  iterator age 75.0 s",
            "latency  p50 75 ms",
            "done     1300:  counted 1000  duplicates 97",
            "given up 200 (2 batches)  waiting for redrive ? batches",
            "last     02:00:01 archive write failed: error=archive write raw/x failed: ",
        ] {
            assert!(top.contains(needle), "{w}x{h}: no {needle:?} in\n{top}");
        }
        // The cause, at the end of the chain, even where the line wraps.
        let flat: String = lines[..11].iter().map(|l| l.trim_start()).collect();
        assert!(
            flat.contains("NoSuchBucket: The specified bucket does not exist"),
            "{w}x{h}"
        );
        assert!(lines.iter().any(|l| l.contains("errors ALARM")), "{w}x{h}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("mapping-stalled not evaluated here")),
            "{w}x{h}"
        );
        let more = lines
            .iter()
            .rev()
            .find(|l| l.starts_with('+'))
            .expect("+N more");
        let shown = lines.iter().filter(|l| l.starts_with("sensor-")).count();
        assert_eq!(more, &format!("+{} more", 300 - shown), "{w}x{h}");
        assert!(
            lines[usize::from(h) - 1].starts_with("q: leave this view"),
            "{w}x{h}"
        );
    }
}

#[test]
fn a_look_that_fails_marks_the_screen_stale_with_its_cause_and_keeps_the_last_numbers() {
    let lines = screen(
        100,
        30,
        Some(Stale {
            since: at("2026-12-07T02:00:05Z"),
            error: "the emulator did not answer: Connection refused".into(),
        }),
    );
    let top = lines[..4].join("\n");
    assert!(top.contains("· STALE"), "{top}");
    assert!(
        top.contains(
            "STALE    since 02:00:05 (4 s), reads fail: the emulator did not answer: \
             Connection refused"
        ),
        "{top}"
    );
    assert!(lines.iter().any(|l| l.starts_with("rates    in 250/s")));
}

#[test]
fn a_table_that_stops_reading_keeps_the_last_list_dated() {
    let mut h = faulty();
    let mut last = h.latest().expect("a look").clone();
    last.at_ms += 2_000;
    last.report.aggregates_in_table = None;
    last.report.latest.clear();
    h.push(last);
    let text = plain(&h, 160, 40).join("\n");
    assert!(
        text.contains(
            "latest window of 300 entities (1234 aggregates in the table, as of 02:00:02)"
        ),
        "{text}"
    );
    assert!(text.contains("sensor-0061"), "{text}");
}

/// A deployed stack in trouble: the function failing on a deleted bucket, batches kept,
/// alarms firing.
fn deployed_in_trouble() -> crate::status_deployed::DeployedReport {
    use crate::status_deployed::{DeployedReport, MappingState, MetricValue};
    let metric = |ns: &str, name: &str, statistic: &str, per_minute: Vec<f64>| MetricValue {
        namespace: ns.into(),
        name: name.into(),
        statistic: statistic.into(),
        value: if statistic == "Maximum" {
            per_minute.iter().copied().reduce(f64::max)
        } else {
            (!per_minute.is_empty()).then(|| per_minute.iter().sum())
        },
        per_minute,
    };
    let ramp = |k: f64| (0..15).map(|i| f64::from(i) * k).collect::<Vec<f64>>();
    DeployedReport {
        function: "realtime-data-processor-prod".into(),
        region: "eu-west-1".into(),
        mappings: vec![MappingState {
            uuid: "0b4e…".into(),
            source: "arn:aws:kinesis:eu-west-1:1:stream/s".into(),
            state: "Enabled".into(),
            last_processing_result: "PROBLEM: Function call failed".into(),
            state_transition_reason: "User action".into(),
        }],
        minutes: 15,
        metrics: vec![
            metric("AWS/Kinesis", "IncomingRecords", "Sum", ramp(1_000.0)),
            metric("AWS/Lambda", "Invocations", "Sum", ramp(10.0)),
            metric("AWS/Lambda", "Errors", "Sum", vec![0.0, 4.0, 4.0]),
            metric("AWS/Lambda", "Throttles", "Sum", vec![]),
            metric("AWS/Lambda", "IteratorAge", "Maximum", ramp(6_000.0)),
            metric(
                "AWS/Lambda",
                "DestinationDeliveryFailures",
                "Sum",
                vec![0.0],
            ),
            metric(
                "RealtimeProcessing/prod",
                "RecordsProcessed",
                "Sum",
                ramp(900.0),
            ),
            metric(
                "RealtimeProcessing/prod",
                "RecordsRejected",
                "Sum",
                vec![3.0],
            ),
            metric(
                "RealtimeProcessing/prod",
                "DuplicatesSkipped",
                "Sum",
                vec![0.0],
            ),
            metric(
                "RealtimeProcessing/prod",
                "BatchItemFailures",
                "Sum",
                vec![8.0],
            ),
        ],
        alarms: BTreeMap::from([
            ("realtime-data-processor-prod-errors".into(), "ALARM".into()),
            (
                "realtime-data-processor-prod-kept-batches-waiting".into(),
                "ALARM".into(),
            ),
            (
                "realtime-data-processor-prod-mapping-stalled".into(),
                "OK".into(),
            ),
        ]),
        failed_batches_waiting: Some(2),
        failed_batches_bucket: "b".into(),
        last_problem: Some(crate::function_log::Problem {
            time: "2026-12-07T02:00:01.5Z".into(),
            what: "archive write failed: error=archive write raw/x failed: service error: \
                   NoSuchBucket: The specified bucket does not exist"
                .into(),
        }),
        unread: Vec::new(),
    }
}

#[test]
fn a_deployed_stack_in_trouble_shows_its_cause_and_fits_80x24() {
    let r = deployed_in_trouble();
    let ctx = Context {
        stack: "realtime-data-processor-prod",
        endpoint: "eu-west-1",
        now: at("2026-12-07T02:00:09Z"),
        stale: None,
        colour: true,
        keys: "q or Ctrl-C: stop watching",
    };
    let own = super::model::LogSignals::default();
    let lines = rendered(80, 24, |f| super::deployed::draw(f, Some(&r), &own, &ctx));
    matches_snapshot("monitor-deployed-80x24", &lines, 24);
    let top = lines[..12].join("\n");
    for needle in [
        "deployed realtime-data-processor-prod · eu-west-1 · 02:00:09 UTC · live",
        "last result PROBLEM: Function call failed",
        "15 min   in 105000  counted 94500",
        "errors 8  throttles -",
        "iterator age max 84.0 s",
        "kept     2 batches waiting for redrive",
        "last     02:00:01 archive write failed",
        "kept-batches-waiting ALARM",
    ] {
        assert!(top.contains(needle), "no {needle:?} in\n{top}");
    }
    let flat: String = lines.iter().map(|l| l.trim_start()).collect();
    assert!(flat.contains("NoSuchBucket: The specified bucket does not exist"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("records in per minute (max 14000)"))
    );
    assert_eq!(lines[23], "q or Ctrl-C: stop watching");
    // This process's own warnings (kept off the screen, in a file) show as one line.
    let mut own = super::model::LogSignals::default();
    own.add_own("2026-12-07T02:00:08.1Z  WARN aws_smithy_runtime: retrying error=throttled");
    let lines = rendered(80, 24, |f| super::deployed::draw(f, Some(&r), &own, &ctx));
    assert!(
        lines.iter().any(|l| l.starts_with(
            "watch    02:00:08 aws_smithy_runtime: retrying error=throttled (1 in all)"
        )),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn with_kpl_aggregates_the_split_says_it_counts_user_records() {
    let mut h = faulty();
    let before = screen(100, 30, None).join("\n");
    assert!(!before.contains("KPL"), "{before}");
    // One look later, 10 KPL records done held 40 user records, all counted.
    let mut last = h.latest().expect("a look").clone();
    last.at_ms += 2_000;
    last.report.mapping.records_read += 10;
    last.report.mapping.records_done += 10;
    last.report.function.counted += 40;
    h.push(last);
    let flat: String = plain(&h, 100, 30)
        .iter()
        .map(|l| l.trim_start())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("done     1310:  counted 1040")
            && flat.contains("(done is of Kinesis records, the split of 1340 user records: KPL)"),
        "{flat}"
    );
}

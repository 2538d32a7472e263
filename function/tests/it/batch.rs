//! The pure batch core (`function::batch`) without any store: what a shard's records become.

use crate::producer;
use function::batch::{self, Summary};

use crate::support::{In, SHARDS, T0_MS, config, event, seq};

/// A shard of five Kinesis records holding eight user records, by hand:
/// 1. a JSON reading (counted);
/// 2. bytes that are not JSON (a user record, rejected with its reason);
/// 3. a KPL aggregate of three records, the second a JSON array (rejected by extract);
/// 4. a CloudWatch Logs payload with a text line and a JSON line (both counted, under the
///    log group);
/// 5. a JSON reading (counted).
fn shard() -> Vec<In> {
    let rec = |n: u64, data: Vec<u8>| In {
        shard: SHARDS[0],
        seq: seq(n),
        partition_key: format!("pk-{n}"),
        data,
        arrival_ms: T0_MS + n as i64,
    };
    let json = |id: &str| {
        format!(r#"{{"sensorId":"{id}","temperature":21.5,"timestamp":"2024-01-15T10:30:05Z"}}"#)
            .into_bytes()
    };
    let a = json("kpl-a");
    let c = json("kpl-c");
    vec![
        rec(1, json("sensor-1")),
        rec(2, b"\xff\xfe not json".to_vec()),
        rec(
            3,
            producer::kpl(&[("ka", &a), ("kb", b"[1, 2]".as_slice()), ("kc", &c)]),
        ),
        rec(
            4,
            producer::logs(
                "/app/web",
                &[
                    (T0_MS, "GET /index 200"),
                    (T0_MS + 1, r#"{"userId":"u-9"}"#),
                ],
            ),
        ),
        rec(5, json("sensor-5")),
    ]
}

#[test]
fn every_record_becomes_one_line_and_every_countable_one_observation() {
    let ev = event(&shard());
    let cfg = config();
    let shards = batch::by_shard(&ev);
    assert_eq!(shards.len(), 1);
    let records = &shards[SHARDS[0]];
    let recs = batch::parse(records).expect("positions are valid");
    let decoded = batch::decode_all(&recs, &cfg);
    let mut summary = Summary::default();
    let out = batch::classify(SHARDS[0], &recs, &decoded, &cfg, &mut summary);

    // 1 + 1 + 3 + 2 + 1 lines; 1 + 2 + 2 + 1 observations.
    assert_eq!(out.lines.len(), 8);
    assert_eq!(out.marked.len(), 6);
    assert_eq!(
        summary.kinesis_records, 0,
        "classify leaves Kinesis counts to the caller"
    );
    assert_eq!(summary.user_records, 8);
    assert_eq!(summary.rejected, 2);
    let reasons: Vec<_> = out.lines.iter().filter(|l| l.reason.is_some()).collect();
    assert_eq!(reasons.len(), 2);
    assert_eq!(reasons[0].pos.seq, recs[1].seq);
    assert_eq!(
        (reasons[1].pos.seq.clone(), reasons[1].pos.sub),
        (recs[2].seq.clone(), 1)
    );

    // Shard order, every position once.
    for pair in out.lines.windows(2) {
        assert!(
            pair[0].pos < pair[1].pos,
            "{:?} then {:?}",
            pair[0].pos,
            pair[1].pos
        );
    }
    let entities: Vec<&str> = out.marked.iter().map(|m| m.obs.entity.as_ref()).collect();
    assert_eq!(
        entities,
        ["sensor-1", "kpl-a", "kpl-c", "/app/web", "u-9", "sensor-5"]
    );
    // The Kinesis record's key orders the exactly-once domain, not the user record's.
    assert!(out.marked.iter().all(|m| m.key.starts_with("pk-")));
    assert!(out.marked[3].obs.log_line && !out.marked[4].obs.log_line);
}

#[test]
fn items_hold_only_observations_before_the_failure() {
    let ev = event(&shard());
    let cfg = config();
    let shards = batch::by_shard(&ev);
    let recs = batch::parse(&shards[SHARDS[0]]).expect("positions are valid");
    let decoded = batch::decode_all(&recs, &cfg);
    let out = batch::classify(SHARDS[0], &recs, &decoded, &cfg, &mut Summary::default());

    let count = |failed| -> usize { out.items(failed, 60).values().map(Vec::len).sum() };
    assert_eq!(count(None), 6);
    // Failing at the logs record keeps sensor-1 and the two valid KPL records.
    assert_eq!(count(Some(&out.marked[3].pos)), 3);
    assert_eq!(count(Some(&out.marked[0].pos)), 0);
    // One item per (entity, window): six distinct entities here.
    assert_eq!(out.items(None, 60).len(), 6);
}

#[test]
fn an_invalid_sequence_number_is_an_event_error() {
    let mut recs = shard();
    recs[2].seq = "12x".into();
    let ev = event(&recs);
    let shards = batch::by_shard(&ev);
    assert!(batch::parse(&shards[SHARDS[0]]).is_err());
}

//! Record formats: JSON extraction examples, KPL and CloudWatch Logs round trips, and
//! arbitrary bytes never panicking.

use function::decode::{self, Body, Decoded, Limits};
use function::extract::ExtractError;
use function::kpl;
use proptest::prelude::*;

use crate::arb::{arb_key, arb_payload};
use crate::support::{Expect, T0_MS, check, extract_default, fixture};

fn exp(
    entity: &str,
    time_ms: i64,
    fallback: bool,
    metrics: &[(&str, f64)],
    events: &[&str],
) -> Expect {
    Expect {
        entity: entity.into(),
        time_ms,
        fallback,
        metrics: metrics.iter().map(|(k, v)| ((*k).into(), *v)).collect(),
        events: events.iter().map(|e| (*e).into()).collect(),
    }
}

#[test]
fn extraction_examples() {
    let table: Vec<(&str, Expect)> = vec![
        (
            r#"{"sensorId":"sensor-001","temperature":25.5,"humidity":60,"timestamp":"2024-01-15T10:30:00Z"}"#,
            exp(
                "sensor-001",
                T0_MS,
                false,
                &[("temperature", 25.5), ("humidity", 60.0)],
                &[],
            ),
        ),
        // Epoch seconds and milliseconds; nested objects flattened; event counted.
        (
            r#"{"userId":"u1","event":"page_view","timestamp":1705314601,"session":{"ms":12}}"#,
            exp(
                "u1",
                T0_MS + 1000,
                false,
                &[("session.ms", 12.0)],
                &["page_view"],
            ),
        ),
        (
            r#"{"deviceId":7,"eventType":"boot","timestamp":1705314602000}"#,
            exp("7", T0_MS + 2000, false, &[], &["boot"]),
        ),
        // The first configured id field wins over later ones, whatever the field order.
        (
            r#"{"userId":"u","sensorId":"s","v":1}"#,
            exp("s", T0_MS, true, &[("v", 1.0)], &[]),
        ),
        // No id field: the partition key; no timestamp: arrival time, counted as fallback.
        (
            r#"{"v":-1.5}"#,
            exp("pk-1", T0_MS, true, &[("v", -1.5)], &[]),
        ),
        // Far future / far past: arrival time.
        (
            r#"{"v":1,"timestamp":"2099-01-01T00:00:00Z"}"#,
            exp("pk-1", T0_MS, true, &[("v", 1.0)], &[]),
        ),
        (
            r#"{"v":1,"timestamp":"1999-01-01T00:00:00Z"}"#,
            exp("pk-1", T0_MS, true, &[("v", 1.0)], &[]),
        ),
        // Huge values are ignored, arrays skipped, booleans and strings not metrics.
        (
            r#"{"v":1e300,"w":[1,2],"ok":true,"s":"x","n":null}"#,
            exp("pk-1", T0_MS, true, &[], &[]),
        ),
        // A repeated key counts once: the last occurrence wins, as in every JSON parser,
        // also when the later value is not a number or nests an object.
        (
            r#"{"sensorId":"s","v":1,"v":2,"w":3,"w":"x","event":"a","event":"b"}"#,
            exp("s", T0_MS, true, &[("v", 2.0)], &["b"]),
        ),
        (
            r#"{"o":{"a":1,"a":2},"o":{"b":3},"p":4,"p":{"q":5}}"#,
            exp("pk-1", T0_MS, true, &[("o.b", 3.0), ("p.q", 5.0)], &[]),
        ),
        (
            r#"{"sensorId":"s","sensorId":"t","userId":"u","timestamp":1705314601,"timestamp":null}"#,
            exp("t", T0_MS, true, &[], &[]),
        ),
        // Escaped keys and strings.
        (
            r#"{"sensorId":"a\"b","t\u0065mp":2}"#,
            exp("a\"b", T0_MS, true, &[("temp", 2.0)], &[]),
        ),
    ];
    for (json, expect) in &table {
        check(json.as_bytes(), expect);
    }
}

#[test]
fn bad_json_is_rejected_with_a_reason() {
    type Case<'a> = (&'a [u8], fn(&ExtractError) -> bool);
    let cases: [Case<'_>; 5] = [
        (b"not json", |e| matches!(e, ExtractError::Json(_))),
        (b"[1,2]", |e| matches!(e, ExtractError::NotAnObject)),
        (b"\"str\"", |e| matches!(e, ExtractError::NotAnObject)),
        (b"{\"a\":1} trailing", |e| {
            matches!(e, ExtractError::Json(_))
        }),
        (b"\xff\xfe", |e| matches!(e, ExtractError::Json(_))),
    ];
    for (input, ok) in cases {
        let err = extract_default(input).expect_err("must reject");
        assert!(ok(&err), "{:?}: {err}", String::from_utf8_lossy(input));
    }
    let deep = format!("{}1{}", "{\"a\":".repeat(40), "}".repeat(40));
    assert!(matches!(
        extract_default(deep.as_bytes()),
        Err(ExtractError::TooDeep(_))
    ));
    // Past serde_json's own limit (128) too: still nesting, not a syntax error.
    let deep_array = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
    assert!(matches!(
        extract_default(deep_array.as_bytes()),
        Err(ExtractError::TooDeep(_))
    ));
    let deep_root = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert!(matches!(
        extract_default(deep_root.as_bytes()),
        Err(ExtractError::NotAnObject)
    ));
}

#[test]
fn kpl_vector_from_the_reference_aggregator_decodes() {
    let ev = fixture("kinesis-kpl-aggregated.json");
    let data = &ev.records[0].kinesis.data;
    let subs = kpl::decode(data).expect("valid KPL");
    let keys: Vec<&str> = subs.iter().map(|s| s.partition_key).collect();
    assert_eq!(keys, ["sensor-001", "sensor-002", "user-42"]);
    assert!(subs[2].data.starts_with(br#"{"userId":"user-42""#));
    let mut corrupt = data.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    assert_eq!(kpl::decode(&corrupt), Err(kpl::KplError::Checksum));
}

#[test]
fn cloudwatch_logs_data_and_control_messages() {
    let ev = fixture("kinesis-cloudwatch-logs.json");
    let data = decode::decode(&ev.records[0].kinesis.data, "/app/web", Limits::default());
    let Ok(Decoded::Units(units)) = data else {
        panic!("expected units, got {data:?}")
    };
    assert_eq!(units.len(), 3);
    assert!(
        matches!(&units[1].body, Body::Log { message, time_ms, log_group } if message.starts_with("GET") && *time_ms == T0_MS + 1000 && log_group == "/app/web")
    );
    let control = decode::decode(&ev.records[1].kinesis.data, "/app/web", Limits::default());
    assert_eq!(control, Ok(Decoded::Control));
}

#[test]
fn decompression_is_capped() {
    let payload = format!("{{\"a\":\"{}\"}}", "A".repeat(5000));
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(payload.as_bytes()).expect("write");
        e.finish().expect("finish")
    };
    let small = Limits {
        max_decompressed: 1024,
    };
    assert_eq!(
        decode::decode(&gz, "k", small),
        Err(decode::Rejection::TooLarge(1024))
    );
    assert!(matches!(
        decode::decode(&gz, "k", Limits::default()),
        Ok(d) if d.units().len() == 1
    ));
}

proptest! {
    #[test]
    fn kpl_round_trips(records in prop::collection::vec((arb_key(), prop::collection::vec(any::<u8>(), 0..200)), 1..20)) {
        let refs: Vec<(&str, &[u8])> = records.iter().map(|(k, d)| (k.as_str(), d.as_slice())).collect();
        let encoded = crate::producer::kpl(&refs);
        prop_assert!(kpl::is_aggregated(&encoded));
        let decoded = kpl::decode(&encoded).expect("decodes");
        let back: Vec<(&str, &[u8])> = decoded.iter().map(|s| (s.partition_key, s.data)).collect();
        prop_assert_eq!(back, refs);
    }

    #[test]
    fn cloudwatch_logs_round_trip(events in prop::collection::vec((0i64..2_000_000_000_000, "[ -~]{0,80}"), 0..20)) {
        let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
        let gz = crate::producer::logs("/g", &refs);
        let Ok(Decoded::Units(units)) = decode::decode(&gz, "k", Limits::default()) else {
            panic!("not decoded");
        };
        let back: Vec<(i64, String)> = units.into_iter().map(|u| match u.body {
            Body::Log { message, time_ms, .. } => (time_ms, message),
            other => panic!("{other:?}"),
        }).collect();
        let want: Vec<(i64, String)> = events.clone();
        prop_assert_eq!(back, want);
    }

    #[test]
    fn generated_payloads_extract_their_own_fields(p in arb_payload()) {
        let bytes = serde_json::to_vec(&p).expect("json");
        let entity = p.get("sensorId").or(p.get("userId")).and_then(|v| v.as_str()).expect("id");
        let time = match &p["timestamp"] {
            serde_json::Value::String(s) => function::extract::parse_time(s).expect("time"),
            v => v.as_i64().expect("secs") * 1000,
        };
        let mut metrics = vec![];
        for k in ["temperature", "humidity"] {
            if let Some(v) = p.get(k).and_then(|v| v.as_f64()) {
                metrics.push((k, v));
            }
        }
        let events: Vec<&str> = p.get("event").and_then(|v| v.as_str()).into_iter().collect();
        check(&bytes, &exp(entity, time, false, &metrics, &events));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512), prefix in 0u8..3) {
        let mut bytes = match prefix {
            0 => vec![],
            1 => kpl::MAGIC.to_vec(),
            _ => vec![0x1f, 0x8b],
        };
        bytes.extend(data);
        if let Ok(d) = decode::decode(&bytes, "k", Limits::default()) {
            for u in d.units() {
                if let Body::Json(b) = &u.body {
                    let _ = extract_default(b);
                }
            }
        }
    }
}

proptest! {
    /// Repeated keys: the observation equals that of the document serde_json reads (its map
    /// keeps the last occurrence), written back without repeats.
    #[test]
    fn a_repeated_key_counts_once_last_wins(text in crate::arb::arb_object_with_repeated_keys()) {
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let canonical = parsed.to_string();
        let sorted = |o: function::extract::Observation<'_>| {
            let mut m: Vec<(String, f64)> =
                o.metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            m.sort_by(|a, b| a.0.cmp(&b.0));
            let e: Vec<String> = o.events.iter().map(|e| e.to_string()).collect();
            (o.entity.to_string(), o.event_time_ms, o.time_fallback, m, e)
        };
        let got = sorted(extract_default(text.as_bytes()).expect("extracts"));
        let want = sorted(extract_default(canonical.as_bytes()).expect("extracts"));
        prop_assert_eq!(got, want, "{} vs {}", text, canonical);
    }
}

proptest! {
    /// The fast `…Z` parser agrees with chrono's RFC 3339 parser (the oracle).
    #[test]
    fn utc_timestamps_parse_like_chrono(ms in -62_000_000_000_000i64..253_000_000_000_000, millis in any::<bool>(), offset in any::<bool>()) {
        let t = chrono::DateTime::from_timestamp_millis(ms).expect("in range");
        let text = if offset {
            t.with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 1800).expect("offset"))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
        } else if millis {
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        } else {
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        let oracle = chrono::DateTime::parse_from_rfc3339(&text).map(|d| d.timestamp_millis()).ok();
        prop_assert_eq!(function::extract::parse_time(&text), oracle, "{}", text);
    }
}

#[test]
fn malformed_utc_timestamps_are_not_accepted() {
    for bad in [
        "2024-13-01T00:00:00Z",
        "2024-01-15T24:00:00Z",
        "2024-01-15 10:30:00Z",
        "2024-01-15T10:30:00.Z",
        "2024-01-15T10:30:0xZ",
    ] {
        assert_eq!(
            function::extract::parse_time(bad),
            chrono::DateTime::parse_from_rfc3339(bad)
                .map(|d| d.timestamp_millis())
                .ok(),
            "{bad}"
        );
    }
}

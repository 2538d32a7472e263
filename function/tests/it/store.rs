//! The item layer: DynamoDB's size accounting and limits, exact decimals, the worst-case
//! page, and what happens when the table refuses a write.

use std::sync::Arc;

use function::archive::MemoryArchive;
use function::handler::{Backoff, Processor};
use function::position::Position;
use function::sketch::{Accuracy, Sketch};
use function::store::item::{self, Av, Item};
use function::store::page::{
    MAX_EVENTS_PER_PAGE, MAX_METRICS_PER_PAGE, MAX_NAME_BYTES, PAGE_SKETCH_BUCKETS, sketch_cap,
};
use function::store::{Dec, MemoryTable, MetricsStore, Outcome, Page, Stat, Write};
use proptest::prelude::*;

use crate::arb::arb_position;
use crate::support::{block_on, config, fixture};

#[track_caller]
fn check_size(text: &str, bytes: usize) {
    assert_eq!(item::number_size(text), bytes, "size of {text}");
}

#[test]
fn number_sizes_follow_dynamodbs_accounting() {
    // One byte, plus one per pair of significant digits aligned on the decimal point.
    for (text, bytes) in [
        ("0", 1),
        ("1", 2),
        ("10", 2),
        ("123", 3),
        ("-123", 4),
        ("1.5", 3),
        ("0.01", 2),
        ("12345678901234567890123456789012345678", 20),
    ] {
        check_size(text, bytes);
    }
}

proptest! {
    #[test]
    fn decimals_survive_their_text_form(units in -(10i128.pow(38) - 1)..10i128.pow(38)) {
        let d = Dec(units);
        prop_assert_eq!(Dec::parse(&d.to_string()), Some(d));
        prop_assert!(item::significant_digits(&d.to_string()) <= 38);
    }

    #[test]
    fn decimal_text_in_exponent_form_parses(m in -99_999i128..99_999, e in -9i32..12) {
        // m·10^e in nanounits is m·10^(e+9), an exact integer for e ≥ -9.
        let want = Dec(m * 10i128.pow((e + 9) as u32));
        prop_assert_eq!(Dec::parse(&format!("{m}E{e}")), Some(want));
        prop_assert_eq!(Dec::parse(&format!("{m}e+{e}").replace("+-", "-")), Some(want));
    }

    #[test]
    fn positions_survive_their_binary_form(a in arb_position(), b in arb_position()) {
        let (ba, bb) = (a.to_bytes(), b.to_bytes());
        prop_assert!(ba.len() <= function::store::page::MAX_POSITION_BYTES);
        prop_assert_eq!(Position::from_bytes(&ba), Some(a.clone()));
        prop_assert_eq!(Position::parse(&a.to_string()), Some(a.clone()));
        // Distinct positions, distinct bytes (a mark never stands for another position).
        prop_assert_eq!(a == b, ba == bb);
    }
}

/// Every cap at its maximum at once still fits in an item.
#[test]
fn the_worst_case_page_fits_in_400_kb() {
    let name = |i: usize| format!("{i:0width$}", width = MAX_NAME_BYTES);
    let big = Dec(-(10i128.pow(38) - 1));
    let mut p = Page::new(&"e".repeat(2048), "2024-01-15T10:30:00Z", 99);
    p.count = u64::MAX;
    p.log_lines = u64::MAX;
    // Each sketch at its share of the page's buckets, every bucket at its longest
    // encoding: index gaps of 3 bytes, counts of 9 (ten 10-byte counts could not sum to a
    // u64), the rest of the count at zero.
    let cap = sketch_cap(MAX_METRICS_PER_PAGE);
    let worst = || {
        let mut sk = Sketch::new(Accuracy::per_mille(1).expect("0.1 %"));
        for b in 0..cap as i32 {
            let store = if b % 2 == 0 {
                &mut sk.negative
            } else {
                &mut sk.positive
            };
            store.insert(-100_000 + 20_000 * (b / 2), 1 << 59);
        }
        sk.zero = u64::MAX - sk.count();
        sk
    };
    assert_eq!(worst().buckets(), cap);
    for i in 0..MAX_METRICS_PER_PAGE {
        let s = Stat {
            count: u64::MAX,
            sum: big,
            min: big,
            max: big,
            sketch: Some(worst()),
        };
        p.metrics.insert(name(i), s);
    }
    assert!(MAX_METRICS_PER_PAGE * cap <= PAGE_SKETCH_BUCKETS);
    for i in 0..MAX_EVENTS_PER_PAGE {
        p.events.insert(name(i), u64::MAX);
    }
    // Marks: the budget plus one of the largest marks (256 four-byte characters, a
    // 129-digit sequence number), growing to their longest positions.
    let pos = function::position::Position::parse(&format!("{}:4294967295", "9".repeat(129)))
        .expect("pos");
    let key = |i: usize| format!("{i:04}{}", "字".repeat(250));
    let shard = format!("shardId-{}", "0".repeat(120));
    let mut i = 0;
    // Up to the budget, then the one mark that may overshoot it.
    while p.marks_bytes() < function::store::page::MARKS_BUDGET_BYTES {
        p.marks
            .entry(shard.clone())
            .or_default()
            .insert(key(i), pos.clone());
        i += 1;
    }
    p.marks
        .entry(shard.clone())
        .or_default()
        .insert(key(i), pos.clone());
    // Arrival hours: a one-minute window's records arrive within 5 minutes before it and
    // 7 days after it (MAX_FUTURE_SKEW / MAX_PAST_AGE), at most 170 hours.
    for h in 0..170 {
        p.arrived(1_705_314_600_000 + h * 3_600_000);
    }
    p.arrivals.values_mut().for_each(|c| *c = u64::MAX);
    let item = p.to_item();
    let size = item::item_size(&item);
    assert!(
        size <= item::MAX_ITEM_BYTES,
        "worst-case page is {size} bytes"
    );
    assert_eq!(Page::from_item(&item), Ok(p));
}

#[test]
fn the_memory_table_refuses_what_dynamodb_refuses() {
    let table = MemoryTable::default();
    let put = |p: Page| {
        block_on(table.put(&Write {
            expected: None,
            page: p,
            records: vec![],
        }))
    };
    let refused = |r: Result<Outcome, function::Error>| match r {
        Err(function::Error::MetricsRejected { message, .. }) => message,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let page = |entity: &str| Page::new(entity, "2024-01-15T10:30:00Z", 0);
    assert!(refused(put(page(""))).contains("empty string"));
    assert!(refused(put(page(&"k".repeat(2049)))).contains("2048 bytes"));
    assert_eq!(
        put(page(&"k".repeat(2048))).expect("a 2,048-byte key is fine"),
        Outcome::Applied
    );
    let mut wide = page("wide");
    for i in 0..5000 {
        let s = Stat {
            count: 1,
            sum: Dec(1),
            min: Dec(1),
            max: Dec(1),
            sketch: None,
        };
        wide.metrics.insert(format!("{i:080}"), s);
    }
    assert!(refused(put(wide)).contains("Item size"));
    let mut item: Item = page("digits").to_item();
    item.insert(
        "n".into(),
        Av::N("1234567890123456789012345678901234567.89".into()),
    );
    assert!(
        item::check(&item, ("partition_key", "timestamp"), "")
            .expect_err("refused")
            .0
            .contains("38")
    );
    assert!(
        item::check(
            &page("x").to_item(),
            ("partition_key", "timestamp"),
            &"a".repeat(4097)
        )
        .expect_err("refused")
        .0
        .contains("Expression size")
    );
}

#[test]
fn a_refused_item_is_quarantined_with_the_services_message_and_the_batch_goes_on() {
    let archive = Arc::new(MemoryArchive::default());
    // Every write for one entity is refused.
    let refusing = crate::support::Refusing {
        table: Arc::default(),
        refuses: |w| w.page.entity == "sensor-002",
        message: "One or more parameter values were invalid",
    };
    let mut p = Processor::new(config(), archive.clone(), refusing);
    p.backoff = Backoff::NONE;
    let ev = fixture("kinesis-sensor-clickstream.json");
    let (resp, summary) = block_on(p.process(&ev)).expect("processed");
    assert!(
        resp.batch_item_failures.is_empty(),
        "a refusal is not retried"
    );
    assert!(summary.refused > 0);
    let rejected = archive.lines("rejected/");
    assert_eq!(rejected.len() as u64, summary.refused);
    for line in &rejected {
        assert_eq!(line["data"]["sensorId"], "sensor-002");
        let reason = line["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("One or more parameter values were invalid"),
            "{reason}"
        );
    }
}

/// Recovery refuses a page whose arrival hours do not account for its records, instead of
/// rebuilding it from too little of the archive.
#[test]
fn recovery_refuses_a_page_without_its_arrival_hours() {
    use function::recover;
    let (p, archive, table) = crate::support::processor();
    let ev = fixture("kinesis-sensor-clickstream.json");
    block_on(p.process(&ev)).expect("processed");
    // Strip the arrival hours of every page, as a page written before they existed.
    for mut page in table.pages().expect("pages") {
        let w = Write {
            expected: Some(page.version),
            records: vec![],
            page: {
                page.arrivals.clear();
                page.version += 1;
                page
            },
        };
        assert_eq!(block_on(table.put(&w)).expect("put"), Outcome::Applied);
    }
    let err =
        block_on(recover::recover_event(&*archive, &*table, &p.config, &ev)).expect_err("refused");
    assert!(err.to_string().contains("archive hours"), "{err}");
}

/// Recovery refuses an archive object holding a line the function never wrote, naming it,
/// instead of rebuilding a page without that line's record.
#[test]
fn recovery_refuses_an_unreadable_archive_line() {
    use function::archive::ArchiveStore;
    use function::recover;
    let (p, archive, table) = crate::support::processor();
    let ev = fixture("kinesis-sensor-clickstream.json");
    block_on(p.process(&ev)).expect("processed");
    let key = archive
        .snapshot()
        .into_keys()
        .find(|k| k.starts_with("raw/"))
        .expect("a raw object");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"{not an archive line\n").expect("gzip");
    block_on(archive.put(&key, gz.finish().expect("gzip"))).expect("put");
    let err =
        block_on(recover::recover_event(&*archive, &*table, &p.config, &ev)).expect_err("refused");
    assert!(err.to_string().contains(&format!("{key} line 1")), "{err}");
}

/// The table one processed fixture leaves, and one of its pages with metrics and events.
fn written() -> (Arc<MemoryTable>, Item) {
    let (p, _, table) = crate::support::processor();
    block_on(p.process(&fixture("kinesis-sensor-clickstream.json"))).expect("processed");
    let item = table
        .snapshot()
        .into_values()
        .find(|i| {
            let p = Page::from_item(i).expect("a page");
            !p.events.is_empty() && !p.metrics.is_empty()
        })
        .expect("a page with metrics and events");
    (table, item)
}

#[test]
fn a_page_attribute_of_the_wrong_shape_is_an_error_naming_it() {
    let (_, item) = written();
    let empty = || Av::M(Default::default());
    for (name, wrong) in [
        ("metrics", Av::S("x".into())),
        ("events", Av::N("1".into())),
        ("marks", Av::S(String::new())),
        ("arrivals", Av::Bool(true)),
        ("full", Av::S("true".into())),
        ("first_event", Av::N("1".into())),
        ("last_event", empty()),
        ("count", Av::S("3".into())),
        ("version", Av::S("1".into())),
        ("not_aggregated", Av::Bool(false)),
        ("log_lines", Av::S("0".into())),
        ("window", Av::N("1".into())),
        ("ttl", Av::S("x".into())),
        ("page", Av::S("0".into())),
    ] {
        let mut bad = item.clone();
        bad.insert(name.into(), wrong);
        let e = Page::from_item(&bad).expect_err(name);
        assert!(e.at.contains(name), "{name}: {e}");
    }
    // Inside a map too: a shard's marks that are not a map, an event count that is text.
    let Some(Av::M(marks)) = item.get("marks") else {
        panic!("marks");
    };
    let shard = marks.keys().next().expect("a shard").clone();
    let mut bad = item.clone();
    bad.insert(
        "marks".into(),
        Av::M([(shard.clone(), Av::S("x".into()))].into()),
    );
    assert!(
        Page::from_item(&bad)
            .expect_err("marks")
            .at
            .contains(&shard)
    );
}

/// Marks are stored binary; a page an earlier version wrote with `<seq>:<sub>` text marks
/// reads as the same page, and bytes no writer produces are an error naming the mark.
#[test]
fn marks_read_in_both_forms_and_bad_bytes_are_an_error() {
    let (_, item) = written();
    let page = Page::from_item(&item).expect("a page");
    let recode = |f: &dyn Fn(&Av) -> Av| {
        let mut other = item.clone();
        let Some(Av::M(shards)) = other.get_mut("marks") else {
            panic!("marks");
        };
        for keys in shards.values_mut() {
            let Av::M(keys) = keys else { panic!("keys") };
            keys.values_mut().for_each(|v| *v = f(v));
        }
        other
    };
    let as_text = recode(&|v| {
        let b = v.as_b().expect("binary marks");
        let pos = function::position::Position::from_bytes(b).expect("a position");
        Av::S(pos.to_string())
    });
    assert_eq!(Page::from_item(&as_text), Ok(page.clone()));
    // Written back, a text page becomes binary again: same page, smaller item.
    assert_eq!(Page::from_item(&page.to_item()), Ok(page));
    assert!(item::item_size(&item) < item::item_size(&as_text));
    for bad in [vec![], vec![0x80], vec![0x00, 0x00, 0x01]] {
        let e = Page::from_item(&recode(&|_| Av::B(bad.clone()))).expect_err("bad bytes");
        assert!(e.at.starts_with("mark "), "{bad:?}: {e}");
    }
}

#[test]
fn an_sdk_attribute_of_a_type_a_page_never_has_is_an_error_not_dropped() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let (_, item) = written();
    let sdk: std::collections::HashMap<String, AttributeValue> = item
        .iter()
        .map(|(k, v)| (k.clone(), function::aws::to_attribute(v)))
        .collect();
    assert!(function::aws::page_of(&sdk).is_ok());
    let mut list = sdk.clone();
    list.insert("marks".into(), AttributeValue::L(vec![]));
    let e = function::aws::page_of(&list).expect_err("a list");
    assert_eq!(e.at, "attribute marks", "{e}");
    // Nested: one mark stored as a list is not dropped from its shard's map.
    let Some(AttributeValue::M(marks)) = sdk.get("marks") else {
        panic!("marks");
    };
    let mut marks = marks.clone();
    if let Some(AttributeValue::M(keys)) = marks.values_mut().next()
        && let Some(v) = keys.values_mut().next()
    {
        *v = AttributeValue::Null(true);
    }
    let mut nested = sdk.clone();
    nested.insert("marks".into(), AttributeValue::M(marks));
    let e = function::aws::page_of(&nested).expect_err("a NULL mark");
    assert_eq!(e.at, "attribute marks", "{e}");
}

#[test]
fn the_writer_does_not_write_over_a_page_it_cannot_read() {
    let (table, item) = written();
    let mut bad = item;
    bad.insert("marks".into(), Av::S("corrupt".into()));
    table.plant(bad);
    let before = table.snapshot();
    // A redelivery of the same batch, by a processor that knows nothing of the table.
    let mut p = Processor::new(config(), Arc::new(MemoryArchive::default()), table.clone());
    p.backoff = Backoff::NONE;
    let (resp, _) =
        block_on(p.process(&fixture("kinesis-sensor-clickstream.json"))).expect("processed");
    assert!(
        !resp.batch_item_failures.is_empty(),
        "the records of the unreadable page are retried, not counted again"
    );
    assert_eq!(
        table.snapshot(),
        before,
        "the unreadable item was not written over"
    );
}

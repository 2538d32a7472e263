//! Request shapes of the SDK adapters, asserted with aws-smithy-mocks (no network).

use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_smithy_mocks::{mock, mock_client};
use function::archive::ArchiveStore;
use function::aws::{DynamoMetrics, S3Archive, to_attribute};
use function::store::{self, Marked, MetricsStore, Outcome, PageSettings, View, Write};
use function::window::WindowKey;

use crate::support::{T0_MS, block_on, extract_default};

const SETTINGS: PageSettings = PageSettings {
    window_secs: 60,
    ttl_days: 90,
    marks_budget: function::store::page::MARKS_BUDGET_BYTES,
    quantiles: Some(function::sketch::Accuracy::DEFAULT),
};

fn key() -> WindowKey {
    WindowKey {
        entity: "sensor-001".into(),
        window_start_ms: T0_MS,
    }
}

fn plan_on(view: &View) -> store::Plan {
    let json =
        br#"{"sensorId":"sensor-001","temperature":25.5,"timestamp":"2024-01-15T10:30:00Z"}"#;
    let marked = Marked {
        shard: "shardId-000000000000",
        key: "sensor-001",
        pos: function::position::Position::parse("49568167373333333333:0").expect("pos"),
        arrival_ms: T0_MS,
        obs: extract_default(json).expect("valid"),
    };
    store::plan(&key(), view, &[&marked], SETTINGS)
}

fn write_for_new_item() -> Write {
    plan_on(&View::default()).writes.remove(0)
}

fn store_with(client: aws_sdk_dynamodb::Client) -> DynamoMetrics {
    DynamoMetrics {
        client,
        table: "metrics-dev".into(),
    }
}

#[test]
fn a_new_page_is_a_put_conditioned_on_absence() {
    let rule = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            let item = r.item().cloned().unwrap_or_default();
            let metrics = item.get("metrics").and_then(|m| m.as_m().ok()).cloned();
            let temperature = metrics
                .and_then(|m| m.get("temperature").cloned())
                .and_then(|t| t.as_m().ok().cloned())
                .unwrap_or_default();
            r.table_name() == Some("metrics-dev")
                && item.get("partition_key") == Some(&AttributeValue::S("sensor-001".into()))
                && item.get("timestamp") == Some(&AttributeValue::S("2024-01-15T10:30:00Z".into()))
                && item.get("count") == Some(&AttributeValue::N("1".into()))
                && item.get("version") == Some(&AttributeValue::N("1".into()))
                && temperature.get("sum") == Some(&AttributeValue::N("25.5".into()))
                && r.condition_expression() == Some("attribute_not_exists(#pk)")
                && r.expression_attribute_names().and_then(|n| n.get("#pk"))
                    == Some(&"partition_key".to_owned())
                && r.return_values_on_condition_check_failure()
                    == Some(&ReturnValuesOnConditionCheckFailure::AllOld)
        })
        .then_output(|| PutItemOutput::builder().build());
    let store = store_with(mock_client!(aws_sdk_dynamodb, [&rule]));
    let outcome = block_on(store.put(&write_for_new_item())).expect("sent");
    assert_eq!(outcome, Outcome::Applied);
    assert_eq!(rule.num_calls(), 1);
}

#[test]
fn a_known_page_is_conditioned_on_its_version() {
    let first = write_for_new_item();
    let view = View {
        pages: vec![first.page],
    };
    // A later record of the same domain: the write expects version 1.
    let json = br#"{"sensorId":"sensor-001","temperature":1,"timestamp":"2024-01-15T10:30:10Z"}"#;
    let later = Marked {
        shard: "shardId-000000000000",
        key: "sensor-001",
        pos: function::position::Position::parse("49568167373333333334:0").expect("pos"),
        arrival_ms: T0_MS,
        obs: extract_default(json).expect("valid"),
    };
    let mut plan = store::plan(&key(), &view, &[&later], SETTINGS);
    let w = plan.writes.remove(0);
    assert_eq!((w.expected, w.page.version, w.page.count), (Some(1), 2, 2));
    let rule = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            r.condition_expression() == Some("#v = :v")
                && r.expression_attribute_values().and_then(|v| v.get(":v"))
                    == Some(&AttributeValue::N("1".into()))
        })
        .then_output(|| PutItemOutput::builder().build());
    let store = store_with(mock_client!(aws_sdk_dynamodb, [&rule]));
    assert_eq!(block_on(store.put(&w)).expect("sent"), Outcome::Applied);
}

#[test]
fn a_failed_condition_yields_the_current_page_and_replanning_skips_the_record() {
    let current = write_for_new_item().page;
    let item = current.to_item();
    let rule = mock!(aws_sdk_dynamodb::Client::put_item).then_error(move || {
        let mut e =
            ConditionalCheckFailedException::builder().message("The conditional request failed");
        for (k, v) in &item {
            e = e.item(k, to_attribute(v));
        }
        PutItemError::ConditionalCheckFailedException(e.build())
    });
    let store = store_with(mock_client!(aws_sdk_dynamodb, [&rule]));
    let outcome = block_on(store.put(&write_for_new_item())).expect("sent");
    let Outcome::Conflict(Some(page)) = outcome else {
        panic!("expected a conflict with the page, got {outcome:?}")
    };
    assert_eq!(*page, current);
    let replan = plan_on(&View { pages: vec![*page] });
    assert!(replan.writes.is_empty());
    assert_eq!(replan.duplicates, vec![0]);
}

#[test]
fn a_validation_exception_is_a_refusal_not_a_transient_error() {
    let rule = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::generic(
            aws_sdk_dynamodb::error::ErrorMetadata::builder()
                .code("ValidationException")
                .message("Item size has exceeded the maximum allowed size")
                .build(),
        )
    });
    let store = store_with(mock_client!(aws_sdk_dynamodb, [&rule]));
    let err = block_on(store.put(&write_for_new_item())).expect_err("refused");
    assert!(
        matches!(&err, function::Error::MetricsRejected { message, .. } if message.contains("Item size")),
        "{err:?}"
    );
    assert_eq!(err.kind(), function::ErrorKind::Fatal);
}

#[test]
fn load_queries_every_page_of_the_window_consistently() {
    let page0 = write_for_new_item().page;
    let mut page1 = page0.clone();
    page1.index = 1;
    let items = [page1.clone(), page0.clone()].map(|p| {
        p.to_item()
            .iter()
            .map(|(k, v)| (k.clone(), to_attribute(v)))
            .collect::<std::collections::HashMap<_, _>>()
    });
    let rule = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|r| {
            let values = r.expression_attribute_values().cloned().unwrap_or_default();
            r.consistent_read() == Some(true)
                && values.get(":from") == Some(&AttributeValue::S("2024-01-15T10:30:00Z".into()))
                && values.get(":to") == Some(&AttributeValue::S("2024-01-15T10:30:00Z$".into()))
        })
        .then_output(move || {
            QueryOutput::builder()
                .set_items(Some(items.to_vec()))
                .build()
        });
    let store = store_with(mock_client!(aws_sdk_dynamodb, [&rule]));
    let pages = block_on(store.load("sensor-001", "2024-01-15T10:30:00Z")).expect("loaded");
    assert_eq!(pages, vec![page0, page1]);
}

#[test]
fn archive_put_uses_the_bucket_key_and_gzip_encoding() {
    let key = "raw/year=2024/month=01/day=15/hour=10/shardId-000000000000-1-9.ndjson.gz";
    let rule = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |r| {
            r.bucket() == Some("archive-dev")
                && r.key() == Some(key)
                && r.content_encoding() == Some("gzip")
                && r.content_type() == Some("application/x-ndjson")
        })
        .then_output(|| PutObjectOutput::builder().build());
    let client = mock_client!(aws_sdk_s3, [&rule]);
    let archive = S3Archive {
        client,
        bucket: "archive-dev".into(),
    };
    block_on(archive.put(key, vec![0x1f, 0x8b])).expect("put");
    assert_eq!(rule.num_calls(), 1);
}

//! Request shapes of the SDK adapters, asserted with aws-smithy-mocks (no network).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_smithy_mocks::{mock, mock_client};
use function::aggregate::WindowKey;
use function::archive::ArchiveStore;
use function::aws::{DynamoMetrics, S3Archive};
use function::store::{self, ItemState, Marked, MetricsStore, Outcome};

use crate::support::{T0_MS, block_on, extract_default};

fn plan_for_new_item() -> store::Update {
    let json =
        br#"{"sensorId":"sensor-001","temperature":25.5,"timestamp":"2024-01-15T10:30:00Z"}"#;
    let obs = extract_default(json).expect("valid");
    let marked = Marked {
        mark: "shardId-000000000000.sensor-001".into(),
        pos: function::position::Position::parse("49568167373333333333:0").expect("pos"),
        obs,
    };
    let key = WindowKey {
        entity: "sensor-001".into(),
        window_start_ms: T0_MS,
    };
    store::plan(&key, &ItemState::absent(), &[&marked], 60, 90)
        .update
        .expect("something to write")
}

#[test]
fn update_item_request_is_conditional_and_returns_state() {
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            let names = r.expression_attribute_names().cloned().unwrap_or_default();
            let named = |n: &str| names.values().any(|v| v == n);
            r.table_name() == Some("metrics-dev")
                && r.key().and_then(|k| k.get("partition_key"))
                    == Some(&AttributeValue::S("sensor-001".into()))
                && r.key().and_then(|k| k.get("timestamp"))
                    == Some(&AttributeValue::S("2024-01-15T10:30:00Z".into()))
                && r.condition_expression()
                    .is_some_and(|c| c.starts_with("attribute_not_exists(#n0)"))
                && r.update_expression()
                    .is_some_and(|u| u.starts_with("SET ") && u.contains(" ADD "))
                && named("hwm.shardId-000000000000.sensor-001")
                && named("metric.temperature.sum")
                && r.return_values() == Some(&ReturnValue::AllNew)
                && r.return_values_on_condition_check_failure()
                    == Some(&ReturnValuesOnConditionCheckFailure::AllOld)
        })
        .then_output(|| {
            UpdateItemOutput::builder()
                .attributes("count", AttributeValue::N("1".into()))
                .attributes("partition_key", AttributeValue::S("sensor-001".into()))
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let store = DynamoMetrics {
        client,
        table: "metrics-dev".into(),
    };
    let outcome = block_on(store.update(&plan_for_new_item())).expect("sent");
    let Outcome::Applied(state) = outcome else {
        panic!("expected Applied, got {outcome:?}")
    };
    assert_eq!(
        state.attrs.expect("item").get("count"),
        Some(&store::Val::Int(1))
    );
    assert_eq!(rule.num_calls(), 1);
}

#[test]
fn a_failed_condition_yields_the_current_item() {
    let rule = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
        UpdateItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .item(
                    "hwm.shardId-000000000000.sensor-001",
                    AttributeValue::S("49568167373333333333:0".into()),
                )
                .item("count", AttributeValue::N("3".into()))
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let store = DynamoMetrics {
        client,
        table: "metrics-dev".into(),
    };
    let outcome = block_on(store.update(&plan_for_new_item())).expect("sent");
    let Outcome::Conflict(state) = outcome else {
        panic!("expected Conflict, got {outcome:?}")
    };
    let attrs: BTreeMap<_, _> = state.attrs.clone().expect("item");
    assert_eq!(attrs.get("count"), Some(&store::Val::Int(3)));
    assert!(state.hwm("shardId-000000000000.sensor-001").is_some());
    // Replanning from that state skips the already-counted record.
    let json =
        br#"{"sensorId":"sensor-001","temperature":25.5,"timestamp":"2024-01-15T10:30:00Z"}"#;
    let marked = Marked {
        mark: "shardId-000000000000.sensor-001".into(),
        pos: function::position::Position::parse("49568167373333333333:0").expect("pos"),
        obs: extract_default(json).expect("valid"),
    };
    let key = WindowKey {
        entity: "sensor-001".into(),
        window_start_ms: T0_MS,
    };
    let replan = store::plan(&key, &state, &[&marked], 60, 90);
    assert_eq!((replan.update, replan.duplicates), (None, 1));
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

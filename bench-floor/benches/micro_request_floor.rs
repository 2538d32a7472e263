//! Micro-benchmark: the CPU one DynamoDB `PutItem` costs this process, through the SDK client
//! the function builds (`aws_config::load_from_env`, as `function::aws::processor_from_env`)
//! and through a hand-written request (hyper + the SDK's own SigV4 signer, no orchestrator).
//! It is the per-request floor under `bench-process`, where both handlers make the same
//! requests; `local/reference/request_floor.py` is the same loop in boto3.
//!
//! Needs an endpoint: `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_REGION`, as the `export` lines `cargo run -p local -- up` prints for its stack.
//! `REQUESTS` (default 2000) and `CONCURRENCY` (default 16, as the handler) tune it.
//! `cargo bench -p bench-floor --bench micro_request_floor`.

use std::collections::HashMap;
use std::error::Error;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type BoxError = Box<dyn Error>;

/// User + system CPU seconds of this process so far (`/proc/self/stat`, clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let field = |i: usize| fields.get(i).and_then(|x| x.parse::<f64>().ok());
    (field(11).unwrap_or(0.0) + field(12).unwrap_or(0.0)) / 100.0
}

/// The i-th item: a page-sized item (key, window, eight numbers, a version), the condition
/// the function sends for an existing page, always true here.
struct Put {
    pk: String,
    sk: String,
    numbers: Vec<(String, String)>,
    version: String,
    expected: String,
}

fn put(i: usize) -> Put {
    Put {
        pk: format!("sensor-{}", i % 20),
        sk: format!("2026-11-30T10:{:02}:00Z#0", i / 20 % 60),
        numbers: (0..8)
            .map(|k| (format!("metric{k}"), format!("{i}.{k}")))
            .collect(),
        version: i.to_string(),
        expected: (i + 1_000_000).to_string(),
    }
}

const CONDITION: &str = "attribute_not_exists(#pk) OR #v < :v";

async fn through_sdk(c: &aws_sdk_dynamodb::Client, table: &str, p: Put) -> Result<(), BoxError> {
    let numbers: HashMap<String, AttributeValue> = p
        .numbers
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::N(v)))
        .collect();
    c.put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(p.pk))
        .item("sk", AttributeValue::S(p.sk))
        .item("m", AttributeValue::M(numbers))
        .item("v", AttributeValue::N(p.version))
        .condition_expression(CONDITION)
        .expression_attribute_names("#pk", "pk")
        .expression_attribute_names("#v", "v")
        .expression_attribute_values(":v", AttributeValue::N(p.expected))
        .send()
        .await?;
    Ok(())
}

/// The same request by hand: JSON body, SigV4 headers, one pooled hyper client.
struct ByHand {
    client: Client<HttpConnector, Full<bytes::Bytes>>,
    endpoint: String,
    region: String,
    identity: aws_smithy_runtime_api::client::identity::Identity,
}

impl ByHand {
    fn from_env() -> Result<Self, BoxError> {
        let var = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
        let identity = aws_credential_types::Credentials::new(
            var("AWS_ACCESS_KEY_ID")?,
            var("AWS_SECRET_ACCESS_KEY")?,
            std::env::var("AWS_SESSION_TOKEN").ok(),
            None,
            "env",
        )
        .into();
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            endpoint: var("AWS_ENDPOINT_URL")?,
            region: var("AWS_REGION")?,
            identity,
        })
    }

    async fn put(&self, table: &str, p: Put) -> Result<(), BoxError> {
        let numbers: serde_json::Map<String, serde_json::Value> = p
            .numbers
            .into_iter()
            .map(|(k, v)| (k, serde_json::json!({ "N": v })))
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({
            "TableName": table,
            "Item": {
                "pk": { "S": p.pk }, "sk": { "S": p.sk },
                "m": { "M": numbers }, "v": { "N": p.version },
            },
            "ConditionExpression": CONDITION,
            "ExpressionAttributeNames": { "#pk": "pk", "#v": "v" },
            "ExpressionAttributeValues": { ":v": { "N": p.expected } },
        }))?;
        let mut req = http::Request::builder()
            .method("POST")
            .uri(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "DynamoDB_20120810.PutItem")
            .body(())?;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("dynamodb")
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| Ok((k.as_str(), v.to_str()?)))
            .collect::<Result<Vec<_>, http::header::ToStrError>>()?;
        let signable = SignableRequest::new(
            "POST",
            &self.endpoint,
            headers.into_iter(),
            SignableBody::Bytes(&body),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        instructions.apply_to_request_http1x(&mut req);
        let (parts, ()) = req.into_parts();
        let req = http::Request::from_parts(parts, Full::new(bytes::Bytes::from(body)));
        let resp = self.client.request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&body)).into());
        }
        Ok(())
    }
}

async fn create_table(c: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), BoxError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    c.create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(string("pk")?)
        .attribute_definitions(string("sk")?)
        .send()
        .await?;
    Ok(())
}

/// Runs `n` puts, `concurrency` at a time; returns CPU µs per put.
async fn measure<F, Fut>(n: usize, concurrency: usize, one: F) -> Result<f64, BoxError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    // Warm up: connections, credentials, endpoint.
    for r in futures::stream::iter(0..100)
        .map(&one)
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
    {
        r?;
    }
    let cpu = cpu_seconds();
    let results: Vec<_> = futures::stream::iter(0..n)
        .map(&one)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let spent = cpu_seconds() - cpu;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(spent * 1e6 / n as f64)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        eprintln!(
            "micro_request_floor: skipped, AWS_ENDPOINT_URL is not set (see the file's header)"
        );
        return Ok(());
    }
    let number = |k: &str, default: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (n, concurrency) = (number("REQUESTS", 2000), number("CONCURRENCY", 16));
    let sdk = aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await);
    let by_hand = ByHand::from_env()?;
    let table = format!("request-floor-{}", std::process::id());
    create_table(&sdk, &table).await?;
    println!(
        "| round | SDK client: CPU µs per PutItem | by hand (hyper + SigV4): CPU µs per PutItem |"
    );
    println!("| --- | --- | --- |");
    for round in 1..=3 {
        let via_sdk = measure(n, concurrency, |i| through_sdk(&sdk, &table, put(i))).await?;
        let via_hand = measure(n, concurrency, |i| by_hand.put(&table, put(i))).await?;
        println!("| {round} | {via_sdk:.0} | {via_hand:.0} |");
    }
    Ok(())
}

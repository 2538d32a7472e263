//! Shared builders and the `check` helpers used by examples and properties (strategies: `arb`).

use std::collections::BTreeMap;
use std::sync::Arc;

use function::Config;
use function::archive::MemoryArchive;
use function::event::{KinesisEvent, Record, Source};
use function::extract::{self, Envelope, Observation, Rules};
use function::handler::Processor;
use function::store::{MemoryTable, Totals};

pub const SHARDS: [&str; 2] = ["shardId-000000000000", "shardId-000000000001"];
/// 2024-01-15T10:30:00Z.
pub const T0_MS: i64 = 1_705_314_600_000;

/// One Kinesis record to put in an event.
#[derive(Debug, Clone, PartialEq)]
pub struct In {
    pub shard: &'static str,
    pub seq: String,
    pub partition_key: String,
    pub data: Vec<u8>,
    pub arrival_ms: i64,
}

/// A 56-digit sequence number like Kinesis issues, increasing with `n`.
pub fn seq(n: u64) -> String {
    format!("4956816737333333333333333333333333333333333{n:013}")
}

/// An AWS-shaped Kinesis event holding `records`.
pub fn event(records: &[In]) -> KinesisEvent {
    let recs = records.iter().map(|r| Record {
        shard: r.shard,
        seq: &r.seq,
        partition_key: &r.partition_key,
        data: &r.data,
        arrival_ms: r.arrival_ms,
    });
    function::event::event(&Source::EXAMPLE, recs).expect("valid event")
}

/// A fixture event from `tests/fixtures`.
pub fn fixture(name: &str) -> KinesisEvent {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture parses")
}

pub fn config() -> Config {
    Config::from_vars(|k| match k {
        "ARCHIVE_BUCKET" => Some("archive".into()),
        "METRICS_TABLE" => Some("metrics".into()),
        _ => None,
    })
    .expect("valid config")
}

pub type TestProcessor = Processor<Arc<MemoryArchive>, Arc<MemoryTable>>;

/// A processor over fresh in-memory stores, and the stores.
pub fn processor() -> (TestProcessor, Arc<MemoryArchive>, Arc<MemoryTable>) {
    let archive = Arc::new(MemoryArchive::default());
    let table = Arc::new(MemoryTable::default());
    let mut p = Processor::new(config(), archive.clone(), table.clone());
    p.backoff = function::handler::Backoff::NONE;
    (p, archive, table)
}

/// The table's aggregates, every page merged (what a reader sees).
pub fn totals(table: &MemoryTable) -> BTreeMap<(String, String), Totals> {
    let pages = table.pages().expect("every item is a page");
    function::store::totals(&pages)
}

/// Runs a future to completion on a current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// What an extraction should give.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub entity: String,
    pub time_ms: i64,
    pub fallback: bool,
    pub metrics: Vec<(String, f64)>,
    pub events: Vec<String>,
}

/// Extracts `json` (arrival at `T0_MS`, partition key `pk-1`) and compares; shared by the
/// example table and the properties.
#[track_caller]
pub fn check(json: &[u8], expect: &Expect) {
    let got = extract_default(json).unwrap_or_else(|e| panic!("rejected: {e}"));
    let mut metrics: Vec<(String, f64)> = got
        .metrics
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    metrics.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want = expect.metrics.clone();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got.entity,
        expect.entity,
        "entity of {}",
        String::from_utf8_lossy(json)
    );
    assert_eq!(got.event_time_ms, expect.time_ms, "time");
    assert_eq!(got.time_fallback, expect.fallback, "fallback");
    assert_eq!(metrics, want, "metrics");
    let events: Vec<String> = got.events.iter().map(|e| e.to_string()).collect();
    assert_eq!(events, expect.events, "events");
}

pub fn extract_default(json: &[u8]) -> Result<Observation<'_>, extract::ExtractError> {
    extract::extract(
        json,
        Envelope {
            partition_key: "pk-1",
            arrival_ms: T0_MS,
            default_time_ms: None,
        },
        &Rules::default(),
    )
}

pub fn extract_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("valid")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A table that refuses the writes `refuses` picks, as DynamoDB refuses an invalid item:
/// with `message`, never applying the write; every other request goes to `table`.
#[derive(Debug)]
pub struct Refusing {
    pub table: Arc<MemoryTable>,
    pub refuses: fn(&function::store::Write) -> bool,
    pub message: &'static str,
}

impl function::store::MetricsStore for Refusing {
    fn put(
        &self,
        w: &function::store::Write,
    ) -> impl std::future::Future<Output = Result<function::store::Outcome, function::Error>> + Send
    {
        let result = if (self.refuses)(w) {
            Err(function::Error::MetricsRejected {
                item: w.page.entity.clone(),
                message: self.message.into(),
            })
        } else {
            futures::executor::block_on(self.table.put(w))
        };
        std::future::ready(result)
    }

    fn load(
        &self,
        entity: &str,
        window: &str,
    ) -> impl std::future::Future<Output = Result<Vec<function::store::Page>, function::Error>> + Send
    {
        self.table.load(entity, window)
    }
}

/// The archive as a compaction killed after `calls` bucket calls sees it: every call from
/// then on fails, as if the process had died there (`None`: never).
pub struct Crashing<'a> {
    inner: &'a MemoryArchive,
    left: std::sync::atomic::AtomicUsize,
}

impl<'a> Crashing<'a> {
    pub fn new(inner: &'a MemoryArchive, calls: Option<usize>) -> Self {
        Self {
            inner,
            left: std::sync::atomic::AtomicUsize::new(calls.unwrap_or(usize::MAX)),
        }
    }

    fn call(&self) -> Result<(), function::Error> {
        use std::sync::atomic::Ordering::SeqCst;
        match self.left.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)) {
            Ok(_) => Ok(()),
            Err(_) => Err(function::Error::Archive {
                key: "(any)".into(),
                source: "killed".into(),
            }),
        }
    }
}

impl function::archive::ArchiveReader for Crashing<'_> {
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, function::Error> {
        self.call()?;
        self.inner.keys(prefix).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, function::Error> {
        self.call()?;
        self.inner.get(key).await
    }
}

impl function::archive::ArchiveStore for Crashing<'_> {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), function::Error> {
        self.call()?;
        self.inner.put(key, body).await
    }
}

impl function::archive::ArchiveDelete for Crashing<'_> {
    async fn delete(&self, keys: &[String]) -> Result<(), function::Error> {
        self.call()?;
        self.inner.delete(keys).await
    }
}

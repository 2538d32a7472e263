//! Archive objects: gzip NDJSON under Hive-style hour prefixes, keys derived from the batch.
//!
//! One object per batch, shard, kind (`raw` or `rejected`) and arrival hour, keyed
//! `<kind>/year=YYYY/month=MM/day=DD/hour=HH/<shardId>-<firstSeq>-<lastSeq>.ndjson.gz`, so a
//! retried batch overwrites its own key. Every line carries shard id, sequence number and
//! sub-sequence number, so readers can de-duplicate objects of overlapping retries.

use std::future::Future;
use std::io::Write;

use base64::Engine;
use chrono::{DateTime, Datelike, Timelike};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::Error;
use crate::position::Position;
use crate::store::iso_millis;

/// Which prefix a line goes under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Raw,
    Rejected,
}

impl Kind {
    /// The key prefix (the stack's IAM policy grants exactly these).
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Raw => "raw/",
            Kind::Rejected => "rejected/",
        }
    }
}

/// What one line archives.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload<'a> {
    /// Valid JSON, embedded as JSON.
    Json(&'a [u8]),
    /// A CloudWatch Logs event.
    Log {
        message: &'a str,
        time_ms: i64,
        log_group: &'a str,
    },
    /// Anything else, base64-encoded.
    Bytes(&'a [u8]),
}

/// One archived user record (or rejected record).
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    pub shard_id: &'a str,
    pub pos: Position,
    pub partition_key: &'a str,
    /// The Kinesis record's partition key (the exactly-once ordering domain), when it is
    /// not the user record's own (KPL and CloudWatch Logs records).
    pub kinesis_partition_key: Option<&'a str>,
    pub arrival_ms: i64,
    pub payload: Payload<'a>,
    /// What the record counted as (counted lines only): its entity and window, so SQL over
    /// the archive groups exactly as the metrics table does.
    pub counted: Option<Counted<'a>>,
    /// Why it was rejected (rejected lines only).
    pub reason: Option<String>,
}

/// The entity and window a counted record was aggregated under.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted<'a> {
    pub entity: std::borrow::Cow<'a, str>,
    /// The window's start, epoch milliseconds; written as the table labels windows
    /// (`2026-12-07T01:59:00Z`), the same text for every record of a window, which gzip
    /// stores in a few bytes.
    pub window_start_ms: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    shard_id: &'a str,
    sequence_number: &'a str,
    sub_sequence_number: u32,
    partition_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kinesis_partition_key: Option<&'a str>,
    approximate_arrival_timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    window_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// Compact JSON for embedding: the bytes as they are unless they span lines.
fn embed(json: &[u8]) -> Option<Box<RawValue>> {
    let text = std::str::from_utf8(json).ok()?;
    if !text.contains('\n') && !text.contains('\r') {
        return RawValue::from_string(text.trim().to_owned()).ok();
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    RawValue::from_string(v.to_string()).ok()
}

impl<'a> Line<'a> {
    /// The same record as a rejected line with `reason`.
    pub fn rejected(&self, reason: String) -> Line<'a> {
        Line {
            reason: Some(reason),
            counted: None,
            ..self.clone()
        }
    }

    /// Appends this line (and a newline) as JSON.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let b64 = |b: &[u8]| Some(base64::engine::general_purpose::STANDARD.encode(b));
        let mut wire = Wire {
            shard_id: self.shard_id,
            sequence_number: self.pos.seq.as_str(),
            sub_sequence_number: self.pos.sub,
            partition_key: self.partition_key,
            kinesis_partition_key: self.kinesis_partition_key,
            approximate_arrival_timestamp: iso_millis(self.arrival_ms),
            entity: self.counted.as_ref().map(|c| c.entity.as_ref()),
            window_start: self
                .counted
                .as_ref()
                .map(|c| crate::store::window_label(c.window_start_ms)),
            data: None,
            message: None,
            log_timestamp: None,
            log_group: None,
            data_base64: None,
            reason: self.reason.as_deref(),
        };
        match &self.payload {
            Payload::Json(b) => match embed(b) {
                Some(raw) => wire.data = Some(raw),
                None => wire.data_base64 = b64(b),
            },
            Payload::Log {
                message,
                time_ms,
                log_group,
            } => {
                wire.message = Some(message);
                wire.log_timestamp = Some(iso_millis(*time_ms));
                wire.log_group = Some(log_group);
            }
            Payload::Bytes(b) => wire.data_base64 = b64(b),
        }
        // Serializing plain structs of strings and numbers into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, &wire).is_ok() {
            out.push(b'\n');
        }
    }
}

/// An object to put.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub key: String,
    /// Position of the object's first line (the checkpoint if the put fails).
    pub first: Position,
    pub body: Vec<u8>,
    pub lines: usize,
}

/// The hour partition of an arrival time: `year=YYYY/month=MM/day=DD/hour=HH/`.
pub fn hour_prefix(arrival_ms: i64) -> String {
    let t = DateTime::from_timestamp_millis(arrival_ms).unwrap_or_default();
    format!(
        "year={:04}/month={:02}/day={:02}/hour={:02}/",
        t.year(),
        t.month(),
        t.day(),
        t.hour()
    )
}

/// Groups a shard's lines (in shard order) into objects by kind and arrival hour.
pub fn objects(shard_id: &str, lines: &[Line<'_>]) -> std::io::Result<Vec<Object>> {
    let mut groups: std::collections::BTreeMap<(Kind, String), Vec<&Line<'_>>> = Default::default();
    for l in lines {
        let kind = if l.reason.is_some() {
            Kind::Rejected
        } else {
            Kind::Raw
        };
        groups
            .entry((kind, hour_prefix(l.arrival_ms)))
            .or_default()
            .push(l);
    }
    let mut out = Vec::with_capacity(groups.len());
    for ((kind, hour), ls) in groups {
        let (Some(first), Some(last)) = (
            ls.iter().map(|l| &l.pos).min().cloned(),
            ls.iter().map(|l| &l.pos).max().cloned(),
        ) else {
            continue;
        };
        let mut raw = Vec::with_capacity(ls.len() * 160);
        for l in &ls {
            l.write_to(&mut raw);
        }
        let mut gz = GzEncoder::new(Vec::with_capacity(raw.len() / 3), Compression::fast());
        gz.write_all(&raw)?;
        let body = gz.finish()?;
        let key = format!(
            "{}{hour}{shard_id}-{}-{}.ndjson.gz",
            kind.prefix(),
            first.seq.as_str(),
            last.seq.as_str()
        );
        out.push(Object {
            key,
            first,
            body,
            lines: ls.len(),
        });
    }
    Ok(out)
}

/// The archive bucket, as recovery (and redrive, and the local CLI) read it.
pub trait ArchiveReader: Sync {
    /// Keys under `prefix`.
    fn keys(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, Error>> + Send;
    /// One object's body.
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, Error>> + Send;
}

/// The archive bucket, as the function uses it.
pub trait ArchiveStore: Sync {
    /// Puts one object (overwriting the key).
    fn put(&self, key: &str, body: Vec<u8>) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The archive bucket, as compaction removes the objects it merged.
pub trait ArchiveDelete: Sync {
    /// Deletes `keys` (a key that is not there is not an error, as in S3).
    fn delete(&self, keys: &[String]) -> impl Future<Output = Result<(), Error>> + Send;
}

/// An in-memory archive (tests, benches, demos); keys listed in `fail_prefixes` fail.
#[derive(Debug, Default)]
pub struct MemoryArchive {
    objects: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    /// Puts of keys starting with any of these fail (fault injection).
    pub fail_prefixes: std::sync::Mutex<Vec<String>>,
}

impl MemoryArchive {
    /// A copy of every object.
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        self.objects.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Every archived line of every object under `prefix`, decompressed and parsed.
    pub fn lines(&self, prefix: &str) -> Vec<serde_json::Value> {
        use std::io::Read;
        let mut out = Vec::new();
        for (key, body) in self.snapshot() {
            if !key.starts_with(prefix) {
                continue;
            }
            let mut text = String::new();
            if flate2::read::GzDecoder::new(body.as_slice())
                .read_to_string(&mut text)
                .is_ok()
            {
                out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
            }
        }
        out
    }
}

impl ArchiveStore for MemoryArchive {
    fn put(&self, key: &str, body: Vec<u8>) -> impl Future<Output = Result<(), Error>> + Send {
        let failing = self
            .fail_prefixes
            .lock()
            .map(|f| f.iter().any(|p| key.starts_with(p.as_str())))
            .unwrap_or(true);
        let result = if failing {
            Err(Error::Archive {
                key: key.to_owned(),
                source: "injected failure".into(),
            })
        } else {
            if let Ok(mut o) = self.objects.lock() {
                o.insert(key.to_owned(), body);
            }
            Ok(())
        };
        std::future::ready(result)
    }
}

impl ArchiveReader for MemoryArchive {
    fn keys(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        let keys = self
            .snapshot()
            .into_keys()
            .filter(|k| k.starts_with(prefix))
            .collect();
        std::future::ready(Ok(keys))
    }

    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, Error>> + Send {
        let body = self
            .objects
            .lock()
            .ok()
            .and_then(|o| o.get(key).cloned())
            .ok_or_else(|| Error::ArchiveRead {
                key: key.to_owned(),
                source: "no such key".into(),
            });
        std::future::ready(body)
    }
}

impl ArchiveDelete for MemoryArchive {
    fn delete(&self, keys: &[String]) -> impl Future<Output = Result<(), Error>> + Send {
        if let Ok(mut o) = self.objects.lock() {
            for k in keys {
                o.remove(k);
            }
        }
        std::future::ready(Ok(()))
    }
}

impl<T: ArchiveStore + Send + Sync> ArchiveStore for std::sync::Arc<T> {
    fn put(&self, key: &str, body: Vec<u8>) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).put(key, body)
    }
}

impl<T: ArchiveReader + Send + Sync> ArchiveReader for std::sync::Arc<T> {
    fn keys(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        (**self).keys(prefix)
    }
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, Error>> + Send {
        (**self).get(key)
    }
}

impl<T: ArchiveDelete + Send + Sync> ArchiveDelete for std::sync::Arc<T> {
    fn delete(&self, keys: &[String]) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).delete(keys)
    }
}

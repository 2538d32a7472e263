//! Recovery after give-up: rebuild, from the archive, every page that holds the domains of
//! given-up records, so the table equals one delivery of every archived record.
//!
//! Why the archive: everything counted was archived first, so the archive (de-duplicated on
//! shard, sequence and sub-sequence number) is the truth. Marks cannot tell a given-up
//! record from a counted one once newer records of its (shard, partition key) moved the
//! mark past it; a page rebuilt from the archive does not need to. A page's records are
//! exactly the archived records of its domains for its (entity, window), found under the
//! archive hours the page lists in `arrivals`, in objects of the domains' shards.
//!
//! Protocol: the caller first invokes the function with the given-up records (which
//! archives them and counts those past their marks), then calls [`recover`]. Each rebuilt
//! page is written with the usual version condition; a page that changed meanwhile is
//! rebuilt again. Recovery is idempotent: running it twice writes the same aggregates.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use futures::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::archive::{ArchiveReader, Kind, hour_prefix};
use crate::event::KinesisEvent;
use crate::window::{WindowKey, key_of};

use crate::batch::{self, observe};
use crate::decode::Body;
use crate::extract::{Envelope, Observation, Rules, parse_time};
use crate::position::Position;
use crate::store::{Marked, MetricsStore, Outcome, Page, Write, window_label};
use crate::{Config, Error};

/// Rounds of rebuilding before giving up on pages that keep changing.
pub const MAX_ROUNDS: u32 = 8;

/// One archived line, as `archive::Line::write_to` wrote it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedLine {
    pub shard_id: String,
    pub sequence_number: String,
    pub sub_sequence_number: u32,
    pub partition_key: String,
    #[serde(default)]
    pub kinesis_partition_key: Option<String>,
    pub approximate_arrival_timestamp: String,
    #[serde(default)]
    pub data: Option<Box<RawValue>>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub log_timestamp: Option<String>,
    /// The CloudWatch Logs group of a log line (its entity fallback).
    #[serde(default)]
    pub log_group: Option<String>,
    #[serde(default)]
    pub data_base64: Option<String>,
}

impl ArchivedLine {
    /// The exactly-once domain: (shard, Kinesis partition key).
    pub fn domain(&self) -> (&str, &str) {
        let key = self
            .kinesis_partition_key
            .as_deref()
            .unwrap_or(&self.partition_key);
        (&self.shard_id, key)
    }

    /// Where the record sits in its shard.
    pub fn position(&self) -> Option<Position> {
        Position::parse(&format!(
            "{}:{}",
            self.sequence_number, self.sub_sequence_number
        ))
    }

    /// Arrival time, epoch ms.
    pub fn arrival_ms(&self) -> Option<i64> {
        parse_time(&self.approximate_arrival_timestamp)
    }

    /// The record's body as the function decoded it (`None`: not a countable record).
    fn body(&self) -> Option<Body<'_>> {
        use base64::Engine;
        if let Some(d) = &self.data {
            return Some(Body::Json(d.get().as_bytes().into()));
        }
        if let (Some(message), Some(t)) = (&self.message, &self.log_timestamp) {
            return Some(Body::Log {
                message: message.clone(),
                time_ms: parse_time(t)?,
                log_group: self.log_group.clone().unwrap_or_default(),
            });
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.data_base64.as_deref()?)
            .ok()?;
        Some(Body::Json(bytes.into()))
    }
}

/// A countable archived record: its observation is computed again, as the live path did.
#[derive(Debug)]
struct Archived {
    line: ArchivedLine,
    pos: Position,
    arrival_ms: i64,
    body: Body<'static>,
}

impl Archived {
    fn of(line: ArchivedLine) -> Option<Self> {
        let pos = line.position()?;
        let arrival_ms = line.arrival_ms()?;
        let body = match line.body()? {
            Body::Json(b) => Body::Json(b.into_owned().into()),
            Body::Log {
                message,
                time_ms,
                log_group,
            } => Body::Log {
                message,
                time_ms,
                log_group,
            },
        };
        Some(Self {
            line,
            pos,
            arrival_ms,
            body,
        })
    }

    fn observe(&self, rules: &Rules) -> Option<Observation<'_>> {
        let env = Envelope {
            partition_key: &self.line.partition_key,
            arrival_ms: self.arrival_ms,
            default_time_ms: None,
        };
        observe(&self.body, env, rules).1.ok()
    }
}

/// Rebuilds `current` from the archived records of its domains (each position once): same
/// page, its aggregate and arrivals recomputed, marks never moved back.
fn rebuild(current: &Page, records: &[Archived], cfg: &Config) -> Page {
    let mut page = Page::new(&current.entity, &current.window, current.index);
    page.full = current.full;
    page.marks = current.marks.clone();
    page.version = current.version + 1;
    page.window_seconds = current.window_seconds;
    page.ttl = current.ttl;
    for a in records {
        let Some(obs) = a.observe(&cfg.rules) else {
            continue;
        };
        page.add(&obs, cfg.quantiles);
        page.arrived(a.arrival_ms);
        let (shard, key) = a.line.domain();
        page.advance_mark(shard, key, &a.pos);
    }
    page
}

/// What a recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Pages rebuilt from the archive.
    pub pages: u64,
    /// Records the rebuilt pages count that they did not count before.
    pub recounted: u64,
    /// Archive objects read.
    pub objects: u64,
    /// Given-up records not counted and not below a mark: the function must be invoked
    /// with them first (it archives and counts them), then recovery run again.
    pub not_counted: u64,
}

/// A page to rebuild: the item it belongs to and its current state.
struct Target {
    key: WindowKey,
    page: Page,
}

/// Rebuilds every page holding a domain of `given_up` (records the function was invoked
/// with again after Lambda gave up on them) from the archive.
pub async fn recover<A: ArchiveReader, M: MetricsStore>(
    archive: &A,
    metrics: &M,
    cfg: &Config,
    given_up: &[Marked<'_>],
) -> Result<Recovery, Error> {
    let mut report = Recovery::default();
    let (mut items, hours) = given_up_items(cfg, given_up);
    for round in 0..MAX_ROUNDS {
        let (targets, not_counted) = targets_of(metrics, &items).await?;
        if round == 0 {
            report.not_counted = not_counted;
        }
        if targets.is_empty() {
            return Ok(report);
        }
        // A page whose arrival hours do not account for all of its records (written before
        // they were tracked) cannot be rebuilt from them without losing counts.
        if let Some(t) = targets
            .iter()
            .find(|t| t.page.arrivals.values().sum::<u64>() < t.page.count)
        {
            return Err(Error::Recovery(format!(
                "page {} {} does not list the archive hours of all its records; \
                 it cannot be rebuilt from the archive",
                t.page.entity,
                t.page.sort_key()
            )));
        }
        let found = scan(archive, cfg, &targets, &hours, &mut report).await?;
        let mut changed: BTreeSet<WindowKey> = BTreeSet::new();
        for (i, t) in targets.iter().enumerate() {
            let records = found.get(&i).map(Vec::as_slice).unwrap_or_default();
            let rebuilt = rebuild(&t.page, records, cfg);
            let w = Write {
                expected: Some(t.page.version),
                records: Vec::new(),
                page: rebuilt,
            };
            match metrics.put(&w).await? {
                Outcome::Applied => {
                    report.pages += 1;
                    report.recounted += w.page.count.saturating_sub(t.page.count);
                }
                Outcome::Conflict(_) => {
                    changed.insert(t.key.clone());
                }
            }
        }
        items.retain(|k, _| changed.contains(k));
        if items.is_empty() {
            return Ok(report);
        }
    }
    Err(Error::Contended {
        item: format!("{} items during recovery", items.len()),
        attempts: MAX_ROUNDS,
    })
}

/// An event's records by shard, parsed.
type Parsed<'a> = Vec<(&'a str, Vec<batch::Rec<'a>>)>;
/// Each shard's records, decoded.
type Decoded<'a> = Vec<Vec<Result<crate::decode::Decoded<'a>, crate::decode::Rejection>>>;

fn parsed(event: &KinesisEvent) -> Result<Parsed<'_>, Error> {
    batch::by_shard(event)
        .into_iter()
        .map(|(shard, records)| Ok((shard, batch::parse(&records)?)))
        .collect()
}

fn decoded<'a>(parsed: &'a Parsed<'a>, cfg: &Config) -> Decoded<'a> {
    parsed
        .iter()
        .map(|(_, recs)| batch::decode_all(recs, cfg))
        .collect()
}

/// The countable records of an event, as the live path classifies them.
fn marked<'a>(parsed: &'a Parsed<'a>, decoded: &'a Decoded<'a>, cfg: &Config) -> Vec<Marked<'a>> {
    let mut summary = batch::Summary::default();
    let mut marked = Vec::new();
    for ((shard, recs), d) in parsed.iter().zip(decoded) {
        marked.extend(batch::classify(shard, recs, d, cfg, &mut summary).marked);
    }
    marked
}

/// [`recover`] for the records of a Kinesis event (the given-up batch, as Lambda's failure
/// destination keeps it), after the function was invoked with the same event.
pub async fn recover_event<A: ArchiveReader, M: MetricsStore>(
    archive: &A,
    metrics: &M,
    cfg: &Config,
    event: &KinesisEvent,
) -> Result<Recovery, Error> {
    let parsed = parsed(event)?;
    let decoded = decoded(&parsed, cfg);
    let marked = marked(&parsed, &decoded, cfg);
    recover(archive, metrics, cfg, &marked).await
}

/// Per item, each given-up domain's highest position; and the given-up records' hours.
type Items = BTreeMap<WindowKey, BTreeMap<(String, String), Position>>;

fn given_up_items(cfg: &Config, given_up: &[Marked<'_>]) -> (Items, BTreeSet<i64>) {
    let mut items = Items::new();
    let mut hours: BTreeSet<i64> = BTreeSet::new();
    for m in given_up {
        let e = items
            .entry(key_of(&m.obs, cfg.window_secs))
            .or_default()
            .entry((m.shard.to_owned(), m.key.to_owned()))
            .or_insert_with(|| m.pos.clone());
        if *e < m.pos {
            *e = m.pos.clone();
        }
        hours.insert(hour_of(m.arrival_ms));
    }
    (items, hours)
}

/// The pages to rebuild (those whose mark of a given-up domain is at or past its
/// position), and how many given-up domains no page marks yet.
async fn targets_of<M: MetricsStore>(
    metrics: &M,
    items: &Items,
) -> Result<(Vec<Target>, u64), Error> {
    let mut targets: Vec<Target> = Vec::new();
    let mut not_counted = 0;
    for (key, domains) in items {
        let pages = metrics
            .load(&key.entity, &window_label(key.window_start_ms))
            .await?;
        let mut covered = BTreeSet::new();
        for p in pages {
            let mut holds = false;
            for ((s, k), pos) in domains {
                if let Some(mark) = p.mark(s, k) {
                    covered.insert((s.clone(), k.clone()));
                    holds |= pos <= mark;
                }
            }
            if holds {
                targets.push(Target {
                    key: key.clone(),
                    page: p,
                });
            }
        }
        not_counted += domains.keys().filter(|d| !covered.contains(*d)).count() as u64;
    }
    Ok((targets, not_counted))
}

/// What recovering a given-up event would read and rewrite, read-only (`redrive --dry-run`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Preview {
    /// (entity, window) aggregates the records belong to.
    pub aggregates: u64,
    /// Pages that would be rebuilt now (pages of records not yet counted are rebuilt only
    /// after the function was invoked with them).
    pub pages: u64,
    /// Given-up domains no page counts yet (the invocation counts them first).
    pub not_counted: u64,
    /// Archive prefixes whose objects of the batch's shards would be read.
    pub archive_hours: Vec<String>,
}

/// [`Preview`] of recovering `event`.
pub async fn preview<M: MetricsStore>(
    metrics: &M,
    cfg: &Config,
    event: &KinesisEvent,
) -> Result<Preview, Error> {
    let parsed = parsed(event)?;
    let decoded = decoded(&parsed, cfg);
    let marked = marked(&parsed, &decoded, cfg);
    let (items, mut hours) = given_up_items(cfg, &marked);
    let (targets, not_counted) = targets_of(metrics, &items).await?;
    for t in &targets {
        hours.extend(
            t.page
                .arrivals
                .keys()
                .filter_map(|h| parse_time(&format!("{h}:00:00Z"))),
        );
    }
    Ok(Preview {
        aggregates: items.len() as u64,
        pages: targets.len() as u64,
        not_counted,
        archive_hours: hours
            .into_iter()
            .map(|h| format!("{}{}", Kind::Raw.prefix(), hour_prefix(h)))
            .collect(),
    })
}

fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(3_600_000) * 3_600_000
}

/// Reads the archive hours of the targets (and of the given-up records) in the targets'
/// shards; returns, per target index, its archived records, each position once.
async fn scan<A: ArchiveReader>(
    archive: &A,
    cfg: &Config,
    targets: &[Target],
    given_up_hours: &BTreeSet<i64>,
    report: &mut Recovery,
) -> Result<BTreeMap<usize, Vec<Archived>>, Error> {
    let mut hours = given_up_hours.clone();
    let mut owner: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, t) in targets.iter().enumerate() {
        for h in t.page.arrivals.keys() {
            if let Some(ms) = parse_time(&format!("{h}:00:00Z")) {
                hours.insert(ms);
            }
        }
        for (shard, keys) in &t.page.marks {
            for k in keys.keys() {
                owner.entry((shard.clone(), k.clone())).or_default().push(i);
            }
        }
    }
    let shards: BTreeSet<String> = owner.keys().map(|(s, _)| format!("{s}-")).collect();
    let mut seen: BTreeSet<(usize, String, Position)> = BTreeSet::new();
    let mut out: BTreeMap<usize, Vec<Archived>> = BTreeMap::new();
    // The objects of the affected shards in those hours, listed in order, then read
    // `cfg.concurrency` at a time (at most that many bodies held at once).
    let mut keys = Vec::new();
    for h in hours {
        let prefix = format!("{}{}", Kind::Raw.prefix(), hour_prefix(h));
        keys.extend(archive.keys(&prefix).await?.into_iter().filter(|key| {
            let name = key.rsplit('/').next().unwrap_or_default();
            shards.iter().any(|s| name.starts_with(s.as_str()))
        }));
    }
    let mut bodies = stream::iter(
        keys.iter()
            .map(|key| async move { archive.get(key).await.map(|body| (key, body)) }),
    )
    .buffered(cfg.concurrency.max(1));
    while let Some(read) = bodies.next().await {
        let (key, body) = read?;
        report.objects += 1;
        let mut text = String::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .read_to_string(&mut text)
            .map_err(|e| Error::ArchiveRead {
                key: key.clone(),
                source: Box::new(e),
            })?;
        for (n, l) in text.lines().enumerate() {
            // The function wrote every line: one it cannot read means the object is not
            // what it wrote, and a page rebuilt without it would count too little.
            let line = serde_json::from_str::<ArchivedLine>(l).map_err(|e| Error::ArchiveRead {
                key: format!("{key} line {}", n + 1),
                source: Box::new(e),
            })?;
            let (shard, k) = line.domain();
            let Some(pages) = owner.get(&(shard.to_owned(), k.to_owned())) else {
                continue;
            };
            let Some(a) = Archived::of(line) else {
                continue;
            };
            let Some(item) = a.observe(&cfg.rules).map(|o| key_of(&o, cfg.window_secs)) else {
                continue;
            };
            // A domain has one page per item: at most one target takes the record.
            let Some(&i) = pages.iter().find(|&&i| targets[i].key == item) else {
                continue;
            };
            if seen.insert((i, a.line.shard_id.clone(), a.pos.clone())) {
                out.entry(i).or_default().push(a);
            }
        }
    }
    Ok(out)
}

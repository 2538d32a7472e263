//! One Kinesis batch: decode, archive, then count exactly once; report partial failures.
//!
//! Order per shard: every record is archived (raw or rejected) before anything is counted,
//! so whatever is counted is archived. If an archive object fails, records from that
//! object's first position on are not counted and the batch reports that record as the
//! first failure (Lambda checkpoints before it and retries from it). Metrics items are
//! written concurrently; a failed item reports its earliest record. Records after the
//! failure that were already counted are skipped on the retry by the items' high-water
//! marks, so going on never double-counts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use futures::stream::{self, StreamExt};

use crate::aggregate::{WindowKey, key_of};
use crate::archive::{self, ArchiveStore, Line, Payload};
use crate::decode::{self, Body, Decoded};
use crate::extract::{self, Envelope};
use crate::position::{Position, SeqNo};
use crate::store::{self, ItemState, Marked, MetricsStore, Outcome};
use crate::{Config, Error};

/// Attempts at one item before giving up on contention.
pub const MAX_ATTEMPTS: u32 = 8;
/// Items whose last-known state is kept between invocations of a warm container.
const CACHE_LIMIT: usize = 50_000;

/// Counters of one batch (logged as one line and as EMF metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub kinesis_records: u64,
    pub user_records: u64,
    pub counted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub control_messages: u64,
    pub time_fallbacks: u64,
    pub objects: u64,
    pub items: u64,
    pub conflicts: u64,
    pub failed_shards: u64,
}

/// The processor: configuration, stores and a cache of item states.
#[derive(Debug)]
pub struct Processor<A, M> {
    pub config: Config,
    archive: A,
    metrics: M,
    cache: Mutex<HashMap<WindowKey, ItemState>>,
}

/// A Kinesis record with its position fields checked.
struct Rec<'a> {
    seq: SeqNo,
    partition_key: &'a str,
    arrival_ms: i64,
    data: &'a [u8],
}

impl<A: ArchiveStore, M: MetricsStore> Processor<A, M> {
    /// A processor over the given stores.
    pub fn new(config: Config, archive: A, metrics: M) -> Self {
        Self {
            config,
            archive,
            metrics,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The Lambda handler: processes the batch, logs its summary, returns item failures.
    pub async fn handle(&self, event: KinesisEvent) -> Result<KinesisEventResponse, Error> {
        let started = Instant::now();
        let (response, summary) = self.process(&event).await?;
        crate::telemetry::batch_done(&self.config.namespace, &summary, started.elapsed());
        Ok(response)
    }

    /// Processes a batch; per shard, the first record not fully stored is reported.
    pub async fn process(
        &self,
        event: &KinesisEvent,
    ) -> Result<(KinesisEventResponse, Summary), Error> {
        let mut shards: BTreeMap<&str, Vec<&KinesisEventRecord>> = BTreeMap::new();
        for r in &event.records {
            shards.entry(shard_of(r)).or_default().push(r);
        }
        let mut summary = Summary {
            kinesis_records: event.records.len() as u64,
            ..Summary::default()
        };
        let mut response = KinesisEventResponse::default();
        for (shard, records) in shards {
            if let Some(failed) = self.process_shard(shard, &records, &mut summary).await? {
                summary.failed_shards += 1;
                let mut f = KinesisBatchItemFailure::default();
                f.item_identifier = Some(failed.as_str().to_owned());
                response.batch_item_failures.push(f);
            }
        }
        Ok((response, summary))
    }

    async fn process_shard(
        &self,
        shard: &str,
        records: &[&KinesisEventRecord],
        summary: &mut Summary,
    ) -> Result<Option<SeqNo>, Error> {
        let cfg = &self.config;
        let recs: Vec<Rec<'_>> = records
            .iter()
            .map(|r| {
                let k = &r.kinesis;
                let seq = SeqNo::parse(&k.sequence_number).ok_or_else(|| {
                    Error::Event(format!("invalid sequence number {:?}", k.sequence_number))
                })?;
                Ok(Rec {
                    seq,
                    partition_key: &k.partition_key,
                    arrival_ms: k.approximate_arrival_timestamp.0.timestamp_millis(),
                    data: &k.data.0,
                })
            })
            .collect::<Result<_, Error>>()?;
        let decoded: Vec<Result<Decoded<'_>, decode::Rejection>> = recs
            .iter()
            .map(|r| decode::decode(r.data, r.partition_key, cfg.limits))
            .collect();

        let mut lines: Vec<Line<'_>> = Vec::new();
        let mut marked: Vec<Marked<'_>> = Vec::new();
        for (r, d) in recs.iter().zip(&decoded) {
            let mark = format!("{shard}.{}", r.partition_key);
            let line = |sub, pk, payload, reason| line_of(shard, r, sub, pk, payload, reason);
            let units = match d {
                Ok(d @ (Decoded::One(_) | Decoded::Units(_))) => d.units(),
                Ok(Decoded::Control) => {
                    summary.control_messages += 1;
                    lines.push(line(0, r.partition_key, Payload::Bytes(r.data), None));
                    continue;
                }
                Err(rejection) => {
                    summary.rejected += 1;
                    let reason = Some(rejection.to_string());
                    lines.push(line(0, r.partition_key, Payload::Bytes(r.data), reason));
                    continue;
                }
            };
            for u in units {
                summary.user_records += 1;
                let env = Envelope {
                    partition_key: &u.partition_key,
                    arrival_ms: r.arrival_ms,
                    default_time_ms: None,
                };
                let (payload, extracted) = match &u.body {
                    Body::Json(bytes) => (
                        Payload::Json(bytes),
                        extract::extract(bytes, env, &cfg.rules),
                    ),
                    Body::Log { message, time_ms } => {
                        let env = Envelope {
                            default_time_ms: Some(*time_ms),
                            ..env
                        };
                        let payload = Payload::Log {
                            message,
                            time_ms: *time_ms,
                        };
                        let obs = if message.trim_start().starts_with('{') {
                            extract::extract(message.as_bytes(), env, &cfg.rules)
                                .unwrap_or_else(|_| extract::log_line(env))
                        } else {
                            extract::log_line(env)
                        };
                        (payload, Ok(obs))
                    }
                };
                match extracted {
                    Ok(obs) => {
                        summary.time_fallbacks += u64::from(obs.time_fallback);
                        lines.push(line(u.sub, &u.partition_key, payload, None));
                        marked.push(Marked {
                            mark: mark.clone(),
                            pos: Position {
                                seq: r.seq.clone(),
                                sub: u.sub,
                            },
                            obs,
                        });
                    }
                    Err(e) => {
                        summary.rejected += 1;
                        let raw = match payload {
                            Payload::Json(b) => Payload::Bytes(b),
                            other => other,
                        };
                        lines.push(line(u.sub, &u.partition_key, raw, Some(e.to_string())));
                    }
                }
            }
        }

        // 1. Archive everything; a failed object stops counting at its first record.
        let objects = archive::objects(shard, &lines);
        summary.objects += objects.len() as u64;
        let puts = stream::iter(objects.into_iter().map(|o| async move {
            let first = o.first.clone();
            self.archive
                .put(&o.key, o.body)
                .await
                .map_err(|e| (first, e))
        }))
        .buffer_unordered(cfg.concurrency)
        .collect::<Vec<_>>()
        .await;
        let mut failed: Option<Position> = None;
        for r in puts {
            if let Err((first, e)) = r {
                tracing::warn!(error = %e, shard, "archive write failed");
                failed = Some(failed.map_or(first.clone(), |f| f.min(first)));
            }
        }

        // 2. Count what is archived, one conditional update per item.
        let mut items: BTreeMap<WindowKey, Vec<&Marked<'_>>> = BTreeMap::new();
        for m in &marked {
            if failed.as_ref().is_none_or(|f| &m.pos < f) {
                items
                    .entry(key_of(&m.obs, cfg.window_secs))
                    .or_default()
                    .push(m);
            }
        }
        summary.items += items.len() as u64;
        let writes = stream::iter(items.into_iter().map(|(key, recs)| async move {
            let earliest = recs.iter().map(|m| m.pos.clone()).min();
            let r = self.write_item(&key, &recs).await;
            (earliest, r)
        }))
        .buffer_unordered(cfg.concurrency)
        .collect::<Vec<_>>()
        .await;
        for (earliest, r) in writes {
            match r {
                Ok((counted, duplicates, conflicts)) => {
                    summary.counted += counted;
                    summary.duplicates += duplicates;
                    summary.conflicts += conflicts;
                }
                Err(e) => {
                    tracing::warn!(error = %e, shard, "metrics update failed");
                    if let Some(p) = earliest {
                        failed = Some(failed.map_or(p.clone(), |f| f.min(p)));
                    }
                }
            }
        }
        Ok(failed.map(|p| p.seq))
    }

    /// Adds `recs` to one item: plan from the last known state, retry on conflict.
    /// Returns (records counted, duplicates skipped, conflicts seen).
    async fn write_item(
        &self,
        key: &WindowKey,
        recs: &[&Marked<'_>],
    ) -> Result<(u64, u64, u64), Error> {
        let cfg = &self.config;
        let mut state = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(key).cloned())
            .unwrap_or_default();
        for attempt in 0..MAX_ATTEMPTS {
            let plan = store::plan(key, &state, recs, cfg.window_secs, cfg.ttl_days);
            let Some(update) = plan.update else {
                return Ok((0, plan.duplicates, u64::from(attempt)));
            };
            match self.metrics.update(&update).await? {
                Outcome::Applied(new) => {
                    self.remember(key, new);
                    let counted = recs.len() as u64 - plan.duplicates;
                    return Ok((counted, plan.duplicates, u64::from(attempt)));
                }
                Outcome::Conflict(current) => state = current,
            }
        }
        Err(Error::Contended {
            item: format!(
                "{} {}",
                key.entity,
                store::window_label(key.window_start_ms)
            ),
            attempts: MAX_ATTEMPTS,
        })
    }

    fn remember(&self, key: &WindowKey, state: ItemState) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key.clone(), state);
        }
    }
}

fn line_of<'a>(
    shard: &'a str,
    r: &Rec<'a>,
    sub: u32,
    partition_key: &'a str,
    payload: Payload<'a>,
    reason: Option<String>,
) -> Line<'a> {
    Line {
        shard_id: shard,
        pos: Position {
            seq: r.seq.clone(),
            sub,
        },
        partition_key,
        arrival_ms: r.arrival_ms,
        payload,
        reason,
    }
}

/// `shardId-…` from `eventID` (`<shardId>:<sequence>`).
fn shard_of(r: &KinesisEventRecord) -> &str {
    r.event_id
        .as_deref()
        .and_then(|id| id.split_once(':'))
        .map_or("shardId-unknown", |(shard, _)| shard)
}

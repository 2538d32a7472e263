//! One shard's records → archive lines, per-item contributions and counters (pure).
//!
//! Decode and extract every record of a shard; every user record becomes exactly one
//! archive line (raw, or rejected with its reason), and every raw line that is not a
//! control message becomes one [`Marked`] observation for its (entity, window) item.

use std::collections::BTreeMap;

use crate::event::{KinesisEvent, KinesisEventRecord};

use crate::archive::{Counted, Line, Payload};
use crate::decode::{self, Body, Decoded};
use crate::extract::{self, Envelope};
use crate::position::{Position, SeqNo};
use crate::store::Marked;
use crate::window::{WindowKey, key_of};
use crate::{Config, Error};

/// Counters of one batch (logged as fields and as EMF metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub kinesis_records: u64,
    pub user_records: u64,
    pub counted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub control_messages: u64,
    pub time_fallbacks: u64,
    /// Records whose id field was not a valid key value (empty or too long).
    pub id_fallbacks: u64,
    /// Records the table refused deterministically (quarantined under `rejected/`).
    pub refused: u64,
    pub objects: u64,
    pub items: u64,
    pub pages_written: u64,
    pub conflicts: u64,
    /// Pages read back (`Query`) to re-plan after a conflict.
    pub queries: u64,
    pub failed_shards: u64,
}

/// A Kinesis record with its position fields checked.
#[derive(Debug, Clone)]
pub struct Rec<'a> {
    pub seq: SeqNo,
    pub partition_key: &'a str,
    pub arrival_ms: i64,
    pub data: &'a [u8],
}

/// The event's records grouped by shard (from `eventID`, `<shardId>:<sequence>`), in order.
pub fn by_shard(event: &KinesisEvent) -> BTreeMap<&str, Vec<&KinesisEventRecord>> {
    let mut shards: BTreeMap<&str, Vec<&KinesisEventRecord>> = BTreeMap::new();
    for r in &event.records {
        let shard = r
            .event_id
            .as_deref()
            .and_then(|id| id.split_once(':'))
            .map_or("shardId-unknown", |(shard, _)| shard);
        shards.entry(shard).or_default().push(r);
    }
    shards
}

/// A shard's Kinesis records with their positions checked.
pub fn parse<'a>(records: &[&'a KinesisEventRecord]) -> Result<Vec<Rec<'a>>, Error> {
    records
        .iter()
        .map(|r| {
            let k = &r.kinesis;
            let seq = SeqNo::parse(&k.sequence_number).ok_or_else(|| {
                Error::Event(format!("invalid sequence number {:?}", k.sequence_number))
            })?;
            Ok(Rec {
                seq,
                partition_key: &k.partition_key,
                arrival_ms: k.arrival_ms,
                data: &k.data,
            })
        })
        .collect()
}

/// Decodes every record of a shard (kept by the caller: lines and observations borrow it).
pub fn decode_all<'a>(
    recs: &'a [Rec<'a>],
    cfg: &Config,
) -> Vec<Result<Decoded<'a>, decode::Rejection>> {
    recs.iter()
        .map(|r| decode::decode(r.data, r.partition_key, cfg.limits))
        .collect()
}

/// What a shard's records become.
#[derive(Debug, Default)]
pub struct Classified<'a> {
    /// One line per user record (or per undecodable Kinesis record), in shard order.
    pub lines: Vec<Line<'a>>,
    /// One observation per countable user record, in shard order.
    pub marked: Vec<Marked<'a>>,
}

impl<'a> Classified<'a> {
    /// The observations before `failed` (all when `None`), grouped by item.
    pub fn items(
        &self,
        failed: Option<&Position>,
        window_secs: u32,
    ) -> BTreeMap<WindowKey, Vec<&Marked<'a>>> {
        let mut items: BTreeMap<WindowKey, Vec<&Marked<'a>>> = BTreeMap::new();
        for m in &self.marked {
            if failed.is_none_or(|f| &m.pos < f) {
                items
                    .entry(key_of(&m.obs, window_secs))
                    .or_default()
                    .push(m);
            }
        }
        items
    }
}

/// What one user record archives as and contributes: JSON is extracted; a CloudWatch Logs
/// message is extracted when it is a JSON object, else counted as a log line at its time.
/// A log event's entity falls back to its log group, not the Kinesis partition key
/// (CloudWatch Logs picks an opaque random one per record: keyed by it, every record would
/// open its own aggregate, a billed write that means nothing to anyone).
/// (Shared by the live path and by recovery from the archive.)
pub fn observe<'a>(
    body: &'a Body<'a>,
    env: Envelope<'a>,
    rules: &crate::extract::Rules,
) -> (
    Payload<'a>,
    Result<crate::extract::Observation<'a>, crate::extract::ExtractError>,
) {
    match body {
        Body::Json(bytes) => (Payload::Json(bytes), extract::extract(bytes, env, rules)),
        Body::Log {
            message,
            time_ms,
            log_group,
        } => {
            let env = Envelope {
                default_time_ms: Some(*time_ms),
                partition_key: if log_group.is_empty() {
                    env.partition_key
                } else {
                    log_group
                },
                ..env
            };
            let payload = Payload::Log {
                message,
                time_ms: *time_ms,
                log_group,
            };
            let obs = if message.trim_start().starts_with('{') {
                extract::extract(message.as_bytes(), env, rules)
                    .unwrap_or_else(|_| extract::log_line(env))
            } else {
                extract::log_line(env)
            };
            (payload, Ok(obs))
        }
    }
}

/// Classifies a shard's decoded records into archive lines and observations.
pub fn classify<'a>(
    shard: &'a str,
    recs: &'a [Rec<'a>],
    decoded: &'a [Result<Decoded<'a>, decode::Rejection>],
    cfg: &Config,
    summary: &mut Summary,
) -> Classified<'a> {
    let mut out = Classified::default();
    for (r, d) in recs.iter().zip(decoded) {
        let line = |sub, pk: &'a str, payload, reason| Line {
            counted: None,
            shard_id: shard,
            pos: Position {
                seq: r.seq.clone(),
                sub,
            },
            partition_key: pk,
            kinesis_partition_key: (pk != r.partition_key).then_some(r.partition_key),
            arrival_ms: r.arrival_ms,
            payload,
            reason,
        };
        let units = match d {
            Ok(d @ (Decoded::One(_) | Decoded::Units(_))) => d.units(),
            Ok(Decoded::Control) => {
                summary.control_messages += 1;
                out.lines
                    .push(line(0, r.partition_key, Payload::Bytes(r.data), None));
                continue;
            }
            Err(rejection) => {
                summary.rejected += 1;
                let reason = Some(rejection.to_string());
                out.lines
                    .push(line(0, r.partition_key, Payload::Bytes(r.data), reason));
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
            let (payload, extracted) = observe(&u.body, env, &cfg.rules);
            match extracted {
                Ok(obs) => {
                    summary.time_fallbacks += u64::from(obs.time_fallback);
                    summary.id_fallbacks += u64::from(obs.id_fallback);
                    out.lines.push(Line {
                        counted: Some(Counted {
                            entity: obs.entity.clone(),
                            window_start_ms: crate::window::window_start(
                                obs.event_time_ms,
                                cfg.window_secs,
                            ),
                        }),
                        ..line(u.sub, &u.partition_key, payload, None)
                    });
                    out.marked.push(Marked {
                        shard,
                        key: r.partition_key,
                        arrival_ms: r.arrival_ms,
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
                    out.lines
                        .push(line(u.sub, &u.partition_key, raw, Some(e.to_string())));
                }
            }
        }
    }
    out
}

//! One Kinesis batch (I/O only): per shard, archive every line, then count each item
//! exactly once; quarantine what the table refuses; report partial failures.
//!
//! Order per shard: every record is archived (raw or rejected) before anything is counted,
//! so whatever is counted is archived. If an archive object fails, records from that
//! object's first position on are not counted and the batch reports that record as the
//! first failure (Lambda checkpoints before it and retries from it). Items are written
//! concurrently; an item that fails transiently reports its earliest record. Records after
//! the failure that were already counted are skipped on the retry by the pages' marks.
//! A deterministic refusal by the table (`ValidationException`) is not retried: those
//! records go to `rejected/` with the service's message and the batch goes on.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::event::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use futures::stream::{self, StreamExt};

use crate::archive::{self, ArchiveStore, Line};
use crate::batch::{self, Rec, Summary};
use crate::position::{Position, SeqNo};
use crate::store::{self, Marked, MetricsStore, Outcome, PageSettings, View};
use crate::window::WindowKey;
use crate::{Config, Error};

/// Rounds of planning and writing one item before giving up on contention.
pub const MAX_ATTEMPTS: u32 = 8;
/// Items whose last-known pages are kept between invocations of a warm container.
const CACHE_LIMIT: usize = 50_000;
/// How far behind the newest window written an item's view is still kept (plus two
/// windows): records for older windows are late, and their item is read back instead.
const CACHE_HORIZON_MS: i64 = 15 * 60 * 1000;

/// Item views a warm container keeps: bounded in number, and dropped once their window is
/// far behind the newest one written, so memory follows the active items, not the uptime.
#[derive(Debug, Default)]
struct Cache {
    views: HashMap<WindowKey, View>,
    newest_ms: i64,
}

/// Delay between contended rounds: full jitter over an exponentially growing cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(10),
            max: Duration::from_millis(500),
        }
    }
}

impl Backoff {
    /// No delay (tests of schedules that are not about timing).
    pub const NONE: Backoff = Backoff {
        base: Duration::ZERO,
        max: Duration::ZERO,
    };

    /// The delay before round `attempt + 1`: uniform in [0, min(max, base · 2^attempt)].
    pub fn delay(&self, attempt: u32) -> Duration {
        let cap = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max);
        cap.mul_f64(fastrand::f64())
    }
}

/// The processor: configuration, stores and a cache of item pages.
#[derive(Debug)]
pub struct Processor<A, M> {
    pub config: Config,
    pub backoff: Backoff,
    archive: A,
    metrics: M,
    cache: Mutex<Cache>,
}

/// What writing one item did.
#[derive(Debug, Default)]
struct ItemOutcome {
    counted: u64,
    duplicates: u64,
    conflicts: u64,
    pages: u64,
    /// Pages read back (`Query`) after a conflict with a full page.
    queries: u64,
    /// Records the table refused, with its message.
    refused: Vec<(usize, String)>,
}

impl<A: ArchiveStore, M: MetricsStore> Processor<A, M> {
    /// A processor over the given stores.
    pub fn new(config: Config, archive: A, metrics: M) -> Self {
        Self {
            config,
            backoff: Backoff::default(),
            archive,
            metrics,
            cache: Mutex::new(Cache::default()),
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
        let shards = batch::by_shard(event);
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
        let recs: Vec<Rec<'_>> = batch::parse(records)?;
        let decoded = batch::decode_all(&recs, cfg);
        let classified = batch::classify(shard, &recs, &decoded, cfg, summary);

        // 1. Archive everything; a failed object stops counting at its first record.
        let mut failed = self.put_objects(shard, &classified.lines, summary).await;

        // 2. Count what is archived, item by item.
        let items = classified.items(failed.as_ref(), cfg.window_secs);
        summary.items += items.len() as u64;
        let writes = stream::iter(items.into_iter().map(|(key, recs)| async move {
            let r = self.write_item(&key, &recs).await;
            (recs, r)
        }))
        .buffer_unordered(cfg.concurrency)
        .collect::<Vec<_>>()
        .await;
        let mut refused: Vec<(&Marked<'_>, String)> = Vec::new();
        for (recs, r) in writes {
            match r {
                Ok(o) => {
                    summary.counted += o.counted;
                    summary.duplicates += o.duplicates;
                    summary.conflicts += o.conflicts;
                    summary.pages_written += o.pages;
                    summary.queries += o.queries;
                    refused.extend(o.refused.into_iter().map(|(i, m)| (recs[i], m)));
                }
                Err(e) => {
                    tracing::warn!(error = %crate::error::chain(&e), shard, "metrics update failed");
                    if let Some(p) = recs.iter().map(|m| m.pos.clone()).min() {
                        failed = Some(failed.map_or(p.clone(), |f| f.min(p)));
                    }
                }
            }
        }

        // 3. Quarantine what the table refused, with its message.
        if !refused.is_empty() {
            summary.refused += refused.len() as u64;
            summary.rejected += refused.len() as u64;
            let lines: Vec<Line<'_>> = refused
                .iter()
                .filter_map(|(m, message)| {
                    let line = classified.lines.iter().find(|l| l.pos == m.pos)?;
                    let reason = format!("metrics table refused the item: {message}");
                    tracing::warn!(shard, position = %m.pos, %reason, "record quarantined");
                    Some(line.rejected(reason))
                })
                .collect();
            if let Some(p) = self.put_objects(shard, &lines, summary).await {
                // Not quarantined yet: retry the batch from there (the refusal repeats).
                failed = Some(failed.map_or(p.clone(), |f| f.min(p)));
            }
        }
        Ok(failed.map(|p| p.seq))
    }

    /// Puts the objects of `lines`; the earliest first position of a failed object.
    async fn put_objects(
        &self,
        shard: &str,
        lines: &[Line<'_>],
        summary: &mut Summary,
    ) -> Option<Position> {
        let objects = match archive::objects(shard, lines) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %crate::error::chain(&e), shard, "archive objects could not be built");
                return lines.iter().map(|l| l.pos.clone()).min();
            }
        };
        summary.objects += objects.len() as u64;
        let puts = stream::iter(objects.into_iter().map(|o| async move {
            let first = o.first.clone();
            self.archive
                .put(&o.key, o.body)
                .await
                .map_err(|e| (first, e))
        }))
        .buffer_unordered(self.config.concurrency)
        .collect::<Vec<_>>()
        .await;
        let mut failed: Option<Position> = None;
        for r in puts {
            if let Err((first, e)) = r {
                tracing::warn!(error = %crate::error::chain(&e), shard, "archive write failed");
                failed = Some(failed.map_or(first.clone(), |f| f.min(first)));
            }
        }
        failed
    }

    /// Counts `recs` (one item) exactly once: plan from the known pages, write, learn from
    /// conflicts, back off, re-plan.
    async fn write_item(
        &self,
        key: &WindowKey,
        recs: &[&Marked<'_>],
    ) -> Result<ItemOutcome, Error> {
        let settings = PageSettings {
            window_secs: self.config.window_secs,
            ttl_days: self.config.ttl_days,
            marks_budget: self.config.marks_budget,
            quantiles: self.config.quantiles,
        };
        let mut view = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.views.get(key).cloned())
            .unwrap_or_default();
        let mut done = vec![false; recs.len()];
        let mut out = ItemOutcome::default();
        // After a refusal, the refused write's records are tried in halves, one group at a
        // time (the last first), until the record the table refuses is alone: only it is
        // quarantined. Records outside the groups wait until the groups are resolved.
        let mut isolate: Vec<Vec<usize>> = Vec::new();
        // Rounds: MAX_ATTEMPTS, plus one for each refusal (a split or a quarantine, at most
        // 2 × recs.len() in all), so refusals never use up the conflict retries.
        let (mut round, mut rounds) = (0, MAX_ATTEMPTS);
        while round < rounds {
            round += 1;
            while isolate.last().is_some_and(|g| g.iter().all(|&i| done[i])) {
                isolate.pop();
            }
            let group = isolate.last();
            let pending: Vec<usize> = (0..recs.len())
                .filter(|&i| !done[i] && group.is_none_or(|g| g.contains(&i)))
                .collect();
            if pending.is_empty() {
                break;
            }
            let sub: Vec<&Marked<'_>> = pending.iter().map(|&i| recs[i]).collect();
            let plan = store::plan(key, &view, &sub, settings);
            for d in plan.duplicates {
                done[pending[d]] = true;
                out.duplicates += 1;
            }
            // In page order, stopping at the first conflict or refusal: a page's new marks
            // may only be written once every page before it is known full, so a domain's
            // mark never lands in two pages (a writer that assumed page 0 absent must not
            // spill to 1).
            let (mut contended, mut reload) = (false, false);
            for w in plan.writes {
                let index = w.page.index;
                match self.metrics.put(&w).await {
                    Ok(Outcome::Applied) => {
                        out.pages += 1;
                        out.counted += w.records.len() as u64;
                        for i in w.records {
                            done[pending[i]] = true;
                        }
                        view.learn(index, Some(w.page));
                    }
                    Ok(Outcome::Conflict(current)) => {
                        contended = true;
                        out.conflicts += 1;
                        reload |= current.as_ref().is_some_and(|p| p.full);
                        view.learn(index, current.map(|p| *p));
                        break;
                    }
                    Err(Error::MetricsRejected { message, .. }) => {
                        rounds += 1;
                        let refused: Vec<usize> = w.records.iter().map(|&i| pending[i]).collect();
                        match refused.as_slice() {
                            [] => {
                                // A write of no new records refused: nothing to isolate.
                                return Err(Error::MetricsRejected {
                                    item: format!(
                                        "{} {}",
                                        key.entity,
                                        store::window_label(key.window_start_ms)
                                    ),
                                    message,
                                });
                            }
                            [one] => {
                                done[*one] = true;
                                out.refused.push((*one, message));
                            }
                            many => {
                                let (a, b) = many.split_at(many.len() / 2);
                                isolate.push(b.to_vec());
                                isolate.push(a.to_vec());
                            }
                        }
                        break;
                    }
                    Err(e) => {
                        self.remember(key, view);
                        return Err(e);
                    }
                }
            }
            if reload {
                out.queries += 1;
                let label = store::window_label(key.window_start_ms);
                view = View::loaded(self.metrics.load(&key.entity, &label).await?);
            }
            if contended {
                let delay = self.backoff.delay(round - 1);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            }
        }
        if done.iter().all(|d| *d) {
            self.remember(key, view);
            return Ok(out);
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

    fn remember(&self, key: &WindowKey, view: View) {
        let horizon = CACHE_HORIZON_MS + 2 * i64::from(self.config.window_secs) * 1000;
        if let Ok(mut cache) = self.cache.lock() {
            if key.window_start_ms > cache.newest_ms {
                cache.newest_ms = key.window_start_ms;
                let oldest = cache.newest_ms - horizon;
                cache.views.retain(|k, _| k.window_start_ms >= oldest);
            }
            if cache.views.len() >= CACHE_LIMIT {
                cache.views.clear();
            }
            cache.views.insert(key.clone(), view);
        }
    }
}

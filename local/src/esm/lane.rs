//! A lane: gathers batches (size, window, 6 MB) and invokes its own execution
//! environment; resolves each batch with `drive`; keeps what it gives up on in S3.

use super::*;
use crate::function_log::FunctionTotals;

/// What a lane needs.
pub(super) struct Lane {
    spec: MappingSpec,
    stream_arn: String,
    /// The mapping's role as each record's `invokeIdentityArn` says it.
    role_arn: String,
    function_arn: String,
    function_name: String,
    region: String,
    shard: String,
    clients: Clients,
    pub(super) env: Environment,
    progress: Arc<Mutex<Progress>>,
    checkpoints: Arc<Checkpoints>,
    stats: Arc<Stats>,
    metrics: mpsc::UnboundedSender<MetricDatum>,
    /// The environment's log file, read after each invocation for the function's summary
    /// of it (as an invocation's log tail comes back with it).
    log: PathBuf,
    log_tail: crate::tail::Tail,
    /// The summaries of this batch's invocations, added to the tally with its records.
    pending: FunctionTotals,
}

impl Lane {
    /// A lane of `shard` with its own execution environment logging to `log`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn new(
        clients: &Clients,
        deployed: &Deployed,
        shard: &str,
        bootstrap: &Path,
        extra_env: BTreeMap<String, String>,
        log: PathBuf,
        progress: Arc<Mutex<Progress>>,
        checkpoints: Arc<Checkpoints>,
        stats: Arc<Stats>,
        metrics: mpsc::UnboundedSender<MetricDatum>,
    ) -> Result<Self, Error> {
        let mut log_tail = crate::tail::Tail::default();
        // What an earlier run wrote there is not this run's.
        log_tail.skip_file(&log);
        Ok(Lane {
            spec: deployed.mapping.clone(),
            stream_arn: deployed.mapping.stream_arn.clone(),
            role_arn: format!("arn:aws:iam::{}:role/local", crate::deploy::LOCAL_ACCOUNT),
            function_arn: deployed.function.arn.clone(),
            function_name: deployed.function.name.clone(),
            region: deployed.region.clone(),
            shard: shard.to_owned(),
            clients: clients.clone(),
            env: Environment::start(&deployed.function, bootstrap, extra_env, log.clone()).await?,
            progress,
            checkpoints,
            stats,
            metrics,
            log,
            log_tail,
            pending: FunctionTotals::default(),
        })
    }
}

/// Lambda's synchronous invocation payload limit: a batch closes before passing it.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// `{"Records":[` … `]}`.
const EVENT_ENVELOPE_BYTES: usize = 14;

/// Gathers batches: up to `batchSize` records, within the batching window, and never past
/// the 6 MB payload (the record that does not fit opens the next batch).
pub(super) async fn run_lane(mut lane: Lane, mut rx: mpsc::Receiver<Rec>, stop: Arc<AtomicBool>) {
    let window = Duration::from_secs(lane.spec.batching_window_secs);
    let mut carry: Option<Rec> = None;
    while !stop.load(Ordering::SeqCst) {
        let first = match carry.take() {
            Some(r) => r,
            None => match rx.recv().await {
                Some(r) => r,
                None => break,
            },
        };
        let mut bytes = EVENT_ENVELOPE_BYTES + lane.record_bytes(&first);
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + window;
        while batch.len() < lane.spec.batch_size {
            let next = if window.is_zero() {
                rx.try_recv().ok()
            } else {
                tokio::time::timeout_at(deadline, rx.recv())
                    .await
                    .ok()
                    .flatten()
            };
            let Some(r) = next else {
                break;
            };
            let b = lane.record_bytes(&r);
            if bytes + b > MAX_PAYLOAD_BYTES {
                carry = Some(r);
                break;
            }
            bytes += b;
            batch.push(r);
        }
        lane.process(batch, &stop).await;
    }
    lane.env.stop().await;
}

impl Invoke for Lane {
    fn invoke(
        &mut self,
        recs: &[Rec],
    ) -> impl std::future::Future<Output = Result<Option<usize>, InvokeError>> + Send {
        self.invoke_function(recs)
    }

    fn wait(&mut self, d: Duration) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }
}

impl Lane {
    /// Processes one batch to the end: done, or given up on to the on-failure bucket.
    async fn process(&mut self, batch: Vec<Rec>, stop: &AtomicBool) {
        let spec = self.spec.clone();
        for r in drive(batch, &spec, now_ms, self).await {
            // The function's summaries count with the first records finished.
            let summaries = std::mem::take(&mut self.pending);
            match r {
                Resolution::Done(recs) => self.finish(&recs, summaries, false).await,
                Resolution::GiveUp {
                    records,
                    condition,
                    attempts,
                } => {
                    if condition == Condition::RecordAgeExceeded {
                        self.stats
                            .update(|t| t.mapping.records_expired += records.len() as u64);
                    }
                    self.give_up(&records, condition, attempts, stop, summaries)
                        .await;
                }
            }
        }
        let left = std::mem::take(&mut self.pending);
        if left != FunctionTotals::default() {
            self.stats.update(|t| t.function += left);
        }
    }

    /// Adds the function's summaries of the invocation that just ended (its log's new
    /// "batch processed" lines) to the batch's.
    fn take_summaries(&mut self) {
        let gained = self.log_tail.gained_file(&self.log);
        self.pending += crate::function_log::totals(&gained.lines);
    }

    /// Invokes the function; `Ok(None)` all done, `Ok(Some(i))` records from `i` failed.
    pub(super) async fn invoke_function(
        &mut self,
        recs: &[Rec],
    ) -> Result<Option<usize>, InvokeError> {
        let event = self.event(recs);
        let started = Instant::now();
        let age = recs
            .last()
            .map(|r| (now_ms() - r.arrival_ms).max(0))
            .unwrap_or(0);
        self.stats.update(|t| {
            t.mapping.iterator_age_ms = age as u64;
            t.mapping.invocations += 1;
        });
        let result = match self.env.invoke(&event).await {
            Ok(r) => r,
            Err(e) => Err(InvokeError::NotInvoked(e.to_string())),
        };
        if let Err(InvokeError::NotInvoked(_)) = &result {
            return result.map(|_| None);
        }
        self.take_summaries();
        let errored = result.is_err();
        if errored {
            self.stats.update(|t| t.mapping.function_errors += 1);
        }
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        for (name, value, unit) in [
            ("Invocations", 1.0, StandardUnit::Count),
            ("Errors", f64::from(u8::from(errored)), StandardUnit::Count),
            ("Throttles", 0.0, StandardUnit::Count),
            ("Duration", elapsed, StandardUnit::Milliseconds),
            ("IteratorAge", age as f64, StandardUnit::Milliseconds),
        ] {
            self.publish(name, value, unit);
        }
        let body = result?;
        if !self.spec.report_batch_item_failures {
            return Ok(None);
        }
        let seqs: Vec<&str> = recs.iter().map(|r| r.seq.as_str()).collect();
        match response::read(&body, &seqs) {
            BatchResponse::Done => Ok(None),
            BatchResponse::FailedFrom(i) => {
                self.stats.update(|t| t.mapping.partial_failures += 1);
                Ok(Some(i))
            }
            BatchResponse::Unparsable => {
                self.stats.update(|t| t.mapping.partial_failures += 1);
                let text = String::from_utf8_lossy(&body);
                tracing::warn!(response = %text, "unparsable batch response: the whole batch failed");
                Ok(Some(0))
            }
        }
    }

    /// One of Lambda's per-function metrics, to CloudWatch (in the background).
    fn publish(&self, name: &str, value: f64, unit: StandardUnit) {
        self.publish_by(
            ("FunctionName", &self.function_name),
            name,
            value,
            None,
            unit,
        );
    }

    /// One of Lambda's metrics under `AWS/Lambda` with one dimension (in the background),
    /// at a time in milliseconds (`None`: when CloudWatch receives it).
    fn publish_by(
        &self,
        dimension: (&str, &str),
        name: &str,
        value: f64,
        at_ms: Option<i64>,
        unit: StandardUnit,
    ) {
        let d = MetricDatum::builder()
            .metric_name(name)
            .value(value)
            .set_timestamp(at_ms.map(aws_sdk_cloudwatch::primitives::DateTime::from_millis))
            .unit(unit)
            .dimensions(
                Dimension::builder()
                    .name(dimension.0)
                    .value(dimension.1)
                    .build(),
            )
            .build();
        let _ = self.metrics.send(d);
    }

    /// One record of the invocation event, as Lambda writes it.
    fn record_json(&self, r: &Rec) -> serde_json::Value {
        let source = function::event::Source {
            region: &self.region,
            stream_arn: &self.stream_arn,
            role_arn: &self.role_arn,
        };
        let record = function::event::Record {
            shard: &self.shard,
            seq: &r.seq,
            partition_key: &r.partition_key,
            data: &r.data,
            arrival_ms: r.arrival_ms,
        };
        function::event::record_json(&source, &record)
    }

    /// Bytes `r` adds to an invocation event (its JSON and a separating comma).
    fn record_bytes(&self, r: &Rec) -> usize {
        self.record_json(r).to_string().len() + 1
    }

    pub(super) fn event(&self, recs: &[Rec]) -> Vec<u8> {
        let records: Vec<_> = recs.iter().map(|r| self.record_json(r)).collect();
        json!({ "Records": records }).to_string().into_bytes()
    }

    /// Marks `recs` done (given up on, when `given_up`), with the function's `summaries` of
    /// the invocations that finished them, in one change of the tally.
    async fn finish(&self, recs: &[Rec], summaries: FunctionTotals, given_up: bool) {
        let n = recs.len() as u64;
        self.stats.update(|t| {
            t.mapping.records_done += n;
            if given_up {
                t.mapping.batches_failed += 1;
                t.mapping.records_given_up += n;
            }
            t.function += summaries;
        });
        if recs.is_empty() {
            return;
        }
        let seqs: Vec<&str> = recs.iter().map(|r| r.seq.as_str()).collect();
        let moved = self.progress.lock().await.done(&seqs);
        if let Some(cp) = moved {
            self.checkpoints.set(&self.shard, &cp).await;
        }
    }

    /// Keeps the batch in the on-failure bucket (Lambda's invocation record) and moves on.
    /// The write is retried until it lands (capped backoff, a warning each time), so an
    /// outage of S3 holds the shard instead of losing the batch; a mapping stopped
    /// meanwhile leaves the records unfinished, so the checkpoint stays before them and a
    /// restarted mapping reads them again.
    async fn give_up(
        &self,
        recs: &[Rec],
        condition: Condition,
        attempts: u32,
        stop: &AtomicBool,
        summaries: FunctionTotals,
    ) {
        let (Some(first), Some(last)) = (recs.first(), recs.last()) else {
            self.stats.update(|t| t.function += summaries);
            return;
        };
        let iso = function::store::iso_millis;
        // The event JSON the function was invoked with, verbatim.
        let payload = String::from_utf8_lossy(&self.event(recs)).into_owned();
        let record = FailureRecord {
            request_context: RequestContext {
                request_id: format!("local-{}-{}", self.shard, first.seq),
                function_arn: self.function_arn.clone(),
                condition,
                approximate_invoke_count: attempts,
            },
            // Only an invocation has a response.
            response_context: (attempts > 0).then(|| ResponseContext {
                status_code: 200,
                executed_version: "$LATEST".into(),
                function_error: Some("Unhandled".into()),
            }),
            version: "1.0".into(),
            timestamp: iso(now_ms()),
            batch: BatchInfo {
                shard_id: self.shard.clone(),
                start_sequence_number: first.seq.clone(),
                end_sequence_number: last.seq.clone(),
                approximate_arrival_of_first_record: iso(first.arrival_ms),
                approximate_arrival_of_last_record: iso(last.arrival_ms),
                batch_size: recs.len(),
                stream_arn: self.stream_arn.clone(),
            },
            payload,
        };
        let mut tries = 0u32;
        loop {
            let at = now_ms();
            let kept = failure::put(
                &self.clients,
                &self.spec.failure_bucket,
                &self.spec.uuid,
                at,
                &record,
            )
            .await;
            match kept {
                Ok(_) => {
                    // The mapping's EventCount group (`metricsConfig`), per mapping UUID.
                    // Timestamped as the object's key is (redrive reads the key's time).
                    self.publish_by(
                        ("EventSourceMappingUUID", &self.spec.uuid),
                        "OnFailureDestinationDeliveredEventCount",
                        recs.len() as f64,
                        Some(at),
                        StandardUnit::Count,
                    );
                    break;
                }
                Err(e) => {
                    tries += 1;
                    self.stats.update(|t| t.mapping.failure_writes_failed += 1);
                    self.publish("DestinationDeliveryFailures", 1.0, StandardUnit::Count);
                    tracing::warn!(
                        error = %crate::error::text(&e),
                        shard = %self.shard,
                        tries,
                        "could not keep a failed batch in the on-failure bucket; retrying"
                    );
                }
            }
            if stop.load(Ordering::SeqCst) {
                self.stats.update(|t| t.function += summaries);
                return;
            }
            tokio::time::sleep(Duration::from_millis(
                250u64.saturating_mul(1 << tries.min(7)).min(30_000),
            ))
            .await;
        }
        self.finish(recs, summaries, true).await;
    }
}

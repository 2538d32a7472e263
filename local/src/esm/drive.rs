//! Lambda's retry rules for one batch, as a state machine over an [`Invoke`]r: no I/O of
//! its own (the clock is injected; sleeping between retries is the caller's choice).

use super::*;

/// How one batch ended for a group of its records.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Processed (the checkpoint may move past them).
    Done(Vec<Rec>),
    /// Given up on: their metadata goes to the failure queue.
    GiveUp {
        records: Vec<Rec>,
        condition: Condition,
        attempts: u32,
    },
}

/// The state machine's only ways out: running the function on a batch (`Ok(None)` all
/// done, `Ok(Some(i))` records from `i` on failed — a partial batch response — `Err` the
/// invocation failed) and waiting before a retry.
pub trait Invoke {
    /// Invokes the function once.
    fn invoke(
        &mut self,
        recs: &[Rec],
    ) -> impl std::future::Future<Output = Result<Option<usize>, InvokeError>> + Send;

    /// Waits `d` before the next attempt (the mapping sleeps; a test records it).
    fn wait(&mut self, d: Duration) -> impl std::future::Future<Output = ()> + Send;
}

/// The wait before retry `attempts` of a batch: 200 ms doubling, at most 2 s.
pub fn retry_delay(attempts: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempts.min(5)).min(2_000))
}

/// The wait before trying again to invoke a function that could not start.
pub const NOT_INVOKED_DELAY: Duration = Duration::from_secs(1);

/// Lambda's retry rules for one batch, until every record is done or given up on:
/// records past `maximumRecordAgeInSeconds` are not sent; a partial batch response splits
/// the batch at the reported record and retries the rest; a failed invocation is bisected
/// when `bisectBatchOnFunctionError` is on (halves do not use up a retry) and otherwise
/// retried; after `maximumRetryAttempts` retries the records are given up on. A batch the
/// function never received (its environment could not start) is retried until its records
/// expire, without using up retries.
pub async fn drive<I: Invoke + Send>(
    batch: Vec<Rec>,
    spec: &MappingSpec,
    now_ms: impl Fn() -> i64 + Send,
    invoker: &mut I,
) -> Vec<Resolution> {
    let max_age = spec.maximum_record_age_secs as i64 * 1000;
    let mut out = Vec::new();
    let mut work: Vec<(Vec<Rec>, u32)> = vec![(batch, 0)];
    while let Some((recs, attempts)) = work.pop() {
        let now = now_ms();
        let (expired, live): (Vec<Rec>, Vec<Rec>) =
            recs.into_iter().partition(|r| now - r.arrival_ms > max_age);
        if !expired.is_empty() {
            out.push(Resolution::GiveUp {
                records: expired,
                condition: Condition::RecordAgeExceeded,
                attempts,
            });
        }
        if live.is_empty() {
            continue;
        }
        if attempts > 0 {
            invoker.wait(retry_delay(attempts)).await;
        }
        let (failed_from, function_error) = match invoker.invoke(&live).await {
            Ok(None) => {
                out.push(Resolution::Done(live));
                continue;
            }
            Ok(Some(index)) => (index.min(live.len()), false),
            Err(InvokeError::NotInvoked(e)) => {
                tracing::warn!(error = %e, "function not invoked; retrying until the records expire");
                invoker.wait(NOT_INVOKED_DELAY).await;
                work.push((live, attempts));
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %function::error::chain(&e), "function error");
                (0, true)
            }
        };
        let mut live = live;
        let rest = live.split_off(failed_from);
        if !live.is_empty() {
            out.push(Resolution::Done(live));
        }
        if rest.is_empty() {
            continue;
        }
        if function_error && spec.bisect_on_error && rest.len() > 1 {
            // "Splitting a batch does not count towards the retry quota."
            let mut first = rest;
            let second = first.split_off(first.len() / 2);
            work.push((second, attempts));
            work.push((first, attempts));
        } else if attempts >= spec.maximum_retry_attempts {
            out.push(Resolution::GiveUp {
                records: rest,
                condition: Condition::RetryAttemptsExhausted,
                attempts: attempts + 1,
            });
        } else {
            work.push((rest, attempts + 1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(retries: u32, bisect: bool) -> MappingSpec {
        MappingSpec {
            stream_arn: "arn".into(),
            stream_name: "s".into(),
            batch_size: 100,
            batching_window_secs: 0,
            parallelization_factor: 1,
            maximum_retry_attempts: retries,
            maximum_record_age_secs: 3600,
            bisect_on_error: bisect,
            report_batch_item_failures: true,
            trim_horizon: true,
            failure_bucket: "failed".into(),
            uuid: "local-test".into(),
        }
    }

    fn recs(n: usize) -> Vec<Rec> {
        (0..n)
            .map(|i| Rec {
                seq: format!("{}", 1000 + i),
                partition_key: "k".into(),
                data: vec![],
                arrival_ms: 1_000_000,
            })
            .collect()
    }

    /// A function that fails on `poison`: with an error, or with a partial response at it;
    /// `heal_after` invocations later it succeeds.
    struct Fake {
        poison: Option<String>,
        partial: bool,
        heal_after: Option<usize>,
        calls: Vec<Vec<String>>,
        waits: Vec<Duration>,
    }

    impl Invoke for Fake {
        fn invoke(
            &mut self,
            recs: &[Rec],
        ) -> impl std::future::Future<Output = Result<Option<usize>, InvokeError>> + Send {
            self.calls
                .push(recs.iter().map(|r| r.seq.clone()).collect());
            let healed = self.heal_after.is_some_and(|n| self.calls.len() > n);
            let hit = self
                .poison
                .as_ref()
                .and_then(|p| recs.iter().position(|r| &r.seq == p))
                .filter(|_| !healed);
            let r = match (hit, self.partial) {
                (None, _) => Ok(None),
                (Some(i), true) => Ok(Some(i)),
                (Some(_), false) => Err(InvokeError::Function {
                    error_type: "Retryable".into(),
                    message: "boom".into(),
                }),
            };
            std::future::ready(r)
        }

        fn wait(&mut self, d: Duration) -> impl std::future::Future<Output = ()> + Send {
            self.waits.push(d);
            std::future::ready(())
        }
    }

    fn run(batch: Vec<Rec>, spec: &MappingSpec, fake: &mut Fake) -> Vec<Resolution> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(drive(batch, spec, || 1_000_500, fake))
    }

    fn fake(poison: Option<&str>, partial: bool, heal_after: Option<usize>) -> Fake {
        Fake {
            poison: poison.map(str::to_owned),
            partial,
            heal_after,
            calls: Vec::new(),
            waits: Vec::new(),
        }
    }

    fn seqs(r: &[Rec]) -> Vec<&str> {
        r.iter().map(|r| r.seq.as_str()).collect()
    }

    #[test]
    fn a_function_error_is_bisected_down_to_the_poison_record() {
        let mut f = fake(Some("1005"), false, None);
        let out = run(recs(8), &spec(3, true), &mut f);
        let given_up: Vec<_> = out
            .iter()
            .filter_map(|r| match r {
                Resolution::GiveUp {
                    records,
                    condition,
                    attempts,
                } => Some((seqs(records), *condition, *attempts)),
                Resolution::Done(_) => None,
            })
            .collect();
        assert_eq!(
            given_up,
            [(vec!["1005"], Condition::RetryAttemptsExhausted, 4)]
        );
        let done: usize = out
            .iter()
            .map(|r| match r {
                Resolution::Done(d) => d.len(),
                Resolution::GiveUp { .. } => 0,
            })
            .sum();
        assert_eq!(done, 7);
        // 8 → 4+4 → 2+2 → 1+1: the halves holding the poison record were retried.
        assert_eq!(f.calls[1], ["1000", "1001", "1002", "1003"]);
        assert_eq!(f.calls[2], ["1004", "1005", "1006", "1007"]);
    }

    #[test]
    fn bisected_halves_do_not_use_up_retries() {
        // No retries at all: bisection still isolates the poison record.
        let mut f = fake(Some("1005"), false, None);
        let out = run(recs(8), &spec(0, true), &mut f);
        let given_up: Vec<_> = out
            .iter()
            .filter_map(|r| match r {
                Resolution::GiveUp { records, .. } => Some(seqs(records)),
                Resolution::Done(_) => None,
            })
            .collect();
        assert_eq!(given_up, [vec!["1005"]]);
    }

    /// Fails with `NotInvoked` the first `n` times, then succeeds; the clock advances a
    /// minute per call.
    struct NotStarting {
        n: usize,
        calls: usize,
        waits: Vec<Duration>,
        clock: std::sync::Arc<std::sync::atomic::AtomicI64>,
    }

    impl Invoke for NotStarting {
        fn invoke(
            &mut self,
            _recs: &[Rec],
        ) -> impl std::future::Future<Output = Result<Option<usize>, InvokeError>> + Send {
            self.calls += 1;
            self.clock.fetch_add(60_000, Ordering::SeqCst);
            let r = if self.calls <= self.n {
                Err(InvokeError::NotInvoked("runtime did not start".into()))
            } else {
                Ok(None)
            };
            std::future::ready(r)
        }

        fn wait(&mut self, d: Duration) -> impl std::future::Future<Output = ()> + Send {
            self.waits.push(d);
            std::future::ready(())
        }
    }

    fn run_not_starting(n: usize) -> (Vec<Resolution>, usize) {
        let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1_000_500));
        let mut f = NotStarting {
            n,
            calls: 0,
            waits: Vec::new(),
            clock: clock.clone(),
        };
        let now = move || clock.load(Ordering::SeqCst);
        let out = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(drive(recs(3), &spec(2, true), now, &mut f));
        assert!(
            f.waits.iter().all(|w| *w == NOT_INVOKED_DELAY),
            "{:?}",
            f.waits
        );
        (out, f.calls)
    }

    #[test]
    fn a_function_that_never_ran_is_retried_until_the_records_expire() {
        // Ten failed starts are more than the 2 retries, yet the batch is done once the
        // environment starts (not-invoked attempts do not use up retries).
        let (out, calls) = run_not_starting(10);
        assert_eq!(calls, 11);
        assert!(matches!(&out[..], [Resolution::Done(d)] if d.len() == 3));
        // Never starting: given up only when the records pass their maximum age (1 h).
        let (out, calls) = run_not_starting(usize::MAX);
        assert_eq!(calls, 60);
        assert!(matches!(
            &out[..],
            [Resolution::GiveUp { condition: Condition::RecordAgeExceeded, records, attempts: 0 }] if records.len() == 3
        ));
    }

    #[test]
    fn without_bisect_the_whole_batch_is_given_up() {
        let mut f = fake(Some("1005"), false, None);
        let out = run(recs(8), &spec(2, false), &mut f);
        assert_eq!(f.calls.len(), 3, "first try plus two retries");
        // The state machine asks to wait before each retry, longer each time.
        assert_eq!(f.waits, [retry_delay(1), retry_delay(2)]);
        assert!(matches!(&out[..], [Resolution::GiveUp { records, .. }] if records.len() == 8));
    }

    #[test]
    fn a_partial_response_checkpoints_before_the_reported_record() {
        let mut f = fake(Some("1003"), true, Some(2));
        let out = run(recs(6), &spec(3, true), &mut f);
        assert_eq!(f.calls[0].len(), 6);
        // Split at the reported record, only the rest retried, not bisected.
        assert_eq!(f.calls[1], ["1003", "1004", "1005"]);
        assert!(matches!(&out[0], Resolution::Done(d) if seqs(d) == ["1000", "1001", "1002"]));
        assert!(out.iter().all(|r| matches!(r, Resolution::Done(_))));
    }

    #[test]
    fn old_records_are_not_sent() {
        let mut f = fake(None, false, None);
        let mut batch = recs(3);
        batch[0].arrival_ms = 1_000_500 - 3_600_001;
        let out = run(batch, &spec(3, true), &mut f);
        assert_eq!(f.calls, [["1001", "1002"]]);
        assert!(
            matches!(&out[0], Resolution::GiveUp { condition: Condition::RecordAgeExceeded, records, .. } if records.len() == 1)
        );
    }

    proptest! {
        #[test]
        fn every_record_is_resolved_exactly_once(
            n in 1usize..40,
            poison in proptest::option::of(0usize..40),
            partial in any::<bool>(),
            heal in proptest::option::of(0usize..6),
            retries in 0u32..5,
            bisect in any::<bool>(),
        ) {
            let batch = recs(n);
            let poison_seq = poison.filter(|p| *p < n).map(|p| format!("{}", 1000 + p));
            let mut f = fake(poison_seq.as_deref(), partial, heal);
            let out = run(batch.clone(), &spec(retries, bisect), &mut f);
            let mut seen: Vec<String> = out
                .iter()
                .flat_map(|r| match r {
                    Resolution::Done(d) => d.clone(),
                    Resolution::GiveUp { records, .. } => records.clone(),
                })
                .map(|r| r.seq)
                .collect();
            seen.sort();
            let mut want: Vec<String> = batch.iter().map(|r| r.seq.clone()).collect();
            want.sort();
            prop_assert_eq!(seen, want);
            // Attempts are bounded by the retry limit (bisection adds no attempts beyond it).
            for r in &out {
                if let Resolution::GiveUp { attempts, .. } = r {
                    prop_assert!(*attempts <= retries + 1);
                }
            }
        }
    }
}

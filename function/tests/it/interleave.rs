//! Two writers whose page writes interleave at every point: writer A is paused before its
//! n-th page write while writer B processes a whole batch that overlaps A's (a redelivery
//! to another warm container, a neighbouring slice, or a batch whose entity is failing and
//! is given up), then A goes on with its stale view. The invariants hold after both, and
//! after the shard is drained and what was given up is redriven, the table equals
//! delivering every record once.
//!
//! Histories are the ones Lambda can make: a prefix of the shard was delivered, and each
//! writer's batch is a contiguous slice starting inside that prefix or right after it (a
//! redelivery, or a replaced mapping replaying while the old one still runs). A partition
//! key's records are never delivered out of order, except by a give-up and its redrive.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use function::archive::MemoryArchive;
use function::handler::{Backoff, Processor};
use function::store::{MemoryTable, MetricsStore, Outcome, Page, Totals, Write};
use proptest::prelude::*;

use crate::arb::arb_shard;
use crate::idempotency::{containers, redrive, shard_records};
use crate::invariants::{check_invariants, sent};
use crate::support::{In, block_on, config, event, totals};

/// What runs between two of writer A's page writes.
type Between = Box<dyn FnOnce() + Send>;

/// The table as writer A sees it: before its `at`-th put, `between` runs (writer B).
struct Interleaving {
    table: Arc<MemoryTable>,
    puts: AtomicUsize,
    at: usize,
    between: Arc<Mutex<Option<Between>>>,
}

impl MetricsStore for Interleaving {
    fn put(&self, w: &Write) -> impl Future<Output = Result<Outcome, function::Error>> + Send {
        if self.puts.fetch_add(1, Ordering::SeqCst) == self.at
            && let Some(b) = self.between.lock().ok().and_then(|mut g| g.take())
        {
            b();
        }
        self.table.put(w)
    }

    fn load(
        &self,
        entity: &str,
        window: &str,
    ) -> impl Future<Output = Result<Vec<Page>, function::Error>> + Send {
        self.table.load(entity, window)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn page_writes_of_two_writers_interleave_at_any_point_and_stay_exact(
        s0 in arb_shard(),
        delivered in 0usize..14,
        a in (0usize..14, 1usize..14),
        b in (0usize..14, 1usize..14),
        at in prop_oneof![4 => 0usize..3, 1 => 3usize..12],
        b_entity_fails in any::<bool>(),
        b_warm in any::<bool>(),
        marks_budget in prop_oneof![Just(40usize), Just(8 * 1024)],
    ) {
        let recs = shard_records(0, &s0);
        let delivered = delivered.min(recs.len());
        // A slice starting inside the delivered prefix or right after it.
        let slice = |(from, len): (usize, usize)| {
            let from = from.min(delivered).min(recs.len() - 1);
            recs[from..(from + len).min(recs.len())].to_vec()
        };
        let (batch_a, batch_b) = (slice(a), slice(b));
        let sent = sent(0, &s0);

        let (archive, table) = (Arc::new(MemoryArchive::default()), Arc::new(MemoryTable::default()));
        // The prefix, delivered by writer B (whose cache is then stale for what A writes) or
        // by another container (B starts cold).
        let mut procs = containers(2, &archive, &table, marks_budget);
        let b_proc = procs.remove(0);
        let prefix = &recs[..delivered];
        if !prefix.is_empty() {
            let by = if b_warm { &b_proc } else { &procs[0] };
            let (resp, _) = block_on(by.process(&event(prefix))).expect("processed");
            prop_assert!(resp.batch_item_failures.is_empty());
        }
        let given_up: Arc<Mutex<Vec<In>>> = Arc::default();
        let between: Between = {
            let (table, given_up, batch_b) = (table.clone(), given_up.clone(), batch_b.clone());
            Box::new(move || {
                if b_entity_fails && let Ok(mut e) = table.failing_entity.lock() {
                    *e = Some("sensor-0".into());
                }
                let (resp, _) = futures::executor::block_on(b_proc.process(&event(&batch_b)))
                    .expect("processed");
                if let Ok(mut e) = table.failing_entity.lock() {
                    *e = None;
                }
                // Lambda gives up on what B could not do (from its first failure on).
                if let Some(f) = resp.batch_item_failures.first().and_then(|f| f.item_identifier.clone()) {
                    let from = batch_b.iter().position(|r| r.seq == f).unwrap_or(0);
                    if let Ok(mut g) = given_up.lock() {
                        g.extend_from_slice(&batch_b[from..]);
                    }
                }
            })
        };
        let between = Arc::new(Mutex::new(Some(between)));
        let mut cfg = config();
        cfg.marks_budget = marks_budget;
        let mut writer_a = Processor::new(
            cfg,
            archive.clone(),
            Interleaving { table: table.clone(), puts: AtomicUsize::new(0), at, between: between.clone() },
        );
        writer_a.backoff = Backoff::NONE;
        let (resp, _) = block_on(writer_a.process(&event(&batch_a))).expect("processed");
        prop_assert!(resp.batch_item_failures.is_empty(), "A's table never fails");
        // A made fewer page writes than `at`: B runs after it instead.
        let interleaved = match between.lock().ok().and_then(|mut g| g.take()) {
            Some(b) => {
                b();
                false
            }
            None => true,
        };
        if std::env::var_os("INTERLEAVE_STATS").is_some() {
            eprintln!("interleaved={interleaved}");
        }

        let mut pending = given_up.lock().map(|g| g.clone()).unwrap_or_default();
        if let Err(e) = check_invariants(&table.pages().expect("pages"), &sent, &pending) {
            prop_assert!(false, "after both writers: {}", e);
        }

        // Drain the shard (one lane: the whole shard in order), then redrive.
        let drain = containers(2, &archive, &table, marks_budget);
        let (resp, _) = block_on(drain[0].process(&event(&recs))).expect("processed");
        prop_assert!(resp.batch_item_failures.is_empty());
        redrive(&drain[1], &archive, &table, &mut pending)?;
        if let Err(e) = check_invariants(&table.pages().expect("pages"), &sent, &pending) {
            prop_assert!(false, "after the drain and redrive: {}", e);
        }

        // The table equals delivering every record once.
        let (ref_archive, ref_table) = (Arc::new(MemoryArchive::default()), Arc::new(MemoryTable::default()));
        let reference = containers(1, &ref_archive, &ref_table, 8 * 1024);
        block_on(reference[0].process(&event(&recs))).expect("processed");
        let (got, want) = (totals(&table), totals(&ref_table));
        prop_assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
        for (k, item) in &want {
            let got = Totals { pages: item.pages, ..got[k].clone() };
            prop_assert_eq!(&got, item, "item {:?}", k);
        }
    }
}

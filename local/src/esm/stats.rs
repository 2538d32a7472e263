//! The running mapping's counters and the function's outcomes of the invocations it
//! completed, changed together under one lock, so a snapshot is one moment: "done" and its
//! split (counted, quarantined, duplicates, given up) never come from reads that race.

use std::sync::{Mutex, PoisonError};

use crate::function_log::FunctionTotals;

/// The mapping's counters (`status` shows them; `up` saves them for the other commands).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub records_read: u64,
    /// Records finished: through the function, or given up on (kept for `redrive`).
    pub records_done: u64,
    pub invocations: u64,
    pub function_errors: u64,
    pub partial_failures: u64,
    pub batches_failed: u64,
    /// Records of the batches given up on (part of `records_done`).
    #[serde(default)]
    pub records_given_up: u64,
    pub records_expired: u64,
    pub iterator_age_ms: u64,
    /// Failed writes of given-up batches to the on-failure bucket (each retried).
    #[serde(default)]
    pub failure_writes_failed: u64,
}

/// One moment of the running mapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub mapping: Counters,
    /// The function's own summaries ("batch processed") of the invocations whose records
    /// are in `mapping.records_done`, added when those records were finished.
    pub function: FunctionTotals,
}

/// The shared, locked [`Tally`] of a running mapping.
#[derive(Debug, Default)]
pub struct Stats {
    tally: Mutex<Tally>,
}

impl Stats {
    /// Changes the tally (one lock for everything `f` changes).
    pub fn update(&self, f: impl FnOnce(&mut Tally)) {
        f(&mut self.tally.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// The tally now.
    pub fn snapshot(&self) -> Tally {
        *self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

//! Metrics items: the page layout, exactly-once plans and DynamoDB's limits (pure), plus
//! the store trait and an in-memory table as strict as DynamoDB.
//!
//! One (entity, window) aggregate is one or more pages (see [`plan`] and docs/DESIGN.md):
//! each page is a whole item written with a `PutItem` conditioned on its version, so a
//! write's expression has the same few bytes for any number of metrics or marks, and a
//! page stays under 400 KB by construction ([`page`]'s caps and marks budget).

pub mod codec;
pub mod item;
pub mod memory;
pub mod page;
pub mod plan;
pub mod totals;

use std::future::Future;

pub use codec::Malformed;
pub use item::{Av, Item};
pub use memory::MemoryTable;
pub use page::{Dec, Page, Stat, attr, iso_millis, last_sort_key, sort_key, window_label};
pub use plan::{Marked, PageSettings, Plan, View, Write, plan};
pub use totals::{Totals, totals};

use crate::Error;

/// The result of a conditional page write.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Written.
    Applied,
    /// The version was not the expected one; the page as it is now (`None`: absent).
    Conflict(Option<Box<Page>>),
}

/// The condition expression of a write (`#v`/`:v` and `#pk` are its only placeholders).
pub fn condition(w: &Write) -> &'static str {
    match w.expected {
        Some(_) => "#v = :v",
        None => "attribute_not_exists(#pk)",
    }
}

/// Margin kept before a page's earliest possible expiry, for clocks that disagree.
pub const EXPIRY_MARGIN_MS: i64 = 3_600_000;

/// The last moment (epoch ms) a record that arrived at `arrival_ms` can still be counted
/// exactly: every page of its aggregate lives at least `ttl_days` past the window's end,
/// and the window ends after the record's event time, which is at most `max_past_ms`
/// before its arrival (older times fall back to the arrival). Later, a page of the
/// aggregate may have expired while another remains, and a writer that finds page 0
/// absent would give a domain a second mark: what is counted then may be counted twice.
/// The stream cannot deliver that late (`gen` keeps `metricsTtlDays` past the retention
/// and `max_past_ms`); a redrive of a batch kept for that long can, and refuses it.
pub fn count_deadline_ms(arrival_ms: i64, max_past_ms: i64, ttl_days: u32) -> i64 {
    arrival_ms - max_past_ms + i64::from(ttl_days) * 86_400_000 - EXPIRY_MARGIN_MS
}

/// The metrics table, as the function uses it.
pub trait MetricsStore: Sync {
    /// Replaces one page if its version is still the expected one.
    fn put(&self, w: &Write) -> impl Future<Output = Result<Outcome, Error>> + Send;

    /// Every page of one (entity, window), in page order (strongly consistent).
    fn load(
        &self,
        entity: &str,
        window: &str,
    ) -> impl Future<Output = Result<Vec<Page>, Error>> + Send;
}

impl<T: MetricsStore + Send + Sync> MetricsStore for std::sync::Arc<T> {
    fn put(&self, w: &Write) -> impl Future<Output = Result<Outcome, Error>> + Send {
        (**self).put(w)
    }

    fn load(
        &self,
        entity: &str,
        window: &str,
    ) -> impl Future<Output = Result<Vec<Page>, Error>> + Send {
        (**self).load(entity, window)
    }
}

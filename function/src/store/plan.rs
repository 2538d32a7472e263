//! Exactly-once page writes for one (entity, window): which records are new, which page
//! counts each of them, and the conditional writes that do it (pure).
//!
//! A record's ordering domain is its (shard, Kinesis partition key): Lambda delivers a
//! domain's records in order, also with a parallelization factor. Each domain has its mark
//! in exactly one page of the item; that page counts the domain's records, so a record's
//! contribution and its mark change in the same conditional write. A domain without a mark
//! gets one in the tail page (the first page not `full`); a tail whose marks reach
//! the marks budget ([`MARKS_BUDGET_BYTES`]) is set `full` and the next page becomes the tail.

use std::collections::{BTreeMap, HashMap};

#[cfg(doc)]
use super::page::MARKS_BUDGET_BYTES;
use super::page::{Page, mark_bytes, window_label};
use crate::extract::Observation;
use crate::position::Position;
use crate::window::WindowKey;

/// One observation with its place in the shard.
#[derive(Debug, Clone, PartialEq)]
pub struct Marked<'a> {
    pub shard: &'a str,
    /// The Kinesis record's partition key (the lane-ordering key, not the user record's).
    pub key: &'a str,
    pub pos: Position,
    /// Arrival time (ms): the page records the archive hours its records are under.
    pub arrival_ms: i64,
    pub obs: Observation<'a>,
}

/// What a writer knows of an item: `pages[i]` is page `i` as last seen; pages past the
/// end are believed absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    pub pages: Vec<Page>,
}

impl View {
    /// The view of every page read back (in page order): the contiguous run from page 0;
    /// a page after a gap (its predecessor expired) is not relied on.
    pub fn loaded(pages: Vec<Page>) -> View {
        let pages = pages
            .into_iter()
            .enumerate()
            .take_while(|(i, p)| p.index as usize == *i)
            .map(|(_, p)| p)
            .collect();
        View { pages }
    }

    /// Records what a write or a failed condition showed of page `index` (`None`: absent).
    pub fn learn(&mut self, index: u32, page: Option<Page>) {
        let i = index as usize;
        match page {
            Some(p) if i < self.pages.len() => self.pages[i] = p,
            Some(p) if i == self.pages.len() => self.pages.push(p),
            // A page beyond what we know: what lies between is unknown, so forget the tail.
            Some(_) => {}
            None => self.pages.truncate(i),
        }
    }
}

/// Settings every page write carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSettings {
    pub window_secs: u32,
    pub ttl_days: u32,
    /// A page takes new marks while they use fewer bytes than this
    /// ([`MARKS_BUDGET_BYTES`] in production; smaller in tests to exercise spills).
    pub marks_budget: usize,
    /// Quantile sketches' relative accuracy (`None`: no sketches).
    pub quantiles: Option<crate::sketch::Accuracy>,
}

/// One conditional write: `page` replaces the item if its version is still `expected`
/// (`None`: if the item does not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub expected: Option<u64>,
    pub page: Page,
    /// Indices (into the planned records) this write counts.
    pub records: Vec<usize>,
}

/// The writes for an item, in page order, plus the records already counted. They must be
/// sent in that order, each only after the previous one was applied.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub writes: Vec<Write>,
    /// Indices of records the item's marks show counted.
    pub duplicates: Vec<usize>,
}

/// Plans the writes that count `records` (all of one item) on top of `view`.
pub fn plan(key: &WindowKey, view: &View, records: &[&Marked<'_>], s: PageSettings) -> Plan {
    let label = window_label(key.window_start_ms);
    let mut out = Plan::default();
    // page index → (working copy, expected version, records)
    let mut touched: BTreeMap<u32, (Page, Option<u64>, Vec<usize>)> = BTreeMap::new();
    let touch = |i: u32, touched: &mut BTreeMap<u32, (Page, Option<u64>, Vec<usize>)>| {
        touched
            .entry(i)
            .or_insert_with(|| match view.pages.get(i as usize) {
                Some(p) => (p.clone(), Some(p.version), Vec::new()),
                None => (Page::new(&key.entity, &label, i), None, Vec::new()),
            });
    };
    // Domains without a mark, in first-seen order, with their records (indexed: a batch
    // can bring thousands of new keys to one item).
    let mut fresh: Vec<((&str, &str), Vec<usize>)> = Vec::new();
    let mut fresh_at: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, m) in records.iter().enumerate() {
        let home = view
            .pages
            .iter()
            .find_map(|p| p.mark(m.shard, m.key).map(|mark| (p.index, mark)));
        match home {
            Some((_, mark)) if &m.pos <= mark => out.duplicates.push(i),
            Some((page, _)) => {
                touch(page, &mut touched);
                if let Some(t) = touched.get_mut(&page) {
                    t.2.push(i);
                }
            }
            None => match fresh_at.get(&(m.shard, m.key)) {
                Some(&at) => fresh[at].1.push(i),
                None => {
                    fresh_at.insert((m.shard, m.key), fresh.len());
                    fresh.push(((m.shard, m.key), vec![i]));
                }
            },
        }
    }
    // The tail: the first page not known to be full (or the first unknown page).
    let mut tail = view
        .pages
        .iter()
        .position(|p| !p.full)
        .unwrap_or(view.pages.len()) as u32;
    let mut tail_bytes = None;
    for ((shard, k), recs) in fresh {
        loop {
            touch(tail, &mut touched);
            let Some(t) = touched.get_mut(&tail) else {
                break;
            };
            let bytes = *tail_bytes.get_or_insert_with(|| t.0.marks_bytes());
            if bytes < s.marks_budget {
                break;
            }
            t.0.full = true;
            tail += 1;
            tail_bytes = None;
            // Pages the view already knows past this one may be full as well.
            while view.pages.get(tail as usize).is_some_and(|p| p.full) {
                tail += 1;
            }
        }
        if let Some(t) = touched.get_mut(&tail) {
            // Reserve the mark now (its final position is set below).
            let first = &records[recs[0]].pos;
            let entry = t.0.marks.entry(shard.to_owned()).or_default();
            let new_shard = entry.is_empty();
            entry.insert(k.to_owned(), first.clone());
            let added = mark_bytes(k) + if new_shard { 4 + shard.len() } else { 0 };
            tail_bytes = tail_bytes.map(|b| b + added);
            t.2.extend(recs);
        }
    }
    let window_end = key.window_start_ms.div_euclid(1000) + i64::from(s.window_secs);
    for (_, (mut page, expected, recs)) in touched {
        if recs.is_empty() && !page.full {
            continue;
        }
        // The page lives `ttl_days` past the later of its window's end and the latest
        // arrival of a record it counts, and never less than it already did: a late record
        // (an old event time) must not get a page that expires while the stream can still
        // deliver the record again.
        let mut base = window_end;
        for &i in &recs {
            let m = records[i];
            page.add(&m.obs, s.quantiles);
            page.arrived(m.arrival_ms);
            page.advance_mark(m.shard, m.key, &m.pos);
            base = base.max(m.arrival_ms.div_euclid(1000));
        }
        page.version = expected.map_or(1, |v| v + 1);
        page.window_seconds = s.window_secs;
        page.ttl = page.ttl.max(base + i64::from(s.ttl_days) * 86_400);
        out.writes.push(Write {
            expected,
            page,
            records: recs,
        });
    }
    out
}

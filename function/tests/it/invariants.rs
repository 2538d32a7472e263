//! The exactly-once invariants as code, checked over a table's pages after every step of
//! the property tests, against what was sent (an oracle that knows nothing of the planner,
//! only the generated records and the documented item layout):
//!
//! 1. **One mark per domain**: a (shard, Kinesis partition key) domain's mark is in at most
//!    one page of an aggregate.
//! 2. **Tail rule**: page k + 1 exists only when page k exists and is full.
//! 3. **Counts are what the marks cover**: a page counts exactly the records its marks
//!    cover (every record of the page's aggregate from a marked domain, at or before the
//!    mark) and sums their readings. A record given up and not yet redriven may be covered
//!    without being counted (a newer record of its domain moved the mark; recovery counts
//!    it), never the other way round, so a page never counts more than its marks cover.

use std::collections::{BTreeMap, BTreeSet};

use function::store::{Dec, Page};

use crate::arb::GenRecord;
use crate::support::{In, SHARDS, T0_MS, seq};

/// One user record as sent: its aggregate, domain, position and reading.
#[derive(Debug, Clone)]
pub struct Sent {
    pub entity: String,
    pub window: String,
    pub shard: &'static str,
    pub key: String,
    /// 56 digits, zero-padded: compares as text.
    pub seq: String,
    pub sub: u32,
    pub reading: i64,
}

/// The user records of one generated shard, laid out as `idempotency::shard_records`
/// sends them: plain JSON (one user record, sub 0), KPL (sub-record j), or garbage (none).
pub fn sent(shard: usize, recs: &[GenRecord]) -> Vec<Sent> {
    let mut out = Vec::new();
    for (i, (pk, users, kind)) in recs.iter().enumerate() {
        let users: &[_] = match kind {
            0..=5 => &users[..1],
            6..=8 => users,
            _ => &[],
        };
        for (j, (entity, dt, v)) in users.iter().enumerate() {
            let secs = T0_MS / 1000 + dt;
            let window = chrono::DateTime::from_timestamp(secs - secs.rem_euclid(60), 0)
                .expect("in range")
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            out.push(Sent {
                entity: format!("sensor-{entity}"),
                window,
                shard: SHARDS[shard],
                key: format!("pk-{pk}"),
                seq: seq(i as u64 * 3 + 1),
                sub: j as u32,
                reading: *v,
            });
        }
    }
    out
}

/// Checks the three invariants; `pending` are records given up and not yet redriven.
pub fn check_invariants(pages: &[Page], sent: &[Sent], pending: &[In]) -> Result<(), String> {
    let pending: BTreeSet<(&str, &str)> =
        pending.iter().map(|r| (r.shard, r.seq.as_str())).collect();
    let mut items: BTreeMap<(&str, &str), Vec<&Page>> = BTreeMap::new();
    for p in pages {
        items.entry((&p.entity, &p.window)).or_default().push(p);
    }
    for ((entity, window), mut pages) in items {
        let item = format!("{entity} {window}");
        pages.sort_by_key(|p| p.index);
        // 2. Tail rule.
        for (k, p) in pages.iter().enumerate() {
            if p.index as usize != k {
                return Err(format!("{item}: page {} exists without page {k}", p.index));
            }
            if k + 1 < pages.len() && !p.full {
                return Err(format!(
                    "{item}: page {k} is not full but page {} exists",
                    k + 1
                ));
            }
        }
        // Sketches count exactly the values their metric counts (none added twice, none
        // left out), and stay inside the page's bucket budget.
        for p in &pages {
            let cap = function::store::page::sketch_cap(p.metrics.len());
            for (name, s) in &p.metrics {
                if let Some(sk) = &s.sketch
                    && (sk.count() != s.count || sk.buckets() > cap)
                {
                    return Err(format!(
                        "{item}: page {} metric {name}: sketch of {} values in {} buckets, \
                         count {} and cap {cap}",
                        p.index,
                        sk.count(),
                        sk.buckets(),
                        s.count
                    ));
                }
            }
        }
        // 1. One mark per domain.
        let mut seen: BTreeMap<(&str, &str), u32> = BTreeMap::new();
        for p in &pages {
            for (shard, keys) in &p.marks {
                for key in keys.keys() {
                    if let Some(other) = seen.insert((shard, key), p.index) {
                        return Err(format!(
                            "{item}: domain {shard}/{key} is marked in pages {other} and {}",
                            p.index
                        ));
                    }
                }
            }
        }
        // 3. Counts are what the marks cover.
        for p in &pages {
            let covered: Vec<&Sent> = sent
                .iter()
                .filter(|s| s.entity == entity && s.window == window)
                .filter(|s| {
                    p.marks
                        .get(s.shard)
                        .and_then(|keys| keys.get(&s.key))
                        .is_some_and(|m| (s.seq.as_str(), s.sub) <= (m.seq.as_str(), m.sub))
                })
                .collect();
            let certain = covered
                .iter()
                .filter(|s| !pending.contains(&(s.shard, s.seq.as_str())))
                .count() as u64;
            let most = covered.len() as u64;
            if p.count > most || p.count < certain {
                return Err(format!(
                    "{item} page {}: counts {} where its marks cover {most} records ({certain} \
                     not given up)",
                    p.index, p.count
                ));
            }
            if pending.is_empty() {
                let sum: i64 = covered.iter().map(|s| s.reading).sum();
                let want = Dec::parse(&sum.to_string()).expect("a number");
                let got = p.metrics.get("reading").map(|m| (m.count, m.sum));
                let want = (most > 0).then_some((most, want));
                if got != want {
                    return Err(format!(
                        "{item} page {}: readings {got:?}, its marks cover {want:?}",
                        p.index
                    ));
                }
            }
        }
    }
    Ok(())
}

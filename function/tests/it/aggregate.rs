//! Aggregation properties of the production path, `Page::add` and `Totals::merge`: order
//! independence, any split over pages merges to the whole, every observation counted once,
//! all against an oracle computed from the observations alone.

use std::collections::BTreeMap;

use function::extract::Observation;
use function::store::{Dec, Page, Totals};
use function::window::{key_of, window_start};
use proptest::prelude::*;

use crate::arb::arb_obs;

/// What one aggregate must hold, computed without `Page` or `Dec` arithmetic.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    count: u64,
    log_lines: u64,
    first_ms: i64,
    last_ms: i64,
    /// name → (count, sum in nanounits, min, max in nanounits)
    metrics: BTreeMap<String, (u64, i128, i128, i128)>,
    events: BTreeMap<String, u64>,
}

/// The oracle: a plain fold over the observations of each (entity, window).
fn oracle(obs: &[Observation<'_>], window: u32) -> BTreeMap<(String, i64), Expected> {
    let mut out: BTreeMap<(String, i64), Expected> = BTreeMap::new();
    for o in obs {
        let key = (
            o.entity.to_string(),
            o.event_time_ms.div_euclid(i64::from(window) * 1000) * i64::from(window) * 1000,
        );
        let e = out.entry(key).or_default();
        if e.count == 0 {
            (e.first_ms, e.last_ms) = (o.event_time_ms, o.event_time_ms);
        }
        e.count += 1;
        e.log_lines += u64::from(o.log_line);
        e.first_ms = e.first_ms.min(o.event_time_ms);
        e.last_ms = e.last_ms.max(o.event_time_ms);
        for (name, v) in &o.metrics {
            // Quarter steps (arb_obs): exactly v · 4 quarters of 250,000,000 nanounits.
            let units = (v * 4.0) as i128 * 250_000_000;
            let m = e
                .metrics
                .entry(name.to_string())
                .or_insert((0, 0, units, units));
            m.0 += 1;
            m.1 += units;
            m.2 = m.2.min(units);
            m.3 = m.3.max(units);
        }
        for ev in &o.events {
            *e.events.entry(ev.to_string()).or_default() += 1;
        }
    }
    out
}

/// The totals as the oracle's shape.
fn seen(t: &Totals) -> Expected {
    Expected {
        count: t.count,
        log_lines: t.log_lines,
        first_ms: t.first_event_ms,
        last_ms: t.last_event_ms,
        metrics: t
            .metrics
            .iter()
            .map(|(k, s)| (k.clone(), (s.count, s.sum.0, s.min.0, s.max.0)))
            .collect(),
        events: t.events.clone(),
    }
}

/// Adds `parts` (each a slice of observations) to pages, one page per part and aggregate,
/// then merges each aggregate's pages.
fn through_pages(parts: &[&[Observation<'_>]], window: u32) -> BTreeMap<(String, i64), Expected> {
    let mut pages: BTreeMap<(String, i64), Vec<Page>> = BTreeMap::new();
    for part in parts {
        let mut here: BTreeMap<(String, i64), Page> = BTreeMap::new();
        for o in *part {
            let k = key_of(o, window);
            here.entry((k.entity.clone(), k.window_start_ms))
                .or_insert_with(|| Page::new(&k.entity, "w", 0))
                .add(o, Some(function::sketch::Accuracy::DEFAULT));
        }
        for (k, p) in here {
            pages.entry(k).or_default().push(p);
        }
    }
    pages
        .into_iter()
        .map(|(k, ps)| {
            let mut t = Totals::default();
            ps.iter().for_each(|p| t.merge(p));
            (k, seen(&t))
        })
        .collect()
}

proptest! {
    #[test]
    fn order_does_not_matter(obs in prop::collection::vec(arb_obs(), 0..60), seed in any::<u64>()) {
        let mut shuffled = obs.clone();
        let mut rng = fastrand::Rng::with_seed(seed);
        rng.shuffle(&mut shuffled);
        prop_assert_eq!(through_pages(&[&shuffled], 60), oracle(&obs, 60));
    }

    #[test]
    fn any_split_over_pages_merges_to_the_whole(
        obs in prop::collection::vec(arb_obs(), 0..60),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        window in 1u32..600,
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(obs.len() + 1)).collect();
        points.extend([0, obs.len()]);
        points.sort_unstable();
        let parts: Vec<&[Observation<'_>]> = points.windows(2).map(|w| &obs[w[0]..w[1]]).collect();
        prop_assert_eq!(through_pages(&parts, window), oracle(&obs, window));
    }

    #[test]
    fn every_observation_is_counted_once_in_its_window(
        obs in prop::collection::vec(arb_obs(), 0..60),
        window in 1u32..600,
    ) {
        let got = through_pages(&[&obs], window);
        prop_assert_eq!(got.values().map(|e| e.count).sum::<u64>(), obs.len() as u64);
        for ((_, start), e) in &got {
            prop_assert_eq!(*start, window_start(e.first_ms, window));
            prop_assert!(e.first_ms <= e.last_ms);
            prop_assert!(e.last_ms < start + i64::from(window) * 1000);
        }
    }
}

#[test]
fn a_quarter_step_is_exact_in_nanounits() {
    assert_eq!(Dec::from_f64(-0.25).0, -250_000_000);
    assert_eq!(Dec::from_f64(249.75).0, 249_750_000_000);
}

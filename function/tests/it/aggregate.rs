//! Aggregation properties: order independence, split/merge equality, conservation.

use std::borrow::Cow;
use std::collections::BTreeMap;

use function::aggregate::{WindowAgg, WindowKey, aggregate, window_start};
use function::extract::Observation;
use proptest::prelude::*;

use crate::support::T0_MS;

fn arb_obs() -> impl Strategy<Value = Observation<'static>> {
    (
        prop::sample::select(vec!["a", "b", "c"]),
        -200_000i64..400_000,
        prop::collection::btree_map(
            prop::sample::select(vec!["t", "h", "x.y"]),
            -1000i32..1000,
            0..3,
        ),
        prop::collection::vec(prop::sample::select(vec!["click", "view"]), 0..2),
        any::<bool>(),
    )
        .prop_map(|(e, dt, m, ev, log)| Observation {
            entity: Cow::Owned(e.to_owned()),
            event_time_ms: T0_MS + dt,
            time_fallback: false,
            id_fallback: false,
            // Quarter steps: exact in f64, so sums are exact in any order.
            metrics: m
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.to_owned()), f64::from(v) / 4.0))
                .collect(),
            events: ev.into_iter().map(|e| Cow::Owned(e.to_owned())).collect(),
            log_line: log,
        })
}

fn merged(parts: &[BTreeMap<WindowKey, WindowAgg>]) -> BTreeMap<WindowKey, WindowAgg> {
    let mut out: BTreeMap<WindowKey, WindowAgg> = BTreeMap::new();
    for p in parts {
        for (k, a) in p {
            out.entry(k.clone()).or_default().merge(a);
        }
    }
    out
}

proptest! {
    #[test]
    fn order_does_not_matter(obs in prop::collection::vec(arb_obs(), 0..60), seed in any::<u64>()) {
        let mut shuffled = obs.clone();
        // Deterministic shuffle from the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        prop_assert_eq!(aggregate(&obs, 60), aggregate(&shuffled, 60));
    }

    #[test]
    fn any_split_merges_to_the_whole(obs in prop::collection::vec(arb_obs(), 0..60), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4)) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(obs.len() + 1)).collect();
        points.push(0);
        points.push(obs.len());
        points.sort_unstable();
        let parts: Vec<_> = points.windows(2).map(|w| aggregate(&obs[w[0]..w[1]], 60)).collect();
        prop_assert_eq!(merged(&parts), aggregate(&obs, 60));
    }

    #[test]
    fn every_observation_is_counted_once(obs in prop::collection::vec(arb_obs(), 0..60), window in 1u32..600) {
        let aggs = aggregate(&obs, window);
        let total: u64 = aggs.values().map(|a| a.count).sum();
        prop_assert_eq!(total, obs.len() as u64);
        for (k, a) in &aggs {
            prop_assert_eq!(k.window_start_ms, window_start(a.first_event_ms, window));
            prop_assert!(a.first_event_ms <= a.last_event_ms);
            prop_assert!(a.last_event_ms < k.window_start_ms + i64::from(window) * 1000);
            for s in a.metrics.values() {
                prop_assert!(s.min <= s.max && s.count <= a.count);
            }
        }
    }
}

#[test]
fn windows_floor_also_before_1970() {
    assert_eq!(window_start(59_999, 60), 0);
    assert_eq!(window_start(60_000, 60), 60_000);
    assert_eq!(window_start(-1, 60), -60_000);
}

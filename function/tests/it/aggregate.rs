//! Aggregation properties: order independence, split/merge equality, conservation.

use std::collections::BTreeMap;

use function::aggregate::{WindowAgg, WindowKey, aggregate, window_start};
use proptest::prelude::*;

use crate::arb::arb_obs;

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

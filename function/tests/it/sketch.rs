//! Quantile sketches against an exact oracle: every quantile within the relative accuracy of
//! the value of its rank in the sorted values, merges exact, collapse keeps the upper
//! quantiles, and the encoding round-trips.

use function::sketch::{Accuracy, Sketch};
use proptest::prelude::*;

use crate::arb::{arb_accuracy, arb_values};

const QUANTILES: [f64; 8] = [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0];

fn sketch_of(values: &[f64], a: Accuracy) -> Sketch {
    let mut s = Sketch::new(a);
    for v in values {
        s.add(*v);
    }
    s
}

/// The value of rank ⌊q·(n − 1)⌋ in ascending order, by sorting (independent of buckets).
fn exact(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

/// `got` is within `alpha` of `want`, relatively (values under the sketch's 10⁻⁹ count as 0).
fn check(got: Option<f64>, want: f64, alpha: f64) -> Result<(), TestCaseError> {
    let got = got.ok_or_else(|| TestCaseError::fail("no quantile"))?;
    let tolerance = alpha * want.abs() * (1.0 + 1e-9) + 1e-9;
    prop_assert!((got - want).abs() <= tolerance, "{} vs exact {}", got, want);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_quantile_is_within_the_accuracy_of_the_exact_one(
        values in arb_values(),
        a in arb_accuracy(),
    ) {
        let s = sketch_of(&values, a);
        prop_assert_eq!(s.count(), values.len() as u64);
        for q in QUANTILES {
            check(s.quantile(q), exact(&values, q), a.alpha())?;
        }
        prop_assert_eq!(Sketch::from_bytes(&s.to_bytes()), Some(s));
    }

    #[test]
    fn merging_sketches_is_sketching_the_union(
        a in arb_values(),
        b in arb_values(),
        acc in arb_accuracy(),
    ) {
        let mut merged = sketch_of(&a, acc);
        merged.merge(&sketch_of(&b, acc));
        let union: Vec<f64> = a.iter().chain(&b).copied().collect();
        prop_assert_eq!(merged, sketch_of(&union, acc));
    }

    #[test]
    fn collapsing_keeps_the_upper_quantiles(values in arb_values(), keep in 1usize..8) {
        let a = Accuracy::DEFAULT;
        let mut s = sketch_of(&values, a);
        let n = values.len() as u64;
        while s.buckets() > keep && s.collapse_lowest() {}
        prop_assert_eq!(s.count(), n, "collapsing loses no value");
        // Quantiles whose rank lies above every collapsed value keep their guarantee: the
        // highest bucket's values are never moved.
        let top = sketch_of(&values, a);
        let highest = top
            .positive
            .values()
            .next_back()
            .copied()
            .or_else(|| (top.zero > 0).then_some(top.zero))
            .or_else(|| top.negative.values().next().copied())
            .unwrap_or(0);
        let q = 1.0 - (highest.saturating_sub(1)) as f64 / (n.max(2) - 1) as f64;
        check(s.quantile(1.0), exact(&values, 1.0), a.alpha())?;
        check(s.quantile(q.clamp(0.0, 1.0)), exact(&values, q.clamp(0.0, 1.0)), a.alpha())?;
    }
}

#[test]
fn a_known_distribution_reads_as_its_percentiles() {
    // 1..=1000 ms: p50 is 500, p95 950, p99 990 (ranks 499, 949, 989).
    let values: Vec<f64> = (1..=1000).map(f64::from).collect();
    let s = sketch_of(&values, Accuracy::DEFAULT);
    for (q, want) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
        let got = s.quantile(q).expect("a quantile");
        assert!((got - want).abs() <= 0.01 * want, "p{q}: {got} vs {want}");
    }
}

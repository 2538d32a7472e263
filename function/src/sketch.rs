//! A mergeable quantile sketch with a relative-error guarantee (DDSketch: logarithmic
//! buckets). A value x > 0 goes to bucket ⌈log_γ x⌉ with γ = (1 + α) / (1 − α); every value
//! in a bucket is within α of the bucket's representative 2γⁱ / (γ + 1), so the quantile
//! read from the buckets is within α of the exact one. Negative values go to a mirrored
//! store, |x| < 10⁻⁹ (below a metric's nanounit) counts as 0. Merging adds bucket counts,
//! exactly. Pure: no I/O.
//!
//! Encoding (a DynamoDB binary attribute; README has a decoder): format byte `1`, then
//! unsigned LEB128 varints: accuracy (per mille), the zero count, and for the negative
//! then the positive store: the number of buckets n and, if n > 0, the first index
//! (zig-zag) and its count, then n − 1 × (index delta, count), indexes ascending.

use std::collections::BTreeMap;

use crate::leb128;

/// Values of smaller magnitude count as 0 (a metric's resolution is 10⁻⁹).
pub const MIN_MAGNITUDE: f64 = 1e-9;
/// The encoding's format byte.
pub const FORMAT: u8 = 1;
/// Most buckets one sketch keeps (beyond, its lowest buckets are merged).
pub const MAX_BUCKETS: usize = 2_048;
/// Longest encoding of one bucket: an index delta (≤ 3 bytes: indexes span < 2²¹ at the
/// finest accuracy) and a count (≤ 10 bytes).
pub const MAX_BUCKET_BYTES: usize = 3 + 10;
/// Longest encoding of a sketch without its buckets: format, accuracy, zero count, and per
/// store its bucket count and first index.
pub const MAX_HEADER_BYTES: usize = 1 + 2 + 10 + 2 * (2 + 5);

/// A relative accuracy, in per mille: 1 (0.1 %) to 100 (10 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Accuracy(u16);

impl Accuracy {
    /// 1 %, the default.
    pub const DEFAULT: Accuracy = Accuracy(10);

    /// `per_mille` if it is in 1..=100.
    pub fn per_mille(per_mille: u16) -> Option<Self> {
        (1..=100).contains(&per_mille).then_some(Self(per_mille))
    }

    pub fn get(self) -> u16 {
        self.0
    }

    /// α as a fraction.
    pub fn alpha(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

/// The sketch of one metric's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sketch {
    pub accuracy: Accuracy,
    pub zero: u64,
    /// Bucket index of |x| → count, for x < 0.
    pub negative: BTreeMap<i32, u64>,
    /// Bucket index of x → count, for x > 0.
    pub positive: BTreeMap<i32, u64>,
}

impl Sketch {
    pub fn new(accuracy: Accuracy) -> Self {
        Self {
            accuracy,
            zero: 0,
            negative: BTreeMap::new(),
            positive: BTreeMap::new(),
        }
    }

    fn ln_gamma(&self) -> f64 {
        let a = self.accuracy.alpha();
        ((1.0 + a) / (1.0 - a)).ln()
    }

    /// The bucket of a magnitude ≥ [`MIN_MAGNITUDE`].
    fn index(&self, magnitude: f64) -> i32 {
        (magnitude.ln() / self.ln_gamma()).ceil() as i32
    }

    /// The representative value of bucket `i` (within α of every value in it).
    pub fn value(&self, i: i32) -> f64 {
        let g = self.ln_gamma().exp();
        2.0 * (f64::from(i) * self.ln_gamma()).exp() / (g + 1.0)
    }

    /// Adds one value `n` times (a NaN or infinite value is not added).
    pub fn add_n(&mut self, x: f64, n: u64) {
        if !x.is_finite() || n == 0 {
            return;
        }
        if x.abs() < MIN_MAGNITUDE {
            self.zero += n;
        } else if x > 0.0 {
            *self.positive.entry(self.index(x)).or_default() += n;
        } else {
            *self.negative.entry(self.index(-x)).or_default() += n;
        }
    }

    pub fn add(&mut self, x: f64) {
        self.add_n(x, 1);
    }

    /// Values added.
    pub fn count(&self) -> u64 {
        self.zero + self.negative.values().sum::<u64>() + self.positive.values().sum::<u64>()
    }

    /// Buckets kept (the zero count is not one).
    pub fn buckets(&self) -> usize {
        self.negative.len() + self.positive.len()
    }

    /// Merges the two lowest-valued buckets (the most negative first), so the upper
    /// quantiles keep their guarantee; `false` with fewer than two buckets.
    pub fn collapse_lowest(&mut self) -> bool {
        // In ascending value order: the negative store's indexes descending, then the
        // positive store's ascending.
        let ordered: Vec<(bool, i32)> = self
            .negative
            .keys()
            .rev()
            .map(|i| (true, *i))
            .chain(self.positive.keys().map(|i| (false, *i)))
            .take(2)
            .collect();
        let [(neg_low, low), (neg_next, next)] = ordered[..] else {
            return false;
        };
        let moved = self.store(neg_low).remove(&low).unwrap_or(0);
        *self.store(neg_next).entry(next).or_default() += moved;
        true
    }

    fn store(&mut self, negative: bool) -> &mut BTreeMap<i32, u64> {
        if negative {
            &mut self.negative
        } else {
            &mut self.positive
        }
    }

    /// Adds `other`'s values: bucket counts add (exact when both have the same accuracy;
    /// otherwise each of `other`'s buckets is added at its representative value).
    pub fn merge(&mut self, other: &Sketch) {
        self.zero += other.zero;
        if other.accuracy == self.accuracy {
            for (i, n) in &other.negative {
                *self.negative.entry(*i).or_default() += n;
            }
            for (i, n) in &other.positive {
                *self.positive.entry(*i).or_default() += n;
            }
            return;
        }
        for (i, n) in &other.negative {
            self.add_n(-other.value(*i), *n);
        }
        for (i, n) in &other.positive {
            self.add_n(other.value(*i), *n);
        }
    }

    /// The `q`-quantile (0 ≤ q ≤ 1): within α of the value of rank ⌊q·(n − 1)⌋ among the
    /// values added, in ascending order (unless buckets below it were collapsed). `None`
    /// when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = (q * (n - 1) as f64).floor() as u64;
        let mut seen = 0u64;
        for (i, c) in self.negative.iter().rev() {
            seen += c;
            if seen > rank {
                return Some(-self.value(*i));
            }
        }
        seen += self.zero;
        if seen > rank {
            return Some(0.0);
        }
        for (i, c) in &self.positive {
            seen += c;
            if seen > rank {
                return Some(self.value(*i));
            }
        }
        None
    }

    /// The encoding described at the top of this module.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![FORMAT];
        leb128::write(&mut out, u64::from(self.accuracy.get()));
        leb128::write(&mut out, self.zero);
        for store in [&self.negative, &self.positive] {
            leb128::write(&mut out, store.len() as u64);
            let mut prev = None;
            for (i, c) in store {
                match prev {
                    None => leb128::write(&mut out, zigzag(*i)),
                    Some(p) => leb128::write(&mut out, u64::from(i.abs_diff(p))),
                }
                leb128::write(&mut out, *c);
                prev = Some(*i);
            }
        }
        out
    }

    /// Reads [`Sketch::to_bytes`]; `None` for bytes it cannot have written.
    pub fn from_bytes(bytes: &[u8]) -> Option<Sketch> {
        let (&format, mut rest) = bytes.split_first()?;
        if format != FORMAT {
            return None;
        }
        let mut next = || -> Option<u64> {
            let (v, used) = leb128::read(rest)?;
            rest = &rest[used..];
            Some(v)
        };
        let accuracy = Accuracy::per_mille(u16::try_from(next()?).ok()?)?;
        let mut sketch = Sketch::new(accuracy);
        sketch.zero = next()?;
        for negative in [true, false] {
            let n = next()?;
            let mut index: Option<i32> = None;
            for _ in 0..n {
                let i = match index {
                    None => unzigzag(next()?)?,
                    Some(p) => p.checked_add(i32::try_from(next()?).ok().filter(|d| *d > 0)?)?,
                };
                sketch.store(negative).insert(i, next()?);
                index = Some(i);
            }
        }
        rest.is_empty().then_some(sketch)
    }
}

fn zigzag(i: i32) -> u64 {
    u64::from(((i << 1) ^ (i >> 31)) as u32)
}

fn unzigzag(v: u64) -> Option<i32> {
    let v = u32::try_from(v).ok()?;
    Some(((v >> 1) as i32) ^ -((v & 1) as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_refuses_what_it_cannot_have_written() {
        let mut s = Sketch::new(Accuracy::DEFAULT);
        for x in [-1e15, -3.5, 0.0, 1e-12, 0.5, 21.7, 21.8, 1e15] {
            s.add(x);
        }
        let bytes = s.to_bytes();
        assert_eq!(Sketch::from_bytes(&bytes), Some(s.clone()));
        assert_eq!(Sketch::from_bytes(&[]), None);
        assert_eq!(Sketch::from_bytes(&[2]), None);
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Sketch::from_bytes(&long), None);
        assert_eq!(Sketch::from_bytes(&bytes[..bytes.len() - 1]), None);
        // The seed's temperatures: a few bytes per bucket.
        let mut t = Sketch::new(Accuracy::DEFAULT);
        for i in 0..200 {
            t.add(15.0 + f64::from(i % 200) / 10.0);
        }
        assert!(
            t.to_bytes().len() <= 3 + 2 * t.buckets() + 2 + 3,
            "{}",
            t.to_bytes().len()
        );
    }

    #[test]
    fn the_widest_sketch_fits_its_stated_bound() {
        // The finest accuracy over the whole range of a metric's values.
        let mut s = Sketch::new(Accuracy::per_mille(1).expect("0.1 %"));
        let mut x = MIN_MAGNITUDE;
        while x < 1e15 {
            s.add_n(x, u64::MAX / 4_000_000);
            s.add_n(-x, u64::MAX / 4_000_000);
            x *= 1.5;
        }
        while s.buckets() > MAX_BUCKETS {
            s.collapse_lowest();
        }
        let len = s.to_bytes().len();
        assert!(
            len <= MAX_HEADER_BYTES + MAX_BUCKETS * MAX_BUCKET_BYTES,
            "{len}"
        );
    }
}

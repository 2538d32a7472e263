//! Where a user record sits in a shard: Kinesis sequence number plus sub-record index.

use std::cmp::Ordering;
use std::fmt;

/// A Kinesis sequence number: up to 129 decimal digits, compared as a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeqNo(String);

impl SeqNo {
    /// Parses a decimal sequence number; leading zeros are dropped so equal numbers compare equal.
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() || s.len() > 129 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = s.trim_start_matches('0');
        Some(Self(
            if trimmed.is_empty() { "0" } else { trimmed }.to_owned(),
        ))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for SeqNo {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for SeqNo {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A user record's position: its Kinesis record's sequence number, then its index inside
/// that record (KPL sub-record or CloudWatch Logs event; 0 for a plain record).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub seq: SeqNo,
    pub sub: u32,
}

impl Position {
    /// Parses the `<seq>:<sub>` form stored in high-water marks.
    pub fn parse(s: &str) -> Option<Self> {
        let (seq, sub) = s.split_once(':')?;
        Some(Self {
            seq: SeqNo::parse(seq)?,
            sub: sub.parse().ok()?,
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq.0, self.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_numerically_not_lexically() {
        let a = SeqNo::parse("9").expect("valid");
        let b = SeqNo::parse("10").expect("valid");
        assert!(a < b);
        assert_eq!(SeqNo::parse("007"), SeqNo::parse("7"));
        assert!(SeqNo::parse(&"9".repeat(130)).is_none());
        assert!(SeqNo::parse("12a").is_none());
    }

    #[test]
    fn positions_round_trip() {
        let p = Position {
            seq: SeqNo::parse("49568167373333333333333333333333333333333333333333333333")
                .expect("valid"),
            sub: 3,
        };
        assert_eq!(Position::parse(&p.to_string()), Some(p));
    }
}

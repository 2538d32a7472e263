//! Where a user record sits in a shard: Kinesis sequence number plus sub-record index.

use num_bigint::BigUint;
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
    /// Parses the `<seq>:<sub>` text form (marks written by earlier versions; tests).
    pub fn parse(s: &str) -> Option<Self> {
        let (seq, sub) = s.split_once(':')?;
        Some(Self {
            seq: SeqNo::parse(seq)?,
            sub: sub.parse().ok()?,
        })
    }
}

/// Longest [`Position::to_bytes`]: a 129-digit sequence number (< 2^429, 54 bytes) after a
/// sub-record index of up to 5 LEB128 bytes.
pub const MAX_POSITION_BINARY_BYTES: usize = 5 + 54;

impl Position {
    /// The compact form stored in marks: the sub-record index as LEB128, then the sequence
    /// number as a big-endian unsigned integer (25 bytes for a 56-digit sequence number and
    /// a plain record, against 58 as `<seq>:<sub>` text).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_POSITION_BINARY_BYTES);
        crate::leb128::write(&mut out, u64::from(self.sub));
        let seq = BigUint::parse_bytes(self.seq.0.as_bytes(), 10).unwrap_or_default();
        out.extend(seq.to_bytes_be());
        out
    }

    /// Reads [`Position::to_bytes`]; `None` for bytes it cannot have written.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut sub: u32 = 0;
        let mut used = 0;
        for (i, b) in bytes.iter().enumerate().take(5) {
            if i == 4 && b & 0x7f > 0x0f {
                return None; // past u32
            }
            sub |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                used = i + 1;
                break;
            }
        }
        let seq = bytes.get(used..).filter(|s| used > 0 && !s.is_empty())?;
        if bytes.len() > MAX_POSITION_BINARY_BYTES || (seq.len() > 1 && seq[0] == 0) {
            return None;
        }
        Some(Self {
            seq: SeqNo::parse(&BigUint::from_bytes_be(seq).to_str_radix(10))?,
            sub,
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
        assert_eq!(Position::parse(&p.to_string()), Some(p.clone()));
        assert_eq!(Position::from_bytes(&p.to_bytes()), Some(p.clone()));
        assert_eq!(p.to_bytes().len(), 1 + 24);
    }

    #[test]
    fn binary_positions_round_trip_at_the_extremes() {
        for (seq, sub) in [
            ("0", 0),
            ("1", 127),
            ("255", 128),
            (&*"9".repeat(129), u32::MAX),
        ] {
            let p = Position {
                seq: SeqNo::parse(seq).expect("valid"),
                sub,
            };
            let b = p.to_bytes();
            assert!(b.len() <= MAX_POSITION_BINARY_BYTES, "{seq}: {}", b.len());
            assert_eq!(Position::from_bytes(&b), Some(p), "{seq}:{sub}");
        }
        assert_eq!(
            Position {
                seq: SeqNo::parse(&"9".repeat(129)).expect("valid"),
                sub: u32::MAX
            }
            .to_bytes()
            .len(),
            MAX_POSITION_BINARY_BYTES
        );
        // Bytes the writer never produces.
        for bad in [
            &[][..],
            &[0x80],
            &[0x00],
            &[0x00, 0x00, 0x01],
            &[0xff; 6],
            &[0xff, 0xff, 0xff, 0xff, 0x1f, 0x01],
        ] {
            assert_eq!(Position::from_bytes(bad), None, "{bad:?}");
        }
    }
}

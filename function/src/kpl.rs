//! The KPL aggregated-record format: magic, protobuf `AggregatedRecord`, MD5 trailer.
//!
//! ```text
//! message AggregatedRecord { repeated string partition_key_table = 1;
//!                            repeated string explicit_hash_key_table = 2;
//!                            repeated Record records = 3; }
//! message Record { required uint64 partition_key_index = 1;
//!                  optional uint64 explicit_hash_key_index = 2;
//!                  required bytes data = 3; repeated Tag tags = 4; }
//! ```

use md5::{Digest, Md5};

/// First four bytes of every aggregated record.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// One user record inside an aggregated record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubRecord<'a> {
    pub partition_key: &'a str,
    pub data: &'a [u8],
}

/// Why an aggregated record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KplError {
    #[error("KPL record too short")]
    TooShort,
    #[error("KPL checksum mismatch")]
    Checksum,
    #[error("KPL protobuf malformed: {0}")]
    Malformed(&'static str),
}

/// Whether `data` starts with the KPL magic.
pub fn is_aggregated(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// De-aggregates a KPL record (which must start with [`MAGIC`]), verifying its checksum.
pub fn decode(data: &[u8]) -> Result<Vec<SubRecord<'_>>, KplError> {
    if data.len() < MAGIC.len() + DIGEST_LEN {
        return Err(KplError::TooShort);
    }
    let (body, digest) = data[MAGIC.len()..].split_at(data.len() - MAGIC.len() - DIGEST_LEN);
    if Md5::digest(body).as_slice() != digest {
        return Err(KplError::Checksum);
    }
    let mut keys = Vec::new();
    let mut raw_records = Vec::new();
    let mut r = Reader(body);
    while !r.0.is_empty() {
        match r.field()? {
            (1, Field::Bytes(b)) => keys.push(utf8(b)?),
            (2, Field::Bytes(_)) => {}
            (3, Field::Bytes(b)) => raw_records.push(b),
            (1..=3, _) => return Err(KplError::Malformed("wrong wire type")),
            _ => {}
        }
    }
    raw_records
        .into_iter()
        .map(|rec| {
            let (mut key_index, mut payload) = (None, None);
            let mut r = Reader(rec);
            while !r.0.is_empty() {
                match r.field()? {
                    (1, Field::Varint(i)) => key_index = Some(i),
                    (3, Field::Bytes(b)) => payload = Some(b),
                    (1 | 3, _) => return Err(KplError::Malformed("wrong wire type")),
                    _ => {}
                }
            }
            let index = key_index.ok_or(KplError::Malformed("record without key index"))?;
            let partition_key = usize::try_from(index)
                .ok()
                .and_then(|i| keys.get(i))
                .ok_or(KplError::Malformed("key index out of range"))?;
            Ok(SubRecord {
                partition_key,
                data: payload.ok_or(KplError::Malformed("record without data"))?,
            })
        })
        .collect()
}

fn utf8(b: &[u8]) -> Result<&str, KplError> {
    std::str::from_utf8(b).map_err(|_| KplError::Malformed("partition key is not UTF-8"))
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, KplError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .0
                .split_first()
                .ok_or(KplError::Malformed("truncated varint"))?;
            self.0 = rest;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(KplError::Malformed("varint too long"))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], KplError> {
        let n = usize::try_from(n).map_err(|_| KplError::Malformed("length too large"))?;
        if n > self.0.len() {
            return Err(KplError::Malformed("truncated field"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn field(&mut self) -> Result<(u64, Field<'a>), KplError> {
        let tag = self.varint()?;
        let field = match tag & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Field::Fixed
            }
            2 => {
                let n = self.varint()?;
                Field::Bytes(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                Field::Fixed
            }
            _ => return Err(KplError::Malformed("unsupported wire type")),
        };
        Ok((tag >> 3, field))
    }
}

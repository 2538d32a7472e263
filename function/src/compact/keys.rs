//! Archive object names as compaction reads and writes them: which shard and sequence range
//! an object holds, and whether it is one batch's object or a compacted one.

use crate::archive::Kind;
use crate::position::SeqNo;

/// What every archive object's name ends with.
pub const SUFFIX: &str = ".ndjson.gz";
/// What a compacted object's name ends with (before [`SUFFIX`]).
pub const COMPACTED: &str = "-compacted";

/// One archive object, read from its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName {
    pub key: String,
    pub shard: String,
    /// The sequence numbers of its first and last lines.
    pub first: SeqNo,
    pub last: SeqNo,
    /// Written by compaction (`<shard>-<first>-<last>-compacted.ndjson.gz`), not by a batch.
    pub compacted: bool,
}

impl ObjectName {
    /// Reads `<prefix><shardId>-<firstSeq>-<lastSeq>[-compacted].ndjson.gz`; `None` for a key
    /// no writer of this project produces (such objects are left alone).
    pub fn parse(prefix: &str, key: &str) -> Option<Self> {
        let name = key.strip_prefix(prefix)?.strip_suffix(SUFFIX)?;
        if name.contains('/') {
            return None;
        }
        let (name, compacted) = match name.strip_suffix(COMPACTED) {
            Some(n) => (n, true),
            None => (name, false),
        };
        let (rest, last) = name.rsplit_once('-')?;
        let (shard, first) = rest.rsplit_once('-')?;
        let (first, last) = (SeqNo::parse(first)?, SeqNo::parse(last)?);
        if shard.is_empty() || last < first {
            return None;
        }
        Some(Self {
            key: key.to_owned(),
            shard: shard.to_owned(),
            first,
            last,
            compacted,
        })
    }
}

/// The key of a compacted object of `shard` holding `first..=last` under `hour_prefix`
/// (`<kind>/year=…/hour=HH/`).
pub fn compacted_key(hour_prefix: &str, shard: &str, first: &SeqNo, last: &SeqNo) -> String {
    format!(
        "{hour_prefix}{shard}-{}-{}{COMPACTED}{SUFFIX}",
        first.as_str(),
        last.as_str()
    )
}

/// The hour prefixes (`<kind>/year=…/hour=HH/`) compaction visits for an hour start.
pub fn hour_prefixes(hour_start_ms: i64) -> [String; 2] {
    let hour = crate::archive::hour_prefix(hour_start_ms);
    [Kind::Raw, Kind::Rejected].map(|k| format!("{}{hour}", k.prefix()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_and_compacted_names_round_trip() {
        let p = "raw/year=2026/month=12/day=06/hour=22/";
        let batch = ObjectName::parse(p, &format!("{p}shardId-000000000001-0042-57.ndjson.gz"))
            .expect("a batch name");
        assert_eq!(batch.shard, "shardId-000000000001");
        assert_eq!((batch.first.as_str(), batch.last.as_str()), ("42", "57"));
        assert!(!batch.compacted);
        let key = compacted_key(p, &batch.shard, &batch.first, &batch.last);
        let c = ObjectName::parse(p, &key).expect("a compacted name");
        assert!(c.compacted);
        assert_eq!(
            (c.shard, c.first, c.last),
            (batch.shard, batch.first, batch.last)
        );
    }

    #[test]
    fn foreign_keys_are_not_ours() {
        let p = "raw/year=2026/month=12/day=06/hour=22/";
        for key in [
            format!("{p}notes.txt"),
            format!("{p}sub/shardId-1-2-3.ndjson.gz"),
            format!("{p}shardId-1-x-3.ndjson.gz"),
            format!("{p}shardId-1-9-3.ndjson.gz"),
            format!("{p}-9.ndjson.gz"),
            "rejected/elsewhere-1-2.ndjson.gz".to_owned(),
        ] {
            assert_eq!(ObjectName::parse(p, &key), None, "{key}");
        }
    }
}

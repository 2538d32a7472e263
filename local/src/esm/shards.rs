//! Which shards may be read now (pure): Lambda reads a child shard only after its parents
//! (one after a split, two after a merge) were read to their end, so a key's records stay
//! in order across a reshard. A parent no longer listed (past retention) does not hold its
//! children back unless its reader is still running.

use std::collections::BTreeSet;

/// A shard as `ListShards` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    pub id: String,
    /// `ParentShardId` and `AdjacentParentShardId`, when present.
    pub parents: Vec<String>,
}

/// The listed shards whose readers may start: not started yet, and every parent finished,
/// or neither listed nor started (expired before this mapping saw it).
pub fn ready<'a>(
    listed: &'a [ShardInfo],
    started: &BTreeSet<String>,
    finished: &BTreeSet<String>,
) -> Vec<&'a str> {
    let known: BTreeSet<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    listed
        .iter()
        .filter(|s| !started.contains(&s.id))
        .filter(|s| {
            s.parents.iter().all(|p| {
                finished.contains(p) || (!known.contains(p.as_str()) && !started.contains(p))
            })
        })
        .map(|s| s.id.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parents: &[&str]) -> ShardInfo {
        ShardInfo {
            id: id.into(),
            parents: parents.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[track_caller]
    fn check(listed: &[ShardInfo], started: &[&str], finished: &[&str], want: &[&str]) {
        assert_eq!(ready(listed, &set(started), &set(finished)), want);
    }

    #[test]
    fn children_wait_for_their_parents() {
        // A split of 0 into 1 and 2; a merge of 1 and 2 into 3.
        let listed = [
            shard("0", &[]),
            shard("1", &["0"]),
            shard("2", &["0"]),
            shard("3", &["1", "2"]),
        ];
        check(&listed, &[], &[], &["0"]);
        check(&listed, &["0"], &[], &[]);
        check(&listed, &["0"], &["0"], &["1", "2"]);
        check(&listed, &["0", "1", "2"], &["0", "1"], &[]);
        check(&listed, &["0", "1", "2"], &["0", "1", "2"], &["3"]);
    }

    #[test]
    fn an_expired_parent_does_not_hold_children_back_unless_it_is_still_read() {
        let listed = [shard("1", &["0"]), shard("2", &["0"])];
        check(&listed, &[], &[], &["1", "2"]);
        // Parent 0 vanished from the listing while its reader still drains its records.
        check(&listed, &["0"], &[], &[]);
        check(&listed, &["0"], &["0"], &["1", "2"]);
    }
}

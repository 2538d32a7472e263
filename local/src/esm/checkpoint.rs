//! Per-shard checkpoints (every record before them is done), kept in a file so a restarted
//! mapping resumes after them, and the per-shard progress that moves them.

use super::*;

/// Checkpoints, per shard: the sequence number up to which every record is done.
#[derive(Debug)]
pub struct Checkpoints {
    path: PathBuf,
    done: Mutex<BTreeMap<String, String>>,
}

impl Checkpoints {
    /// Loads the checkpoint file (missing = no checkpoints; unreadable or corrupt = an
    /// error naming the file, never a silent restart from the stream's start).
    pub fn load(path: &Path) -> Result<Self, Error> {
        let done = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Io {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source: e,
                });
            }
        };
        Ok(Self {
            path: path.to_owned(),
            done: Mutex::new(done),
        })
    }

    /// The checkpoint of a shard.
    pub async fn get(&self, shard: &str) -> Option<String> {
        self.done.lock().await.get(shard).cloned()
    }

    pub(super) async fn set(&self, shard: &str, seq: &str) {
        let mut d = self.done.lock().await;
        d.insert(shard.to_owned(), seq.to_owned());
        let saved = serde_json::to_string_pretty(&*d)
            .map_err(std::io::Error::other)
            .and_then(|text| {
                let tmp = self.path.with_extension("tmp");
                std::fs::write(&tmp, text)?;
                std::fs::rename(&tmp, &self.path)
            });
        if let Err(e) = saved {
            // The mapping goes on (the checkpoint is in memory); a restart would re-read
            // from the last saved one, which the marks make harmless.
            tracing::error!(path = %self.path.display(), error = %function::error::chain(&e), shard, "checkpoint not saved");
        }
    }
}

/// Records of one shard read but not yet done, in sequence order, each with the sequence
/// number exactly as the service wrote it (a checkpoint must be given back verbatim: the
/// emulator compares zero-padded sequence numbers as strings).
pub(super) struct Progress {
    pub(super) pending: BTreeMap<SeqNo, (String, bool)>,
}

impl Progress {
    pub(super) fn read(&mut self, seq: &str) {
        if let Some(s) = SeqNo::parse(seq) {
            self.pending.insert(s, (seq.to_owned(), false));
        }
    }

    /// Marks records done; returns the new checkpoint if it moved.
    pub(super) fn done(&mut self, seqs: &[&str]) -> Option<String> {
        for s in seqs {
            if let Some(n) = SeqNo::parse(s) {
                self.pending.insert(n, ((*s).to_owned(), true));
            }
        }
        let mut moved = None;
        while let Some(entry) = self.pending.first_entry() {
            if !entry.get().1 {
                break;
            }
            moved = Some(entry.remove().0);
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_is_the_sequence_number_as_the_service_wrote_it() {
        let mut p = Progress {
            pending: BTreeMap::new(),
        };
        for seq in [
            "000000017960230979720000000081",
            "000000017960230979720000000082",
        ] {
            p.read(seq);
        }
        assert_eq!(p.done(&["000000017960230979720000000082"]), None);
        assert_eq!(
            p.done(&["000000017960230979720000000081"]).as_deref(),
            Some("000000017960230979720000000082")
        );
    }
}

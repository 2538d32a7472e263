//! Reads what the function's log files (one per execution environment) gained since the
//! last look, complete lines only: the live view's totals and the local EMF forwarder.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The bytes of each file already read (up to its last complete line).
#[derive(Debug, Default)]
pub struct Tail {
    read: BTreeMap<PathBuf, u64>,
}

/// What a look found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Gained {
    pub lines: Vec<String>,
    /// A file shrank: a new run replaced the logs, and every line is read again from the
    /// start (the caller drops what it derived from the old ones).
    pub restarted: bool,
}

impl Tail {
    /// The complete lines written to the files of `dir` since the last call.
    pub fn gained(&mut self, dir: &Path) -> Gained {
        let mut found = Gained::default();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let offset = self.read.get(&path).copied().unwrap_or(0);
            let Ok(mut file) = std::fs::File::open(&path) else {
                continue;
            };
            if file.metadata().is_ok_and(|m| m.len() < offset) {
                *self = Self::default();
                let again = self.gained(dir);
                return Gained {
                    lines: again.lines,
                    restarted: true,
                };
            }
            let mut text = String::new();
            if file.seek(SeekFrom::Start(offset)).is_err()
                || file.read_to_string(&mut text).is_err()
            {
                continue;
            }
            // A line still being written is left for the next look.
            let complete = text.rfind('\n').map_or(0, |i| i + 1);
            found
                .lines
                .extend(text[..complete].lines().map(str::to_owned));
            self.read.insert(path, offset + complete as u64);
        }
        found
    }
}

//! Reads what the function's log files (one per execution environment) gained since the
//! last look, complete lines only: each lane's summary of its invocation, the live view,
//! `logs --follow` and the local EMF forwarder.

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
            if self.add(&entry.path(), &mut found).is_err() {
                *self = Self::default();
                let again = self.gained(dir);
                return Gained {
                    lines: again.lines,
                    restarted: true,
                };
            }
        }
        found
    }

    /// The complete lines written to the file `path` since the last call (a file that
    /// shrank is read again from its start, `restarted`).
    pub fn gained_file(&mut self, path: &Path) -> Gained {
        let mut found = Gained::default();
        if self.add(path, &mut found).is_err() {
            self.read.remove(path);
            found.restarted = true;
            let _ = self.add(path, &mut found);
        }
        found
    }

    /// Everything in `path` so far counts as read.
    pub fn skip_file(&mut self, path: &Path) {
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        self.read.insert(path.to_owned(), len);
    }

    /// Adds what `path` gained to `found`; `Err` when it shrank.
    fn add(&mut self, path: &Path, found: &mut Gained) -> Result<(), Shrank> {
        let offset = self.read.get(path).copied().unwrap_or(0);
        let Ok(mut file) = std::fs::File::open(path) else {
            return Ok(());
        };
        if file.metadata().is_ok_and(|m| m.len() < offset) {
            return Err(Shrank);
        }
        let mut text = String::new();
        if file.seek(SeekFrom::Start(offset)).is_err() || file.read_to_string(&mut text).is_err() {
            return Ok(());
        }
        // A line still being written is left for the next look.
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        found
            .lines
            .extend(text[..complete].lines().map(str::to_owned));
        self.read.insert(path.to_owned(), offset + complete as u64);
        Ok(())
    }
}

/// A file got shorter than what was read of it.
struct Shrank;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_complete_lines_are_read_and_a_shrunk_file_again() {
        let dir = std::env::temp_dir().join(format!("tail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("lane0.log");
        std::fs::write(&file, "a\nb\nhal").expect("write");
        let mut t = Tail::default();
        assert_eq!(t.gained(&dir).lines, ["a", "b"]);
        std::fs::write(&file, "a\nb\nhalf\n").expect("write");
        assert_eq!(t.gained(&dir).lines, ["half"]);
        assert_eq!(t.gained(&dir), Gained::default());
        std::fs::write(&file, "new\n").expect("write");
        let again = t.gained(&dir);
        assert!(again.restarted);
        assert_eq!(again.lines, ["new"]);
        let mut one = Tail::default();
        one.skip_file(&file);
        std::fs::write(&file, "new\nmore\n").expect("write");
        assert_eq!(one.gained_file(&file).lines, ["more"]);
        std::fs::write(&file, "x\n").expect("write");
        let shrunk = one.gained_file(&file);
        assert_eq!(
            (shrunk.lines, shrunk.restarted),
            (vec!["x".to_owned()], true)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

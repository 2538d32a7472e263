//! Pure: one shard-hour's objects merged into position order, each (shard, sequence,
//! sub-sequence) once, cut into parts; and a part checked against what was merged.
//!
//! The merge is lazy: objects are opened in the order of their first sequence number, only
//! when the merge reaches it, so memory holds the objects whose ranges overlap the current
//! position (a lane's batch per `parallelizationFactor`, plus redelivered copies), not the
//! hour. A batch object is decoded whole and sorted; a compacted object is streamed and must
//! already be in order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use md5::{Digest, Md5};
use serde::Deserialize;

use super::keys::{ObjectName, compacted_key};
use crate::position::{Position, SeqNo};

/// Why a shard-hour cannot be compacted safely; its objects are left as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct Unsafe {
    pub key: String,
    pub reason: String,
}

fn problem(key: &str, reason: impl Into<String>) -> Unsafe {
    Unsafe {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// The fields of an archive line that place it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Triple<'a> {
    #[serde(borrow)]
    shard_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    sequence_number: std::borrow::Cow<'a, str>,
    sub_sequence_number: u32,
}

/// Where a line belongs, checked against the shard its object is named after.
fn place(key: &str, shard: &str, line: &[u8]) -> Result<Position, Unsafe> {
    let t: Triple<'_> = serde_json::from_slice(line)
        .map_err(|e| problem(key, format!("a line that is not an archive line: {e}")))?;
    if t.shard_id != shard {
        return Err(problem(
            key,
            format!("a line of {} in {shard}'s object", t.shard_id),
        ));
    }
    let seq = SeqNo::parse(&t.sequence_number)
        .ok_or_else(|| problem(key, format!("sequence number {:?}", t.sequence_number)))?;
    Ok(Position {
        seq,
        sub: t.sub_sequence_number,
    })
}

/// One archive line and its position (the bytes verbatim, without the newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub pos: Position,
    pub bytes: Vec<u8>,
}

/// Every line of a gzip body with its position, in the body's order.
pub fn lines_of(key: &str, shard: &str, body: &[u8]) -> Result<Vec<Line>, Unsafe> {
    let mut text = Vec::new();
    MultiGzDecoder::new(body)
        .read_to_end(&mut text)
        .map_err(|e| problem(key, format!("not gzip: {e}")))?;
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            Ok(Line {
                pos: place(key, shard, l)?,
                bytes: l.to_vec(),
            })
        })
        .collect()
}

/// An opened object: its lines in position order.
#[derive(Debug)]
enum Source {
    Sorted(std::vec::IntoIter<Line>),
    Stream(Box<BufReader<MultiGzDecoder<std::io::Cursor<Vec<u8>>>>>),
}

#[derive(Debug)]
struct Cursor {
    key: String,
    shard: String,
    source: Source,
    last: Option<Position>,
}

impl Cursor {
    fn open(name: &ObjectName, body: Vec<u8>) -> Result<Self, Unsafe> {
        let source = if name.compacted {
            Source::Stream(Box::new(BufReader::new(MultiGzDecoder::new(
                std::io::Cursor::new(body),
            ))))
        } else {
            let mut lines = lines_of(&name.key, &name.shard, &body)?;
            lines.sort_by(|a, b| a.pos.cmp(&b.pos));
            Source::Sorted(lines.into_iter())
        };
        Ok(Self {
            key: name.key.clone(),
            shard: name.shard.clone(),
            source,
            last: None,
        })
    }

    fn next(&mut self) -> Result<Option<Line>, Unsafe> {
        let line = match &mut self.source {
            Source::Sorted(it) => it.next(),
            Source::Stream(r) => {
                let mut bytes = Vec::new();
                loop {
                    bytes.clear();
                    let n = r
                        .read_until(b'\n', &mut bytes)
                        .map_err(|e| problem(&self.key, format!("not gzip: {e}")))?;
                    if n == 0 {
                        break None;
                    }
                    if bytes.last() == Some(&b'\n') {
                        bytes.pop();
                    }
                    if !bytes.is_empty() {
                        let pos = place(&self.key, &self.shard, &bytes)?;
                        break Some(Line { pos, bytes });
                    }
                }
            }
        };
        if let (Some(l), Some(last)) = (&line, &self.last)
            && l.pos < *last
        {
            return Err(problem(
                &self.key,
                "a compacted object out of position order",
            ));
        }
        if let Some(l) = &line {
            self.last = Some(l.pos.clone());
        }
        Ok(line)
    }
}

/// A running digest of a sequence of positions (count and MD5 of the sequence), so what
/// was merged and what a part holds compare without keeping either.
#[derive(Debug, Clone, Default)]
pub struct Fingerprint {
    pub lines: u64,
    digest: Md5,
}

impl Fingerprint {
    pub fn add(&mut self, pos: &Position) {
        self.lines += 1;
        self.digest.update(pos.seq.as_str().as_bytes());
        self.digest.update(format!(":{}\n", pos.sub).as_bytes());
    }

    pub fn finish(self) -> (u64, [u8; 16]) {
        (self.lines, self.digest.finalize().into())
    }
}

/// The merge of one shard-hour.
#[derive(Debug)]
pub struct Merge {
    pending: VecDeque<ObjectName>,
    open: Vec<Cursor>,
    heads: BinaryHeap<Reverse<(Position, usize)>>,
    held: Vec<Option<Line>>,
    last: Option<Position>,
    /// Lines seen again (redelivered or already compacted copies), dropped.
    pub duplicates: u64,
}

impl Merge {
    /// A merge of `inputs` (one shard's objects of one hour prefix).
    pub fn new(mut inputs: Vec<ObjectName>) -> Self {
        inputs.sort_by(|a, b| a.first.cmp(&b.first).then_with(|| a.key.cmp(&b.key)));
        Self {
            pending: inputs.into(),
            open: Vec::new(),
            heads: BinaryHeap::new(),
            held: Vec::new(),
            last: None,
            duplicates: 0,
        }
    }

    /// Every object, in the order [`Merge::wants`] asks for them (so they can be fetched
    /// ahead).
    pub fn order(&self) -> Vec<ObjectName> {
        self.pending.iter().cloned().collect()
    }

    /// The object the merge must be given next ([`Merge::supply`]) before it can go on.
    pub fn wants(&self) -> Option<&ObjectName> {
        let next = self.pending.front()?;
        match self.heads.peek() {
            Some(Reverse((pos, _))) if next.first > pos.seq => None,
            _ => Some(next),
        }
    }

    /// The body of [`Merge::wants`]'s object.
    pub fn supply(&mut self, body: Vec<u8>) -> Result<(), Unsafe> {
        let Some(name) = self.pending.pop_front() else {
            return Ok(());
        };
        let mut cursor = Cursor::open(&name, body)?;
        let i = self.open.len();
        let head = cursor.next()?;
        if let Some(l) = &head {
            if l.pos.seq < name.first {
                return Err(problem(&name.key, "a line before the first its name says"));
            }
            self.heads.push(Reverse((l.pos.clone(), i)));
        }
        self.open.push(cursor);
        self.held.push(head);
        Ok(())
    }

    /// The next line in position order. Call only while [`Merge::wants`] is `None`.
    pub fn step(&mut self) -> Result<Step, Unsafe> {
        let Some(Reverse((_, i))) = self.heads.pop() else {
            return Ok(Step::Done);
        };
        let Some(line) = self.held[i].take() else {
            return Ok(Step::Repeat);
        };
        let next = self.open[i].next()?;
        match &next {
            Some(n) => self.heads.push(Reverse((n.pos.clone(), i))),
            // Read to its end: its buffers go (a shard-hour is thousands of objects).
            None => self.open[i].source = Source::Sorted(Vec::new().into_iter()),
        }
        self.held[i] = next;
        if self.last.as_ref() == Some(&line.pos) {
            self.duplicates += 1;
            return Ok(Step::Repeat);
        }
        if let Some(last) = &self.last
            && line.pos < *last
        {
            return Err(problem(&self.open[i].key, "a line before its name's range"));
        }
        self.last = Some(line.pos.clone());
        Ok(Step::Line(line))
    }
}

/// What [`Merge::step`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A line not written before.
    Line(Line),
    /// A copy of the line before it (dropped).
    Repeat,
    /// Every object is read.
    Done,
}

/// One compacted object, ready to put.
#[derive(Debug, Clone)]
pub struct Part {
    pub key: String,
    pub body: Vec<u8>,
    /// Lines and the digest of their positions, as merged.
    pub merged: (u64, [u8; 16]),
}

/// Cuts the merged lines of `shard` into parts of about `part_bytes` of lines (so at most
/// that much compressed, whatever the data; never between two lines of one sequence number,
/// so part keys differ).
#[derive(Debug)]
pub struct Parts {
    hour_prefix: String,
    shard: String,
    part_bytes: usize,
    gz: Option<GzEncoder<Vec<u8>>>,
    /// Bytes of lines in the part being written.
    bytes: usize,
    range: Option<(SeqNo, SeqNo)>,
    fingerprint: Fingerprint,
    /// Parts finished and not yet taken.
    pub ready: Vec<Part>,
    /// Bytes of lines cut into parts so far (uncompressed).
    pub line_bytes: u64,
}

impl Parts {
    pub fn new(hour_prefix: &str, shard: &str, part_bytes: usize) -> Self {
        Self {
            hour_prefix: hour_prefix.to_owned(),
            shard: shard.to_owned(),
            part_bytes: part_bytes.max(1),
            gz: None,
            bytes: 0,
            range: None,
            fingerprint: Fingerprint::default(),
            ready: Vec::new(),
            line_bytes: 0,
        }
    }

    pub fn push(&mut self, line: &Line) -> std::io::Result<()> {
        let full = self.bytes >= self.part_bytes;
        let new_seq = self
            .range
            .as_ref()
            .is_some_and(|(_, last)| *last != line.pos.seq);
        if full && new_seq {
            self.cut()?;
        }
        let gz = self
            .gz
            .get_or_insert_with(|| GzEncoder::new(Vec::new(), Compression::default()));
        gz.write_all(&line.bytes)?;
        gz.write_all(b"\n")?;
        self.bytes += line.bytes.len() + 1;
        self.line_bytes += line.bytes.len() as u64 + 1;
        self.fingerprint.add(&line.pos);
        match &mut self.range {
            Some((_, last)) => *last = line.pos.seq.clone(),
            None => self.range = Some((line.pos.seq.clone(), line.pos.seq.clone())),
        }
        Ok(())
    }

    /// Finishes the part being written (if any).
    pub fn cut(&mut self) -> std::io::Result<()> {
        let (Some(gz), Some((first, last))) = (self.gz.take(), self.range.take()) else {
            return Ok(());
        };
        self.bytes = 0;
        self.ready.push(Part {
            key: compacted_key(&self.hour_prefix, &self.shard, &first, &last),
            body: gz.finish()?,
            merged: std::mem::take(&mut self.fingerprint).finish(),
        });
        Ok(())
    }
}

/// Checks a part as read back from the bucket: its lines are its shard's, in order, and
/// exactly the positions merged into it.
pub fn verify(part: &Part, shard: &str, stored: &[u8]) -> Result<(), Unsafe> {
    let lines = lines_of(&part.key, shard, stored)?;
    let mut fp = Fingerprint::default();
    for w in lines.windows(2) {
        if w[0].pos >= w[1].pos {
            return Err(problem(
                &part.key,
                "read back out of order or with a repeat",
            ));
        }
    }
    for l in &lines {
        fp.add(&l.pos);
    }
    let got = fp.finish();
    if got != part.merged {
        return Err(problem(
            &part.key,
            format!(
                "read back {} lines, not the {} merged into it",
                got.0, part.merged.0
            ),
        ));
    }
    Ok(())
}

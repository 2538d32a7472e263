//! A view that survives the services it watches: the last report that could be read, and
//! while reads fail, which read failed, since when and how often. Nothing that observes the
//! pipeline can stop it: a failed read is shown, never returned.

use chrono::{DateTime, Utc};

use super::terminal::error_text;

/// Reads failing since `since`.
#[derive(Debug, Clone, PartialEq)]
struct Failing {
    since: DateTime<Utc>,
    reads: u64,
    /// The latest failure, with its causes.
    error: String,
}

/// The last good value of a repeated read, and the failure after it, if any.
#[derive(Debug)]
pub(super) struct Observed<T> {
    last: Option<(T, DateTime<Utc>)>,
    failing: Option<Failing>,
}

impl<T> Default for Observed<T> {
    fn default() -> Self {
        Self {
            last: None,
            failing: None,
        }
    }
}

impl<T> Observed<T> {
    /// Takes the outcome of one read at `now`.
    pub(super) fn update<E: std::error::Error + 'static>(
        &mut self,
        now: DateTime<Utc>,
        read: Result<T, E>,
    ) {
        match read {
            Ok(v) => {
                self.last = Some((v, now));
                self.failing = None;
            }
            Err(e) => {
                let error = error_text(&e);
                let f = self.failing.get_or_insert(Failing {
                    since: now,
                    reads: 0,
                    error: String::new(),
                });
                f.reads += 1;
                f.error = error;
            }
        }
    }

    /// The last value read.
    pub(super) fn last(&self) -> Option<&T> {
        self.last.as_ref().map(|(v, _)| v)
    }

    /// While reads fail: what failed, since when, and how old the value shown is.
    pub(super) fn banner(&self, now: DateTime<Utc>) -> Option<String> {
        let f = self.failing.as_ref()?;
        let secs = (now - f.since).num_seconds().max(0);
        let shown = match &self.last {
            Some((_, at)) => format!("the report below is from {}", at.format("%H:%M:%S")),
            None => "no report could be read yet".to_owned(),
        };
        Some(format!(
            "! reading the stack's state has failed since {} ({secs} s, {} {}): {}\n! {shown}; \
             the pipeline keeps running\n",
            f.since.format("%H:%M:%S"),
            f.reads,
            if f.reads == 1 { "read" } else { "reads" },
            f.error,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_000_000 + secs, 0).expect("in range")
    }

    fn fail(msg: &str) -> Result<u32, std::io::Error> {
        Err(std::io::Error::other(msg.to_owned()))
    }

    #[track_caller]
    fn check(o: &Observed<u32>, now: i64, last: Option<u32>, banner: Option<&[&str]>) {
        assert_eq!(o.last().copied(), last);
        let b = o.banner(at(now));
        match banner {
            None => assert_eq!(b, None),
            Some(parts) => {
                let b = b.expect("a banner");
                for p in parts {
                    assert!(b.contains(p), "{p:?} not in {b:?}");
                }
            }
        }
    }

    #[test]
    fn a_failed_read_keeps_the_last_report_and_says_since_when() {
        let mut o = Observed::default();
        check(&o, 0, None, None);
        o.update(at(0), fail("s3:ListObjectsV2 failed: timeout"));
        check(
            &o,
            5,
            None,
            Some(&[
                "since",
                "(5 s, 1 read)",
                "ListObjectsV2",
                "no report could be read yet",
            ]),
        );
        o.update(at(10), Ok::<_, std::io::Error>(7));
        check(&o, 10, Some(7), None);
        o.update(at(12), fail("first"));
        o.update(at(14), fail("second"));
        // Since the first failure; the latest error; the value shown is the last good one.
        check(
            &o,
            20,
            Some(7),
            Some(&["(8 s, 2 reads)", "second", "the report below is from"]),
        );
        o.update(at(21), Ok::<_, std::io::Error>(8));
        check(&o, 21, Some(8), None);
    }
}

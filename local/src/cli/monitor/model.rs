//! What the monitor shows, as data: rates per interval from successive snapshots, the
//! function's latency and last problem from its own log lines, "done" split by outcome.
//! Pure: snapshots, lines and times come in.

use std::collections::VecDeque;

use crate::function_log::{self, Entry};
use crate::status::Report;

/// How much history the monitor keeps (sparklines, latency percentiles).
pub const HISTORY_SECS: i64 = 300;

/// One report and when it was read.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub at_ms: i64,
    pub report: Report,
}

/// Per-second rates between two snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub seconds: f64,
    pub read: f64,
    pub counted: f64,
    pub rejected: f64,
    pub given_up_batches: f64,
    pub errors: f64,
}

impl Rates {
    /// The rates from `a` to `b` (zero when no time passed or a counter restarted).
    pub fn between(a: &Snapshot, b: &Snapshot) -> Self {
        let seconds = (b.at_ms - a.at_ms) as f64 / 1000.0;
        if seconds <= 0.0 {
            return Self::default();
        }
        let per = |x: u64, y: u64| y.saturating_sub(x) as f64 / seconds;
        let (m0, m1) = (&a.report.mapping, &b.report.mapping);
        let (f0, f1) = (&a.report.function, &b.report.function);
        Self {
            seconds,
            read: per(m0.records_read, m1.records_read),
            counted: per(f0.counted, f1.counted),
            rejected: per(f0.rejected, f1.rejected),
            given_up_batches: per(m0.batches_failed, m1.batches_failed),
            errors: per(m0.function_errors, m1.function_errors),
        }
    }
}

/// What the function's log lines say besides its totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogSignals {
    /// (time in epoch ms, batch duration in ms) of each "batch processed" line.
    pub durations: VecDeque<(i64, u64)>,
    /// The latest WARN or ERROR line: its time, then its message and every field (the
    /// error chain), the cause first.
    pub last_problem: Option<(String, String)>,
    pub problems: u64,
}

impl LogSignals {
    /// Takes one line of the function's log.
    pub fn add(&mut self, line: &str) {
        match function_log::read(line) {
            Entry::Batch(b) => {
                if let (Some(at), Some(d)) = (b.at_ms, b.duration_ms) {
                    self.durations.push_back((at, d));
                }
            }
            Entry::Problem(p) => {
                self.problems += 1;
                self.last_problem = Some((p.time, p.what));
            }
            Entry::Other => {}
        }
    }

    /// Takes one of this process's own log lines (tracing's text format: time, level,
    /// target, message, fields): a WARN or ERROR is a problem.
    pub fn add_own(&mut self, line: &str) {
        let mut parts = line.split_whitespace();
        let (Some(time), Some(level)) = (parts.next(), parts.next()) else {
            return;
        };
        if matches!(level, "WARN" | "ERROR") {
            self.problems += 1;
            let rest: Vec<&str> = parts.collect();
            self.last_problem = Some((time.to_owned(), rest.join(" ")));
        }
    }

    /// Drops what is older than the history kept.
    pub fn trim(&mut self, now_ms: i64) {
        while self
            .durations
            .front()
            .is_some_and(|(t, _)| *t < now_ms - HISTORY_SECS * 1000)
        {
            self.durations.pop_front();
        }
    }

    /// The p50 and p99 batch duration (ms) of the last `secs` seconds, with how many.
    pub fn latency(&self, now_ms: i64, secs: i64) -> Option<(u64, u64, usize)> {
        self.latency_in(now_ms - secs * 1000, now_ms)
    }

    /// The p50 and p99 batch duration (ms) of the batches logged after `from_ms` and up to
    /// `to_ms`, with how many.
    pub fn latency_in(&self, from_ms: i64, to_ms: i64) -> Option<(u64, u64, usize)> {
        let mut d: Vec<u64> = self
            .durations
            .iter()
            .filter(|(t, _)| *t > from_ms && *t <= to_ms)
            .map(|(_, d)| *d)
            .collect();
        if d.is_empty() {
            return None;
        }
        d.sort_unstable();
        let at = |q: f64| d[((d.len() - 1) as f64 * q).floor() as usize];
        Some((at(0.5), at(0.99), d.len()))
    }

    /// The p99 batch duration (ms) in each of [`spans`]' spans (0 where none ran).
    pub fn p99_per_span(&self, now_ms: i64, columns: usize) -> Vec<u64> {
        spans(now_ms, columns)
            .map(|(a, b)| self.latency_in(a, b).map_or(0, |(_, p99, _)| p99))
            .collect()
    }
}

/// `columns` equal spans (start, end] that cover the history kept, up to `now_ms`, oldest
/// first: a sparkline's columns, so that its width always shows the same minutes.
pub fn spans(now_ms: i64, columns: usize) -> impl Iterator<Item = (i64, i64)> {
    let n = i64::try_from(columns.max(1)).unwrap_or(i64::MAX);
    let width = (HISTORY_SECS * 1000 / n).max(1);
    (0..n)
        .rev()
        .map(move |k| (now_ms - (k + 1) * width, now_ms - k * width))
}

/// The monitor's state: the snapshots of the last minutes and the log signals.
#[derive(Debug, Default)]
pub struct History {
    pub snapshots: VecDeque<Snapshot>,
    pub logs: LogSignals,
}

impl History {
    /// Adds a snapshot; keeps [`HISTORY_SECS`] of them.
    pub fn push(&mut self, s: Snapshot) {
        let now = s.at_ms;
        self.snapshots.push_back(s);
        while self
            .snapshots
            .front()
            .is_some_and(|f| f.at_ms < now - HISTORY_SECS * 1000)
        {
            self.snapshots.pop_front();
        }
        self.logs.trim(now);
    }

    /// The rates over the last interval.
    pub fn rates(&self) -> Rates {
        let n = self.snapshots.len();
        match (n.checked_sub(2), n.checked_sub(1)) {
            (Some(a), Some(b)) => Rates::between(&self.snapshots[a], &self.snapshots[b]),
            _ => Rates::default(),
        }
    }

    /// Records read per second in each of [`spans`]' spans, for a sparkline: the counter
    /// is interpolated between the snapshots, a span is measured over the part of it they
    /// cover, and one they do not cover reads 0.
    pub fn read_per_span(&self, now_ms: i64, columns: usize) -> Vec<u64> {
        let (Some(first), Some(last)) = (self.snapshots.front(), self.snapshots.back()) else {
            return vec![0; columns];
        };
        spans(now_ms, columns)
            .map(|(a, b)| {
                let (a, b) = (a.max(first.at_ms), b.min(last.at_ms));
                if b <= a {
                    return 0;
                }
                let read = (self.read_at(b) - self.read_at(a)).max(0.0);
                (read * 1000.0 / (b - a) as f64).round() as u64
            })
            .collect()
    }

    /// Records read by `t` (within the snapshots), interpolated between the two around it.
    fn read_at(&self, t: i64) -> f64 {
        let read = |s: &Snapshot| s.report.mapping.records_read as f64;
        let after = self.snapshots.partition_point(|s| s.at_ms < t);
        match (
            after.checked_sub(1).map(|i| &self.snapshots[i]),
            self.snapshots.get(after),
        ) {
            (Some(a), Some(b)) if b.at_ms > a.at_ms => {
                let f = (t - a.at_ms) as f64 / (b.at_ms - a.at_ms) as f64;
                read(a) + (read(b) - read(a)) * f
            }
            (_, Some(b)) => read(b),
            (Some(a), None) => read(a),
            (None, None) => 0.0,
        }
    }

    /// The latest snapshot.
    pub fn latest(&self) -> Option<&Snapshot> {
        self.snapshots.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Counters, FunctionTotals};

    fn snap(at_ms: i64, read: u64, counted: u64) -> Snapshot {
        Snapshot {
            at_ms,
            report: Report {
                stack: "dev".into(),
                endpoint: "e".into(),
                mapping: Counters {
                    records_read: read,
                    ..Counters::default()
                },
                function: FunctionTotals {
                    counted,
                    ..FunctionTotals::default()
                },
                failed_batches_waiting: Some(0),
                failed_batches_bucket: "b".into(),
                alarms: Default::default(),
                aggregates_in_table: Some(0),
                latest: Vec::new(),
                unread: Vec::new(),
                last_problem: None,
            },
        }
    }

    #[test]
    fn rates_are_per_second_over_the_last_interval() {
        let mut h = History::default();
        h.push(snap(0, 0, 0));
        h.push(snap(2_000, 500, 400));
        h.push(snap(4_000, 1_500, 1_400));
        let r = h.rates();
        assert_eq!((r.read, r.counted, r.seconds), (500.0, 500.0, 2.0));
        // A restarted counter is no negative rate.
        h.push(snap(6_000, 10, 10));
        assert_eq!(h.rates().read, 0.0);
        // Old snapshots go.
        h.push(snap(4_000 + HISTORY_SECS * 1000 + 1, 10, 10));
        assert!(h.snapshots.front().is_some_and(|s| s.at_ms > 4_000));
    }

    #[test]
    fn latency_and_the_last_problem_come_from_the_log_lines() {
        let mut l = LogSignals::default();
        for (i, d) in [10, 20, 30, 40, 1000].iter().enumerate() {
            l.add(&format!(
                r#"{{"timestamp":"2026-12-07T01:00:0{i}Z","level":"INFO","message":"batch processed","duration_ms":{d}}}"#
            ));
        }
        l.add(r#"{"timestamp":"2026-12-07T01:00:05Z","level":"WARN","message":"archive write failed","error":"service error: NoSuchBucket: The specified bucket does not exist"}"#);
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T01:00:06Z")
            .expect("time")
            .timestamp_millis();
        assert_eq!(l.latency(now, 60), Some((30, 40, 5)));
        assert_eq!(l.problems, 1);
        let (time, what) = l.last_problem.clone().expect("a problem");
        assert_eq!(time, "2026-12-07T01:00:05Z");
        assert_eq!(
            what,
            "archive write failed: error=service error: NoSuchBucket: The specified bucket \
             does not exist"
        );
        assert_eq!(l.latency(now + 120_000, 60), None);
        // This process's own warnings (tracing's text format) are problems too.
        l.add_own("2026-12-07T01:00:07.1Z  WARN local::esm::drive: function error error=the invocation failed: Unhandled");
        l.add_own("2026-12-07T01:00:08.1Z  INFO local::esm: started");
        assert_eq!(l.problems, 2);
        assert_eq!(
            l.last_problem,
            Some((
                "2026-12-07T01:00:07.1Z".to_owned(),
                "local::esm::drive: function error error=the invocation failed: Unhandled"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn the_sparklines_cover_the_history_whatever_their_width() {
        // 300 records/s for the last 100 s, a snapshot every 2 s.
        let mut h = History::default();
        let now = 1_000_000;
        for i in 0..=50 {
            h.push(snap(now - 100_000 + i * 2_000, 1_000 + 600 * i as u64, 0));
        }
        for columns in [40, 80] {
            let read = h.read_per_span(now, columns);
            assert_eq!(read.len(), columns);
            // The last third of the history saw the traffic; before it, nothing was read.
            let width = HISTORY_SECS * 1000 / columns as i64;
            let since = usize::try_from((HISTORY_SECS * 1000 - 100_000) / width).expect("n");
            assert!(read[..since].iter().all(|r| *r == 0), "{columns}: {read:?}");
            assert!(
                read[since..].iter().all(|r| *r == 300),
                "{columns}: {read:?}"
            );
        }
        // A batch counts in the span it was logged in, not in every earlier one.
        let mut l = LogSignals::default();
        l.durations.push_back((now - 1_000, 70));
        l.durations.push_back((now - 200_000, 900));
        let p99 = l.p99_per_span(now, 30);
        assert_eq!(p99.len(), 30);
        assert_eq!(p99[29], 70);
        assert_eq!(p99.iter().filter(|v| **v > 0).count(), 2, "{p99:?}");
    }
}

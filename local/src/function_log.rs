//! The one reader of the function's log lines (JSON, one per event): its per-batch summary
//! ("batch processed") and its problems (a WARN or ERROR with its error chain). The
//! mapping's outcome counts, `status`, the monitor and the tests' oracle all read lines
//! through it. Pure: a line in, what it says out.

use std::ops::AddAssign;

/// What the function reported in its per-batch summary lines, added up (a retried batch
/// adds each time it ran). Counts are of user records (a KPL aggregate holds several).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FunctionTotals {
    pub batches: u64,
    pub counted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub time_fallbacks: u64,
    pub id_fallbacks: u64,
}

impl AddAssign for FunctionTotals {
    fn add_assign(&mut self, o: Self) {
        self.batches += o.batches;
        self.counted += o.counted;
        self.rejected += o.rejected;
        self.duplicates += o.duplicates;
        self.time_fallbacks += o.time_fallbacks;
        self.id_fallbacks += o.id_fallbacks;
    }
}

/// One "batch processed" line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// When it was logged (epoch ms), if the line says.
    pub at_ms: Option<i64>,
    /// How long the batch took, if the line says.
    pub duration_ms: Option<u64>,
    /// This batch alone (`batches` is 1).
    pub totals: FunctionTotals,
}

/// A WARN or ERROR line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Its timestamp as logged.
    pub time: String,
    /// `message: field=value …`, the error fields first (the whole chain), no spans.
    pub what: String,
}

/// What one line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Batch(Batch),
    Problem(Problem),
    /// Anything else: other INFO lines, EMF documents, text that is not JSON.
    Other,
}

/// Reads one line of the function's log.
pub fn read(line: &str) -> Entry {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return Entry::Other;
    };
    if v["message"] == "batch processed" {
        let n = |k: &str| v[k].as_u64().unwrap_or_default();
        return Entry::Batch(Batch {
            at_ms: v["timestamp"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis()),
            duration_ms: v["duration_ms"].as_u64(),
            totals: FunctionTotals {
                batches: 1,
                counted: n("counted"),
                rejected: n("rejected"),
                duplicates: n("duplicates"),
                time_fallbacks: n("time_fallbacks"),
                id_fallbacks: n("id_fallbacks"),
            },
        });
    }
    if matches!(v["level"].as_str(), Some("WARN" | "ERROR")) {
        return Entry::Problem(Problem {
            time: v["timestamp"].as_str().unwrap_or_default().to_owned(),
            what: problem(&v),
        });
    }
    Entry::Other
}

/// The summed "batch processed" lines of `lines`.
pub fn totals<'a>(lines: impl IntoIterator<Item = &'a String>) -> FunctionTotals {
    let mut sum = FunctionTotals::default();
    for line in lines {
        if let Entry::Batch(b) = read(line) {
            sum += b.totals;
        }
    }
    sum
}

/// A JSON value as text: a string without its quotes, anything else as JSON.
pub fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn problem(v: &serde_json::Value) -> String {
    let mut fields: Vec<(&String, &serde_json::Value)> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !matches!(k.as_str(), "timestamp" | "level" | "message" | "spans"))
        .collect();
    fields.sort_by_key(|(k, _)| !k.contains("error"));
    let fields: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", text(v)))
        .collect();
    format!("{}: {}", text(&v["message"]), fields.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_line_a_problem_and_anything_else() {
        let batch = r#"{"timestamp":"2026-12-07T01:00:00Z","level":"INFO","message":"batch processed","counted":7,"rejected":1,"duplicates":2,"time_fallbacks":3,"id_fallbacks":0,"duration_ms":12}"#;
        let Entry::Batch(b) = read(batch) else {
            panic!("a batch line");
        };
        assert_eq!(b.duration_ms, Some(12));
        assert_eq!(b.at_ms, Some(1_796_605_200_000));
        assert_eq!(
            b.totals,
            FunctionTotals {
                batches: 1,
                counted: 7,
                rejected: 1,
                duplicates: 2,
                time_fallbacks: 3,
                id_fallbacks: 0
            }
        );
        let warn = r#"{"timestamp":"t","level":"WARN","message":"archive write failed","shard":"s-1","error":"service error: NoSuchBucket"}"#;
        assert_eq!(
            read(warn),
            Entry::Problem(Problem {
                time: "t".into(),
                what: "archive write failed: error=service error: NoSuchBucket shard=s-1".into()
            })
        );
        for other in [
            "not json",
            r#"{"level":"INFO","message":"other"}"#,
            r#"{"_aws":{},"RecordsProcessed":3}"#,
        ] {
            assert_eq!(read(other), Entry::Other, "{other}");
        }
        let lines = [batch.to_owned(), "x".to_owned(), batch.to_owned()];
        let t = totals(&lines);
        assert_eq!((t.batches, t.counted, t.rejected), (2, 14, 2));
    }
}

//! `logs`, read like `aws logs tail`: one line per event (time, level, message, fields), a
//! function's EMF metrics folded to their values, `--since`, and `--follow` for the local
//! stack's log files or a deployed stack's CloudWatch Logs.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use super::Target;
use crate::error::Error;
use crate::status_deployed;
use crate::tail::Tail;

/// What `logs` shows.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub lines: usize,
    pub previous: bool,
    /// Only lines of the last this many minutes.
    pub minutes: Option<u32>,
    pub follow: bool,
}

use crate::function_log::text;

/// An EMF document's metric values, by the names its `_aws` block declares.
fn metrics(m: &Map<String, Value>) -> Vec<String> {
    let names = m
        .get("_aws")
        .and_then(|a| a["CloudWatchMetrics"].as_array())
        .into_iter()
        .flatten()
        .flat_map(|d| d["Metrics"].as_array().into_iter().flatten())
        .filter_map(|n| n["Name"].as_str());
    names
        .filter_map(|n| Some(format!("{n}={}", m.get(n)?)))
        .collect()
}

/// One JSON log line as a readable one: time, level, message, then the other fields; an
/// EMF line as `EMF` and its metric values; Lambda's span list as its request id.
pub fn readable(line: &str) -> String {
    let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(line) else {
        return line.to_owned();
    };
    let mut take = |k: &str| m.remove(k).as_ref().map(text).unwrap_or_default();
    let (time, level, message) = (take("timestamp"), take("level"), take("message"));
    let time = millis(time);
    if m.contains_key("_aws") {
        return format!("{time} {level:<5} EMF {}", metrics(&m).join(" "));
    }
    if let Some(spans) = m.remove("spans") {
        let request = spans
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|s| s["requestId"].as_str());
        if let Some(r) = request {
            m.insert("request".into(), Value::String(r.to_owned()));
        }
    }
    let fields: Vec<String> = m
        .into_iter()
        .map(|(k, v)| format!("{k}={}", text(&v)))
        .collect();
    format!("{time} {level:<5} {message} {}", fields.join(" "))
        .trim_end()
        .to_owned()
}

/// An event's time at millisecond precision, as `aws logs tail` prints it, so that lines
/// sort by their text (the runtime writes milliseconds, tracing microseconds); text that is
/// no RFC 3339 time stays as it is.
fn millis(time: String) -> String {
    chrono::DateTime::parse_from_rfc3339(&time).map_or(time, |t| {
        t.to_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

/// Whether a readable line is at or after `cutoff` (RFC 3339 text sorts by time).
fn since(line: &str, cutoff: Option<&str>) -> bool {
    cutoff.is_none_or(|c| line.get(..c.len()).is_some_and(|t| t >= c))
}

/// The lines the log files of `dir` gained, readable, in time order (lines start with their
/// RFC 3339 time: sorting merges the execution environments' files).
fn gained(tail: &mut Tail, dir: &Path) -> Vec<String> {
    let mut lines: Vec<String> = tail.gained(dir).lines.iter().map(|l| readable(l)).collect();
    lines.sort();
    lines
}

/// Runs `logs` against the target.
pub async fn run(target: &Target, o: Options) -> Result<(), Error> {
    if target.deployed.is_some() {
        if o.previous {
            return Err(Error::Usage(
                "--previous reads the local stack's logs of the run before".into(),
            ));
        }
        return deployed(target, o).await;
    }
    let dir = target
        .dir
        .join(if o.previous { "logs.previous" } else { "logs" });
    if !dir.is_dir() {
        return Err(Error::Io {
            path: dir,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no logs yet"),
        });
    }
    let cutoff = o.minutes.map(|m| {
        (chrono::Utc::now() - chrono::Duration::minutes(i64::from(m)))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    });
    let mut tail = Tail::default();
    let mut all = gained(&mut tail, &dir);
    all.retain(|l| since(l, cutoff.as_deref()));
    for line in &all[all.len().saturating_sub(o.lines)..] {
        println!("{line}");
    }
    if !o.follow {
        return Ok(());
    }
    // Until Ctrl-C (SIGINT's default: the process ends).
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for line in gained(&mut tail, &dir) {
            println!("{line}");
        }
    }
}

/// A deployed stack's CloudWatch Logs lines; `--follow` asks again every 5 s for the last
/// minute, and prints the lines the ask before did not return.
async fn deployed(target: &Target, o: Options) -> Result<(), Error> {
    let op = target.operated().await?;
    let mut seen = std::collections::BTreeSet::new();
    let mut minutes = o.minutes.unwrap_or(15);
    loop {
        let lines = status_deployed::logs(&op, minutes, o.lines).await?;
        for line in &lines {
            if !seen.contains(line) {
                println!("{}", readable(line));
            }
        }
        // Only the last ask's lines: the next one (a minute back, 5 s on) repeats no older.
        seen = lines.into_iter().collect();
        if !o.follow {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        minutes = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_folds_to_its_metric_values() {
        let emf = r#"{"timestamp":"2026-12-07T01:59:49.054Z","level":"INFO","_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"RecordsProcessed","Unit":"Count"},{"Name":"BatchDuration","Unit":"Milliseconds"}]}]},"RecordsProcessed":100,"BatchDuration":73.25}"#;
        assert_eq!(
            readable(emf),
            "2026-12-07T01:59:49.054Z INFO  EMF RecordsProcessed=100 BatchDuration=73.25"
        );
    }

    #[test]
    fn a_line_keeps_its_fields_and_its_request_id() {
        let line = r#"{"timestamp":"2026-12-07T01:59:49Z","level":"WARN","message":"archive write failed","error":"NoSuchBucket","spans":[{"requestId":"r-1","name":"Lambda runtime invoke"}]}"#;
        assert_eq!(
            readable(line),
            "2026-12-07T01:59:49.000Z WARN  archive write failed error=NoSuchBucket request=r-1"
        );
        assert_eq!(readable("REPORT RequestId: x"), "REPORT RequestId: x");
        let tracing = r#"{"timestamp":"2026-12-07T01:59:49.279353Z","level":"INFO","message":"batch processed"}"#;
        assert_eq!(
            readable(tracing),
            "2026-12-07T01:59:49.279Z INFO  batch processed"
        );
    }

    #[test]
    fn since_keeps_lines_at_or_after_the_cutoff() {
        let c = Some("2026-12-07T01:00:00.000Z");
        assert!(since("2026-12-07T01:00:00.000Z INFO x", c));
        assert!(!since("2026-12-07T00:59:59.999Z INFO x", c));
        assert!(since("anything", None));
    }
}

//! What the commands that look at a stack print: `up`'s live view, `status`, `watch`,
//! `query`, `rejected`, `logs`. A terminal gets a redrawn screen; anything else gets a new
//! report only when something changed, and never an escape code.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::producer;
use crate::stack::{LocalStack, UpOptions};
use crate::state::write_atomic;
use crate::status::{self, AggregateView, Counters, Report};
use crate::status_deployed;

use super::observe::Observed;
use super::{Target, times};

/// The mapping counters `up` saves for the other commands.
fn saved_counters(dir: &Path) -> Counters {
    std::fs::read_to_string(dir.join("counters.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Shows `screen`: redrawn in place on a terminal; otherwise printed when it changed.
struct Screen {
    tty: bool,
    last: Option<String>,
}

impl Screen {
    fn new() -> Self {
        Self {
            tty: std::io::stdout().is_terminal(),
            last: None,
        }
    }

    fn show(&mut self, screen: String, footer: &str) {
        if self.tty {
            print!("\x1b[2J\x1b[H{screen}{footer}");
        } else if self.last.as_ref() != Some(&screen) {
            println!("{screen}");
        }
        self.last = Some(screen);
    }
}

/// Ctrl-C (SIGINT) or SIGTERM, listened for from creation on, so a signal that arrives
/// while a report is being read is not lost.
struct Stop {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Stop {
    fn new() -> Result<Self, Error> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt()).map_err(Error::io("SIGINT handler"))?,
            term: signal(SignalKind::terminate()).map_err(Error::io("SIGTERM handler"))?,
        })
    }

    /// Waits `every`; false once a stop signal came.
    async fn tick(&mut self, every: Duration) -> bool {
        tokio::select! {
            _ = self.int.recv() => false,
            _ = self.term.recv() => false,
            _ = tokio::time::sleep(every) => true,
        }
    }
}

/// `up`: the stack, its exports and outputs, demo data, then a live view until Ctrl-C.
pub async fn up(
    target: &Target,
    opts: UpOptions,
    demo: u64,
    rate: u64,
    exit: bool,
) -> Result<(), Error> {
    let local = LocalStack::up(&opts).await?;
    println!(
        "local stack '{}' is up at {} (pid {})",
        target.stack,
        local.emulator.endpoint,
        std::process::id()
    );
    println!("point the AWS CLI (v1 or v2) at it with:\n");
    print!("{}", local.exports());
    println!();
    for (k, v) in &local.deployed.outputs {
        println!("  {k:<24} {v}");
    }
    println!();
    if demo > 0 {
        let stream = local
            .deployed
            .output(stackgen::stack::outputs::DATA_STREAM_NAME)
            .to_owned();
        let now = chrono::Utc::now().timestamp_millis();
        let records = producer::samples(demo as usize, now as u64, now, 120);
        super::send(&local.clients, &stream, &records, rate).await?;
    }
    let mut screen = Screen::new();
    let mut stop = Stop::new()?;
    let mut tally = status::LogTally::default();
    let mut observed = Observed::default();
    let footer = "\n(Ctrl-C stops the stack; `cargo run -p local -- send` adds data)\n";
    loop {
        let counters = local.counters();
        if let Ok(t) = serde_json::to_string(&counters) {
            let _ = write_atomic(&local.state_dir.join("counters.json"), &t);
        }
        let totals = tally.update(&local.state_dir.join("logs"));
        let read = status::report(&local.clients, &local.deployed, counters, totals).await;
        observed.update(chrono::Utc::now(), read);
        screen.show(shown(&observed), footer);
        if exit && counters.records_done >= demo {
            break;
        }
        if !stop.tick(Duration::from_secs(2)).await {
            break;
        }
    }
    let c = local.counters();
    local.down().await;
    println!(
        "stopped '{}': {} records read, {} done",
        target.stack, c.records_read, c.records_done
    );
    Ok(())
}

async fn report(target: &Target, tally: &mut status::LogTally) -> Result<Report, Error> {
    let (c, s) = target.connect().await?;
    let totals = tally.update(&target.dir.join("logs"));
    status::report(&c, &s.deployed, saved_counters(&target.dir), totals).await
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(Error::json("the --json output"))?;
    println!("{text}");
    Ok(())
}

/// `status`.
pub async fn status(target: &Target, as_json: bool, minutes: u32) -> Result<(), Error> {
    if target.deployed.is_some() {
        let r = status_deployed::report(&target.operated().await?, minutes).await?;
        if as_json {
            return json(&r);
        }
        print!("{}", status_deployed::render(&r));
        return Ok(());
    }
    let r = report(target, &mut status::LogTally::default()).await?;
    if as_json {
        json(&r)
    } else {
        print!("{}", status::render(&r));
        Ok(())
    }
}

/// What a live view shows: the latest report, and above it any read that is failing.
fn shown(observed: &Observed<Report>) -> String {
    let banner = observed.banner(chrono::Utc::now()).unwrap_or_default();
    let body = observed.last().map(status::render).unwrap_or_default();
    format!("{banner}{body}")
}

/// `watch`: keeps watching through failed reads (shown above the last report).
pub async fn watch(target: &Target, every: Duration) -> Result<(), Error> {
    if target.deployed.is_some() {
        return watch_deployed(target, every).await;
    }
    // A stack that is not running is an error at once; failures after that are shown.
    target.connect().await?;
    let mut screen = Screen::new();
    let mut stop = Stop::new()?;
    let mut tally = status::LogTally::default();
    let mut observed = Observed::default();
    loop {
        observed.update(chrono::Utc::now(), report(target, &mut tally).await);
        screen.show(shown(&observed), "\n(Ctrl-C stops watching)\n");
        if !stop.tick(every).await {
            if let Some(r) = observed.last() {
                eprintln!(
                    "stopped watching '{}': {} records done, {} rejected",
                    target.stack, r.mapping.records_done, r.function.rejected
                );
            }
            return Ok(());
        }
    }
}

/// `watch` of a deployed stack: its status over the last 15 minutes, kept up to date.
async fn watch_deployed(target: &Target, every: Duration) -> Result<(), Error> {
    let op = target.operated().await?;
    let mut screen = Screen::new();
    let mut stop = Stop::new()?;
    let mut observed = Observed::default();
    loop {
        observed.update(chrono::Utc::now(), status_deployed::report(&op, 15).await);
        let banner = observed.banner(chrono::Utc::now()).unwrap_or_default();
        let body = observed
            .last()
            .map(status_deployed::render)
            .unwrap_or_default();
        screen.show(format!("{banner}{body}"), "\n(Ctrl-C stops watching)\n");
        if !stop.tick(every).await {
            return Ok(());
        }
    }
}

/// `query`.
pub async fn query(
    target: &Target,
    entity: &str,
    from: Option<&str>,
    to: Option<&str>,
    quantiles: &[f64],
    as_json: bool,
) -> Result<(), Error> {
    let op = target.operated().await?;
    let window = op.config()?.window_secs;
    let (from, to) = times::window_range(from, to, i64::from(window))?;
    let items = status::query(
        &op.clients,
        op.output(stackgen::stack::outputs::METRICS_TABLE_NAME),
        entity,
        &from,
        &to,
    )
    .await?;
    let views: Vec<AggregateView> = items
        .iter()
        .map(|a| AggregateView::with_quantiles(a, quantiles))
        .collect();
    if as_json {
        return json(&views);
    }
    if views.is_empty() {
        println!("no aggregates for entity {entity:?} in windows from {from} to {to}");
    } else {
        println!(
            "entity {entity:?}: {} windows from {from} to {to} ({window} s each)",
            views.len()
        );
        print!("{}", status::render_views(&views));
    }
    Ok(())
}

/// One quarantined record as `rejected` prints it.
#[derive(Debug, serde::Serialize)]
struct RejectedView {
    key: String,
    arrival: String,
    shard: String,
    sequence: String,
    partition_key: String,
    reason: String,
    /// The record as it arrived: JSON text, a log message, other UTF-8 text, or
    /// `base64:…` for other bytes.
    data: String,
}

/// `rejected`.
pub async fn rejected(target: &Target, limit: usize, as_json: bool) -> Result<(), Error> {
    let op = target.operated().await?;
    let bucket = op.output(stackgen::stack::outputs::ARCHIVE_BUCKET_NAME);
    let reader = crate::archive::S3Reader {
        client: op.clients.s3.clone(),
        bucket: bucket.to_owned(),
    };
    use function::archive::ArchiveReader;
    let fail = |e: function::Error| Error::function("reading rejected/")(e);
    // Keys are time-ordered (rejected/YYYY/MM/DD/HH/…): read from the newest back.
    let keys = reader.keys("rejected/").await.map_err(fail)?;
    let mut out: Vec<RejectedView> = Vec::new();
    for key in keys.iter().rev() {
        let bytes = reader.get(key).await.map_err(fail)?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .map_err(Error::io(key.as_str()))?;
        for line in text.lines().rev() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let data = match (&v["data"], &v["message"]) {
                // Bytes that were not JSON: shown as text when they are UTF-8.
                (serde_json::Value::Null, serde_json::Value::Null) => {
                    use base64::Engine;
                    let b64 = s("dataBase64");
                    base64::engine::general_purpose::STANDARD
                        .decode(&b64)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .unwrap_or_else(|| format!("base64:{b64}"))
                }
                (serde_json::Value::Null, m) => m.as_str().unwrap_or_default().to_owned(),
                (d, _) => d.to_string(),
            };
            out.push(RejectedView {
                key: key.clone(),
                arrival: s("approximateArrivalTimestamp"),
                shard: s("shardId"),
                sequence: s("sequenceNumber"),
                partition_key: s("partitionKey"),
                reason: s("reason"),
                data,
            });
            if out.len() == limit {
                break;
            }
        }
        if out.len() == limit {
            break;
        }
    }
    if as_json {
        return json(&out);
    }
    if out.is_empty() {
        println!("no rejected records in s3://{bucket}/rejected/");
    }
    for r in &out {
        let preview: String = r.data.chars().take(80).collect();
        println!(
            "{} {} {} key={}\n  reason: {}\n  data:   {preview}",
            r.arrival, r.shard, r.sequence, r.partition_key, r.reason
        );
    }
    Ok(())
}

/// One JSON log line as a readable one: time, level, message, then the other fields.
fn readable(line: &str) -> String {
    let Ok(serde_json::Value::Object(mut m)) = serde_json::from_str::<serde_json::Value>(line)
    else {
        return line.to_owned();
    };
    let mut take = |k: &str| {
        m.remove(k)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default()
    };
    let head = format!(
        "{} {:<5} {}",
        take("timestamp"),
        take("level"),
        take("message")
    );
    if m.contains_key("_aws") {
        return format!("{head}(EMF metrics)");
    }
    let fields: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{head} {}", fields.join(" "))
}

/// `logs`.
pub fn logs(target: &Target, lines: usize, previous: bool) -> Result<(), Error> {
    let dir = target
        .dir
        .join(if previous { "logs.previous" } else { "logs" });
    let mut all: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(Error::io(&dir))?.flatten() {
        let text = std::fs::read_to_string(entry.path()).map_err(Error::io(entry.path()))?;
        all.extend(text.lines().filter(|l| !l.trim().is_empty()).map(readable));
    }
    // Lines start with their RFC 3339 time: sorting merges the environments' files.
    all.sort();
    for line in &all[all.len().saturating_sub(lines)..] {
        println!("{line}");
    }
    Ok(())
}

/// `logs --since` of a deployed stack: its CloudWatch Logs lines, one readable line each.
pub async fn deployed_logs(target: &Target, lines: usize, minutes: u32) -> Result<(), Error> {
    let op = target.operated().await?;
    for line in status_deployed::logs(&op, minutes, lines).await? {
        println!("{}", readable(&line));
    }
    Ok(())
}

//! What the commands that look at a stack print: `up`'s live view, `status`, `watch`,
//! `query`. A terminal gets a redrawn screen; anything else gets a new
//! report only when something changed, and never an escape code.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::producer;
use crate::stack::{LocalStack, UpOptions};
use crate::state::write_atomic;
use crate::status::{self, AggregateView, Report, Tally};
use crate::status_deployed;
use crate::tail::Tail;

use super::monitor;
use super::observe::Observed;
use super::{Target, times};

/// Where `up` keeps the exports that point the AWS CLI at its emulator (`env` prints them).
const EXPORTS: &str = "exports.sh";

/// `env`: the running local stack's exports and outputs, as shell lines
/// (`eval "$(cargo run -q -p local -- env)"`).
pub fn env(target: &Target) -> Result<(), Error> {
    let state = crate::state::StateFile::load(&target.dir, &target.stack)?;
    print!(
        "{}",
        crate::stack::exports(&state.endpoint, &state.deployed.region)
    );
    for (k, v) in &state.deployed.outputs {
        println!("# {k} {v}");
    }
    Ok(())
}

/// The mapping's tally `up` saves for the other commands (one moment of it, every 2 s).
fn saved_tally(dir: &Path) -> Tally {
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
pub(super) struct Stop {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Stop {
    pub(super) fn new() -> Result<Self, Error> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt()).map_err(Error::io("SIGINT handler"))?,
            term: signal(SignalKind::terminate()).map_err(Error::io("SIGTERM handler"))?,
        })
    }

    /// Waits `every`; false once a stop signal came.
    pub(super) async fn tick(&mut self, every: Duration) -> bool {
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
    write_atomic(&local.state_dir.join(EXPORTS), &local.exports())?;
    println!(
        "local stack '{}' is up at {} (pid {})",
        target.stack,
        local.emulator.endpoint,
        std::process::id()
    );
    println!(
        "point the AWS CLI (v1 or v2) at it with (kept in {}; `{}` prints them again):\n",
        local.state_dir.join(EXPORTS).display(),
        crate::state::command(&target.dir, &target.stack, "env")
    );
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
        super::send::records(&local.clients, &stream, &records, rate).await?;
    }
    let mut stop = Stop::new()?;
    let mut running = Running { local: &local };
    if std::io::stdout().is_terminal() && !exit {
        // The mapping's own warnings go to a file of their own folder while the view runs.
        let own = monitor::own_log(&local.state_dir, "up.log")?;
        let watched = monitor::Watched {
            stack: &target.stack,
            endpoint: &local.emulator.endpoint,
            logs: Some(&local.state_dir.join("logs")),
            every: Duration::from_secs(2),
            keys: "q: leave this view (the stack keeps running)   Ctrl-C: stop the stack",
            own_logs: Some(&own),
        };
        let mut screen = monitor::model::History::default();
        if monitor::run(watched, &mut running, &mut screen, &mut stop).await? == monitor::Exit::Quit
        {
            println!(
                "left the view; the stack '{}' keeps running at {} (`{}` shows it again; \
                 Ctrl-C stops it)",
                target.stack,
                local.emulator.endpoint,
                crate::state::command(&target.dir, &target.stack, "watch")
            );
            // `status` and `watch` read the tally `up` saves: keep saving it.
            while stop.tick(Duration::from_secs(2)).await {
                save_tally(&local);
            }
        }
        let c = local.counters();
        local.down().await;
        println!(
            "stopped '{}': {} records read, {} done",
            target.stack, c.records_read, c.records_done
        );
        return Ok(());
    }
    let mut screen = Screen::new();
    let mut observed = Observed::default();
    let footer = format!(
        "\n(Ctrl-C stops the stack; `{}` adds data; `eval \"$({})\"` points the AWS CLI here)\n",
        crate::state::command(&target.dir, &target.stack, "send"),
        // Cargo's own lines go to stderr: `$(…)` takes only the exports.
        crate::state::command(&target.dir, &target.stack, "env"),
    );
    loop {
        let read = monitor::Source::read(&mut running).await;
        // What is shown decides: the demo's records are done in the report on screen.
        let done = read.as_ref().map_or(0, |r| r.mapping.records_done);
        observed.update(chrono::Utc::now(), read);
        screen.show(shown(&observed), &footer);
        if exit && done >= demo {
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

/// The running local stack's report, with the tally its `up` saved last.
async fn report(target: &Target) -> Result<Report, Error> {
    let (c, s) = target.connect().await?;
    Ok(status::report(&c, &s.deployed, saved_tally(&target.dir)).await)
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
    let mut r = report(target).await?;
    r.last_problem = last_problem(&target.dir.join("logs"));
    if as_json {
        json(&r)
    } else {
        print!("{}", status::render(&r));
        Ok(())
    }
}

/// The latest WARN or ERROR the function logged, with its error chain.
fn last_problem(logs: &Path) -> Option<crate::function_log::Problem> {
    Tail::default()
        .gained(logs)
        .lines
        .iter()
        .filter_map(|l| match crate::function_log::read(l) {
            crate::function_log::Entry::Problem(p) => Some(p),
            _ => None,
        })
        .next_back()
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
    let (_, state) = target.connect().await?;
    let mut stop = Stop::new()?;
    if std::io::stdout().is_terminal() {
        let own = monitor::own_log(&target.dir, "watch.log")?;
        let watched = monitor::Watched {
            stack: &target.stack,
            endpoint: &state.endpoint,
            logs: Some(&target.dir.join("logs")),
            every,
            keys: "q or Ctrl-C: stop watching (the stack keeps running)",
            own_logs: Some(&own),
        };
        let mut source = Watching { target };
        let mut screen = monitor::model::History::default();
        monitor::run(watched, &mut source, &mut screen, &mut stop).await?;
        eprintln!(
            "stopped watching '{}'; the stack keeps running (Ctrl-C in its `up`'s terminal \
             stops it)",
            target.stack
        );
        return Ok(());
    }
    let mut screen = Screen::new();
    let mut observed = Observed::default();
    loop {
        observed.update(chrono::Utc::now(), report(target).await);
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

/// `watch`'s look at the running local stack.
struct Watching<'a> {
    target: &'a Target,
}

impl monitor::Source for Watching<'_> {
    type Report = Report;
    async fn read(&mut self) -> Result<Report, Error> {
        report(self.target).await
    }
}

/// `up`'s look at the stack it runs (its tally saved for the other commands).
struct Running<'a> {
    local: &'a LocalStack,
}

impl monitor::Source for Running<'_> {
    type Report = Report;
    async fn read(&mut self) -> Result<Report, Error> {
        let tally = save_tally(self.local);
        Ok(status::report(&self.local.clients, &self.local.deployed, tally).await)
    }
}

/// Saves the running mapping's tally for `status` and `watch` (one moment of it); returns it.
fn save_tally(local: &LocalStack) -> Tally {
    let tally = local.tally();
    if let Ok(t) = serde_json::to_string(&tally) {
        let _ = write_atomic(&local.state_dir.join("counters.json"), &t);
    }
    tally
}

/// `watch`'s look at a deployed stack: its last 15 minutes.
struct WatchingDeployed<'a> {
    op: &'a crate::target::Operated,
}

impl monitor::Source for WatchingDeployed<'_> {
    type Report = status_deployed::DeployedReport;
    async fn read(&mut self) -> Result<Self::Report, Error> {
        status_deployed::report(self.op, 15).await
    }
}

/// `watch` of a deployed stack: its status over the last 15 minutes, kept up to date (the
/// monitor on a terminal).
async fn watch_deployed(target: &Target, every: Duration) -> Result<(), Error> {
    let op = target.operated().await?;
    let mut stop = Stop::new()?;
    if std::io::stdout().is_terminal() {
        let function = op.output(stackgen::stack::outputs::PROCESSOR_FUNCTION_NAME);
        let endpoint = op
            .clients
            .endpoint
            .clone()
            .unwrap_or_else(|| op.clients.region.clone());
        let own = monitor::own_log(&target.dir, "watch-deployed.log")?;
        let watched = monitor::Watched {
            stack: function,
            endpoint: &endpoint,
            logs: None,
            every,
            keys: "q or Ctrl-C: stop watching",
            own_logs: Some(&own),
        };
        let mut source = WatchingDeployed { op: &op };
        let mut screen = monitor::deployed::DeployedScreen::default();
        monitor::run(watched, &mut source, &mut screen, &mut stop).await?;
        return Ok(());
    }
    let mut screen = Screen::new();
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

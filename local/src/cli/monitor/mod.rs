//! The live view on a terminal (`up`, `watch`): a ratatui screen on the alternate screen,
//! redrawn every interval from one report of the stack and the function's new log lines,
//! restored on exit. `q` leaves the view, Ctrl-C stops (in raw mode it is a key, not a
//! signal, so it is read as one).

pub mod deployed;
pub mod model;
pub mod render;
#[cfg(test)]
mod snapshots;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

use super::terminal::error_text;
use crate::error::Error;
use crate::status::Report;
use crate::tail::Tail;
use model::{History, Snapshot};
use render::{Context, Stale};

/// How the view ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `q`: leave the view.
    Quit,
    /// Ctrl-C, SIGINT or SIGTERM: stop.
    Stop,
}

/// Keys read on a thread of their own (crossterm's read blocks), until dropped.
struct Keys {
    rx: mpsc::UnboundedReceiver<Exit>,
    done: Arc<AtomicBool>,
}

impl Keys {
    fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if !event::poll(Duration::from_millis(100)).unwrap_or(false) {
                    continue;
                }
                let Ok(Event::Key(k)) = event::read() else {
                    continue;
                };
                if k.kind != KeyEventKind::Press {
                    continue;
                }
                let exit = match k.code {
                    KeyCode::Char('q') | KeyCode::Esc => Some(Exit::Quit),
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                        Some(Exit::Stop)
                    }
                    _ => None,
                };
                if let Some(e) = exit
                    && tx.send(e).is_err()
                {
                    return;
                }
            }
        });
        Self { rx, done }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// What the monitor watches.
#[derive(Debug, Clone, Copy)]
pub struct Watched<'a> {
    pub stack: &'a str,
    pub endpoint: &'a str,
    /// The function's log files (a local stack's; a deployed one's are in CloudWatch Logs).
    pub logs: Option<&'a Path>,
    pub every: Duration,
    pub keys: &'a str,
    /// This process's own log lines (the mapping's, the deploy's) go to this file while the
    /// view owns the terminal; its warnings show as problems.
    pub own_logs: Option<&'a Path>,
}

/// One look at the stack, repeated every interval.
pub trait Source {
    type Report;
    fn read(&mut self) -> impl Future<Output = Result<Self::Report, Error>>;
}

/// What a monitor keeps of the looks and the log lines, and how it draws them.
pub trait Screen {
    type Report;
    /// A look at the stack, taken at `at_ms`.
    fn push(&mut self, at_ms: i64, report: Self::Report);
    /// A line of the function's log.
    fn function_line(&mut self, _line: &str) {}
    /// A line of this process's own log (tracing's text format, colours stripped).
    fn own_line(&mut self, _line: &str) {}
    fn draw(&self, frame: &mut ratatui::Frame<'_>, ctx: &Context<'_>);
}

impl Screen for History {
    type Report = Report;
    fn push(&mut self, at_ms: i64, report: Report) {
        History::push(self, Snapshot { at_ms, report });
    }
    fn function_line(&mut self, line: &str) {
        self.logs.add(line);
    }
    fn own_line(&mut self, line: &str) {
        self.logs.add_own(line);
    }
    fn draw(&self, frame: &mut ratatui::Frame<'_>, ctx: &Context<'_>) {
        render::draw(frame, self, ctx);
    }
}

/// Shows the monitor until `q`, Ctrl-C or a stop signal; a failed look marks the screen
/// stale with its cause, and the watching goes on.
pub async fn run<S: Source, V: Screen<Report = S::Report>>(
    w: Watched<'_>,
    source: &mut S,
    screen: &mut V,
    stop: &mut super::view::Stop,
) -> Result<Exit, Error> {
    let colour = super::terminal::colour(true, std::env::var_os("NO_COLOR").as_deref());
    if let Some(path) = w.own_logs {
        super::terminal::divert(Some(path)).map_err(Error::io(path))?;
    }
    let _owned = Owned;
    // This process's own log file; only what comes from now on is read.
    let mut own = w.own_logs.map(|p| {
        let mut t = Tail::default();
        t.skip_file(p);
        (p, t)
    });
    let mut terminal = ratatui::try_init().map_err(Error::io("the terminal"))?;
    let mut keys = Keys::start();
    let mut tail = Tail::default();
    let mut stale: Option<Stale> = None;
    let exit = loop {
        let now = chrono::Utc::now();
        if let Some(dir) = w.logs {
            for line in &tail.gained(dir).lines {
                screen.function_line(line);
            }
        }
        if let Some((path, t)) = own.as_mut() {
            for line in t.gained_file(path).lines {
                screen.own_line(&super::terminal::plain(&line));
            }
        }
        match source.read().await {
            Ok(report) => {
                stale = None;
                screen.push(now.timestamp_millis(), report);
            }
            Err(e) => {
                let since = stale.as_ref().map_or(now, |s| s.since);
                stale = Some(Stale {
                    since,
                    error: error_text(&e).replace('\n', " "),
                });
            }
        }
        let ctx = Context {
            stack: w.stack,
            endpoint: w.endpoint,
            now,
            stale: stale.clone(),
            colour,
            keys: w.keys,
        };
        terminal
            .draw(|f| screen.draw(f, &ctx))
            .map_err(Error::io("the terminal"))?;
        tokio::select! {
            k = keys.rx.recv() => break k.unwrap_or(Exit::Stop),
            go_on = stop.tick(w.every) => if !go_on { break Exit::Stop },
        }
    };
    Ok(exit)
}

/// `<dir>/own-logs/<name>`, where this process's own log lines go while a view owns the
/// terminal (the folder is made).
pub fn own_log(dir: &Path, name: &str) -> Result<std::path::PathBuf, Error> {
    let own = dir.join("own-logs");
    std::fs::create_dir_all(&own).map_err(Error::io(&own))?;
    Ok(own.join(name))
}

/// While the view runs: on every way out (a return, an error, a panic's unwinding) the
/// terminal is restored and log lines go back to stderr.
struct Owned;

impl Drop for Owned {
    fn drop(&mut self) {
        ratatui::restore();
        let _ = super::terminal::divert(None);
    }
}

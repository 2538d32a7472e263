//! What the binary does before and after a command: the log subscriber (colour only on a
//! terminal, `NO_COLOR` honoured) and the error text a user reads.

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;

/// Whether log lines get ANSI colours: only on a terminal, and not when `NO_COLOR` is set
/// to a non-empty value (<https://no-color.org>).
pub fn colour(terminal: bool, no_color: Option<&OsStr>) -> bool {
    terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Installs the subscriber: warnings and errors of the mapping and deploy on stderr
/// (`RUST_LOG` to change). The `ansi` feature is enabled for this crate, so asking for
/// colour cannot panic; it is asked for only where [`colour`] says so.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    // `try_init`: a subscriber already installed (a test harness) is kept.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| -> Box<dyn Write> {
            match DIVERTED
                .lock()
                .ok()
                .and_then(|f| f.as_ref()?.try_clone().ok())
            {
                Some(file) => Box::new(file),
                None => Box::new(std::io::stderr()),
            }
        })
        .with_ansi(ansi)
        .try_init();
}

/// Where log lines go instead of stderr while the monitor owns the terminal.
static DIVERTED: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Sends log lines to the end of the file `to` (created if need be) instead of stderr, or
/// back to stderr with `None`: a line written over the monitor's screen would stay there.
pub fn divert(to: Option<&Path>) -> std::io::Result<()> {
    let file = match to {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        None => None,
    };
    if let Ok(mut d) = DIVERTED.lock() {
        *d = file;
    }
    Ok(())
}

/// A log line without its ANSI colour sequences.
pub fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("\x1b[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find(|c: char| c.is_ascii_alphabetic())
            .map_or(after.len(), |j| j + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

pub use crate::error::text as error_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(terminal: bool, no_color: Option<&str>, want: bool) {
        assert_eq!(
            colour(terminal, no_color.map(OsStr::new)),
            want,
            "terminal {terminal}, NO_COLOR {no_color:?}"
        );
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        check(true, None, true);
        check(true, Some(""), true);
        check(true, Some("1"), false);
        check(false, None, false);
        check(false, Some("1"), false);
    }

    #[test]
    fn colour_sequences_are_taken_out_of_a_line() {
        assert_eq!(
            plain("\x1b[2m2026\x1b[0m \x1b[33m WARN\x1b[0m x: GetRecords failed"),
            "2026  WARN x: GetRecords failed"
        );
        assert_eq!(plain("plain"), "plain");
    }

    #[test]
    fn causes_are_appended_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: inner broke")]
        struct Outer(#[source] Inner);
        #[derive(Debug, thiserror::Error)]
        #[error("inner broke")]
        struct Inner(#[source] std::io::Error);
        let e = Outer(Inner(std::io::Error::other("disk full")));
        assert_eq!(error_text(&e), "outer: inner broke: disk full");
    }
}

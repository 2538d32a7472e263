//! A long step's progress on a terminal, or one plain line without one.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner for a long step on a terminal; without one, the step as one plain line (so a
/// CI log or a pipe still says what is happening).
pub fn spinner(show: bool, msg: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("{msg} …");
        return ProgressBar::hidden();
    }
    let p = ProgressBar::new_spinner();
    p.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    p.set_message(msg.to_owned());
    p.enable_steady_tick(Duration::from_millis(120));
    p
}

//! The binary as a person at a terminal runs it: under a pseudo-terminal (util-linux
//! `script`), where stdout and stderr are terminals, log colours are asked for and the live
//! view redraws. Every test before this one had its output redirected, which is how a panic
//! in the logging set-up went unseen.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Up, run, stack_of, state};

/// `s` quoted for the shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// util-linux `script` running `line` in a new pseudo-terminal, as a person's terminal runs
/// it. The shell is pinned to `/bin/sh` (CI's: `script` runs `$SHELL`), so a test behaves
/// the same whatever shell started it; colour is not switched off.
fn script(line: &str) -> Command {
    let mut c = Command::new("script");
    c.args(["-qec", line, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env_remove("NO_COLOR");
    c
}

/// What a terminal showed (`\r\n` folded to `\n`) and whether the command succeeded.
struct Shown {
    ok: bool,
    text: String,
}

/// `local --state <state> <args>` under a pseudo-terminal, with `env` added; killed (and
/// the test failed) if it has not ended within `limit`, which only bounds a hang.
fn in_terminal(state: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Shown {
    let mut line = vec![
        quote(env!("CARGO_BIN_EXE_realtime")),
        "--state".into(),
        quote(&state.to_string_lossy()),
    ];
    line.extend(args.iter().map(|a| quote(a)));
    let mut c = script(&line.join(" "));
    c.envs(env.iter().copied()).stdin(Stdio::null());
    let shown = super::output_within(c, limit);
    let text = String::from_utf8_lossy(&shown.stdout).replace("\r\n", "\n");
    assert!(
        !text.contains("panicked"),
        "`local {}` panicked in a terminal:\n{text}",
        args.join(" ")
    );
    Shown {
        ok: shown.status.success(),
        text,
    }
}

/// An SGR colour sequence (`ESC [ <digits;…> m`), as tracing-subscriber writes levels.
fn has_colour(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|s| {
        s.strip_prefix('[').is_some_and(|rest| {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| i > 0 && rest[i..].starts_with('m'))
        })
    })
}

#[test]
fn version_and_a_stopped_stack_in_a_terminal() {
    let dir = state("tty-stopped");
    let v = in_terminal(&dir, &["--version"], &[], Duration::from_secs(30));
    assert!(v.ok, "{}", v.text);
    assert!(v.text.starts_with("realtime "), "{:?}", v.text);

    let s = in_terminal(&dir, &["status"], &[], Duration::from_secs(30));
    assert!(!s.ok, "status of a stack that never ran fails: {}", s.text);
    assert!(
        s.text.contains("the local stack 'dev' is not running"),
        "{}",
        s.text
    );
}

#[test]
fn colour_detection_reads_sgr_sequences() {
    assert!(has_colour("\x1b[32m INFO\x1b[0m"));
    assert!(has_colour("a \x1b[2;3m b"));
    assert!(!has_colour("\x1b[2J\x1b[H screen"));
    assert!(!has_colour("plain"));
}

/// `up --exit` to the end in a terminal: the live view redraws in place, log lines are
/// coloured (the path that used to panic), and the stack stops once the demo is counted.
#[test]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
fn up_runs_to_the_end_in_a_terminal() {
    let dir = state("tty-up");
    let shown = in_terminal(
        &dir,
        &[
            "up",
            "--exit",
            "--demo",
            "50",
            "--rate",
            "100",
            "--release",
            "--skip-build",
        ],
        &[("RUST_LOG", "local=info")],
        Duration::from_secs(300),
    );
    let text = &shown.text;
    assert!(shown.ok, "{text}");
    assert!(
        text.contains("\x1b[2J\x1b[H"),
        "the live view redraws in place: {text:?}"
    );
    assert!(has_colour(text), "log lines are coloured: {text:?}");
    assert!(
        text.contains("stopped 'dev': 50 records read, 50 done"),
        "{text}"
    );
}

/// `watch --interval 1` in a `rows`×`cols` pseudo-terminal for `secs` seconds (then
/// SIGINT, like Ctrl-C), started now.
fn watching(dir: &Path, rows: u16, cols: u16, secs: u32) -> std::process::Child {
    let dir = dir.to_string_lossy();
    in_pty(
        &["--state", &dir, "watch", "--interval", "1"],
        &[],
        (rows, cols),
        secs,
    )
}

/// The binary with `args` (and `env` added) in a pseudo-terminal of `size` (rows, cols)
/// for `secs` seconds (then SIGINT, like Ctrl-C), started now; killed 30 s later if it is
/// still running, which only bounds a hang.
///
/// `timeout --foreground` keeps the binary in the terminal's foreground process group, as
/// a shell at a prompt starts it. Without it `timeout` moves the binary to a group of its
/// own (unless the shell execs it as its last command, as bash does, leaving it the
/// session leader), where setting the terminal to raw mode stops it with SIGTTOU: under
/// CI's `/bin/sh` the view never drew and never ended.
pub(super) fn in_pty(
    args: &[&str],
    env: &[(&str, &str)],
    (rows, cols): (u16, u16),
    secs: u32,
) -> std::process::Child {
    let args: Vec<String> = args.iter().map(|a| quote(a)).collect();
    let line = format!(
        "stty rows {rows} cols {cols}; timeout --foreground -k 30 -s INT {secs} {} {}",
        quote(env!("CARGO_BIN_EXE_realtime")),
        args.join(" ")
    );
    script(&line)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs")
}

/// The screen such a terminal showed last: what the binary drew, parsed by a terminal
/// emulator (vt100) up to where it left the alternate screen.
pub(super) fn last_screen(child: std::process::Child, rows: u16, cols: u16) -> Vec<String> {
    let bytes = child.wait_with_output().expect("watch ends").stdout;
    let leave = b"\x1b[?1049l";
    let end = bytes
        .windows(leave.len())
        .rposition(|w| w == leave)
        .expect("the view left the alternate screen (the terminal is restored)");
    let mut parser = vt100::Parser::new(rows, cols, 0);
    parser.process(&bytes[..end]);
    let text = parser.screen().contents();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines.len() <= usize::from(rows), "{text}");
    lines
}

/// The monitor as a person sees it at 80×24 and 160×50, with a fault injected mid-run (the
/// metrics table deleted under load): within a refresh the first lines say so, with the
/// cause, and the screen is restored on exit.
#[test]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
fn the_monitor_shows_a_fault_with_its_cause_and_fits_the_terminal() {
    let dir = state("tty-monitor");
    let up = Up::start(&dir);
    assert!(
        run(&dir, &["send", "--count", "200", "--rate", "0"])
            .status
            .success()
    );
    let started = Instant::now();
    while !String::from_utf8_lossy(&run(&dir, &["status"]).stdout).contains("counted 200") {
        assert!(started.elapsed() < Duration::from_secs(90), "not counted");
        std::thread::sleep(Duration::from_millis(500));
    }
    let sizes = [(24, 80), (50, 160)];
    let views: Vec<_> = sizes
        .iter()
        .map(|(rows, cols)| watching(&dir, *rows, *cols, 20))
        .collect();
    std::thread::sleep(Duration::from_secs(4));
    // The fault, mid-run: the metrics table is deleted; the next records cannot be counted.
    let (endpoint, region, outputs) = stack_of(&dir);
    let table = outputs["MetricsTableName"]
        .as_str()
        .expect("table")
        .to_owned();
    tokio::runtime::Runtime::new().expect("rt").block_on(async {
        let c = local::clients::Clients::local(&endpoint, &region).await;
        c.dynamodb
            .delete_table()
            .table_name(&table)
            .send()
            .await
            .expect("delete table");
    });
    assert!(
        run(&dir, &["send", "--count", "100", "--rate", "0"])
            .status
            .success()
    );
    for ((rows, cols), view) in sizes.into_iter().zip(views) {
        let lines = last_screen(view, rows, cols);
        let text = lines.join("\n");
        assert!(lines[0].starts_with("realtime · stack dev"), "{text}");
        // The rest of the stack still reads: the view is partial, not stale.
        assert!(lines[0].ends_with("PARTIAL"), "{text}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("UNREAD   the metrics table: dynamodb:Scan")),
            "{text}"
        );
        // The cause, with its chain: reads of the table fail, and the function logged why
        // it could not count.
        let top: String = lines.iter().take(14).map(|l| l.trim_start()).collect();
        assert!(
            top.contains("ResourceNotFoundException"),
            "{rows}x{cols}:\n{text}"
        );
        assert!(
            top.contains("metrics update failed"),
            "{rows}x{cols}:\n{text}"
        );
        for label in ["rates", "backlog", "latency", "done", "errors", "alarms"] {
            assert!(
                lines.iter().take(14).any(|l| l.starts_with(label)),
                "{rows}x{cols}: no {label}:\n{text}"
            );
        }
        assert!(
            lines.iter().any(|l| l.starts_with("q or Ctrl-C")),
            "{rows}x{cols}: the keys line:\n{text}"
        );
    }
    up.interrupt();
}

/// The pid `up` prints on its first line (`… is up at … (pid N)`).
fn up_pid(shown: &str) -> Option<String> {
    let rest = shown.split("(pid ").nth(1)?;
    Some(rest.split(')').next()?.to_owned())
}

/// A `script` running `up`; whatever way the test ends, the stack does not outlive it (a
/// failed assertion would otherwise leave `up` holding the emulator and the CI log open).
struct Ended {
    child: std::process::Child,
    out: std::path::PathBuf,
}

impl Drop for Ended {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let shown =
            String::from_utf8_lossy(&std::fs::read(&self.out).unwrap_or_default()).into_owned();
        if let Some(pid) = up_pid(&shown) {
            // Ctrl-C first: `up` stops its emulator and functions on the way out.
            let _ = Command::new("kill").args(["-INT", &pid]).status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(30)
                && self.child.try_wait().ok().flatten().is_none()
            {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `status` until its text holds `needle` (a deadline only bounds a hang).
fn status_until(dir: &Path, needle: &str, limit: Duration) {
    let started = Instant::now();
    loop {
        let out = run(dir, &["status"]);
        if String::from_utf8_lossy(&out.stdout).contains(needle) {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "status never said {needle:?}: {out:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `q` leaves `up`'s view and the stack keeps running: records sent afterwards are counted
/// and `status` (which reads the tally `up` keeps saving) sees them; Ctrl-C then stops it.
#[test]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
fn q_leaves_the_view_and_the_stack_keeps_running_and_reporting() {
    use std::io::Write;
    let dir = state("tty-q");
    std::fs::create_dir_all(&dir).expect("state dir");
    let line = format!(
        "stty rows 30 cols 100; {} --state {} up --demo 20 --release --skip-build",
        quote(env!("CARGO_BIN_EXE_realtime")),
        quote(&dir.to_string_lossy())
    );
    let out = dir.join("tty.out");
    let child = script(&line)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&out).expect("output file"))
        .stderr(std::fs::File::create(dir.join("tty.err")).expect("error file"))
        .spawn()
        .expect("util-linux `script` runs");
    let mut child = Ended {
        child,
        out: out.clone(),
    };
    let shown = || String::from_utf8_lossy(&std::fs::read(&out).unwrap_or_default()).into_owned();
    status_until(&dir, "counted 20", Duration::from_secs(240));
    let mut keys = child.child.stdin.take().expect("the terminal's input");
    keys.write_all(b"q").expect("q pressed");
    keys.flush().expect("q sent");
    let started = Instant::now();
    while !shown().contains("left the view") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "q did not leave the view:\n{}",
            shown()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        run(&dir, &["send", "--count", "30", "--rate", "0"])
            .status
            .success()
    );
    status_until(&dir, "counted 50", Duration::from_secs(90));
    // Ctrl-C to the stack's process.
    let pid = up_pid(&shown()).expect("up says its pid");
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let started = Instant::now();
    while child.child.try_wait().expect("wait").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "up ignored Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(keys);
    assert!(
        shown().contains("stopped 'dev': 50 records read, 50 done"),
        "{}",
        shown()
    );
}

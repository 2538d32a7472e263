//! The binary as a person at a terminal runs it: under a pseudo-terminal (util-linux
//! `script`), where stdout and stderr are terminals, log colours are asked for and the live
//! view redraws. Every test before this one had its output redirected, which is how a panic
//! in the logging set-up went unseen.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::state;

/// What a terminal showed (`\r\n` folded to `\n`) and whether the command succeeded.
struct Shown {
    ok: bool,
    text: String,
}

/// `local --state <state> <args>` under a pseudo-terminal, with `env` added; killed (and
/// the test failed) if it has not ended within `limit`, which only bounds a hang.
fn in_terminal(state: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Shown {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = vec![
        quote(env!("CARGO_BIN_EXE_realtime")),
        "--state".into(),
        quote(&state.to_string_lossy()),
    ];
    line.extend(args.iter().map(|a| quote(a)));
    let out = std::env::temp_dir().join(format!(
        "local-terminal-{}-{}.out",
        std::process::id(),
        args.join("-").replace('/', "_")
    ));
    let mut child = Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .envs(env.iter().copied())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("output file"))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("util-linux `script` runs");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`local {}` in a terminal did not end within {limit:?}:\n{}",
                args.join(" "),
                std::fs::read_to_string(&out).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = String::from_utf8_lossy(&std::fs::read(&out).expect("output")).replace("\r\n", "\n");
    let _ = std::fs::remove_file(&out);
    assert!(
        !text.contains("panicked"),
        "`local {}` panicked in a terminal:\n{text}",
        args.join(" ")
    );
    Shown {
        ok: status.success(),
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

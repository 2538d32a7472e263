//! The whole pipeline on one machine: MiniStack as the AWS endpoint, the packaged
//! `bootstrap` run through a local Lambda Runtime API, and Lambda's Kinesis event source
//! mapping semantics — created from the same model `gen` emits.
//!
//! * [`emulator`]: install (project venv), start on a free loopback port, stop.
//! * [`deploy`]: every resource of `Pulumi.yaml`, resolved for a stack, created in order.
//! * [`runtime`]: Runtime API + `bootstrap` processes (one per execution environment).
//! * [`esm`]: the event source mapping (lanes, batching, retries, bisect, failure queue,
//!   checkpoints, CloudWatch metrics) and redrive (re-invoke, then rebuild from the archive).
//! * [`archive`]: the archive bucket read back for recovery.
//! * [`failure`]: given-up batches kept in S3 (Lambda's on-failure record layout).
//! * [`function_log`]: the function's log lines read (batch summaries, problems).
//! * [`producer`], [`status`]: `send`, `status`/`watch`/`query`.
//! * [`bench`], [`bench_process`]: the end-to-end benchmark; the process-level comparison
//!   with a Python reference handler.
//! * [`cost`]: what the pipeline costs at list prices, from request counts of the
//!   production path.
//! * [`build`]: the function `up` runs — the dev build sharing `local`'s dependencies, or the
//!   release zip — with cargo's progress shown.
//! * [`stack`]: `up` — all of the above.
//! * [`state`]: the state file other commands read; one running `up` per stack name.

pub mod archive;
pub mod bench;
pub mod bench_process;
pub mod build;
pub mod cli;
pub mod clients;
pub mod compact;
pub mod cost;
pub mod deploy;
pub mod emulator;
pub mod error;
pub mod esm;
pub mod failure;
pub mod function_log;
pub mod producer;
pub mod progress;
pub mod redrive;
pub mod response;
pub mod runtime;
pub mod sql;
pub mod stack;
pub mod state;
pub mod status;
pub mod status_deployed;
pub mod tail;
pub mod target;

pub use build::Build;
pub use error::Error;
pub use stack::{LocalStack, UpOptions};

/// The repository root (this crate lives in `<root>/local`).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

/// A test's own state folder, `target/<kind>/<test>-<pid>`, emptied; earlier runs' folders
/// of the same test go (the latest run's stays for a look after a failure).
pub fn test_state_dir(kind: &str, test: &str) -> std::path::PathBuf {
    let parent = repo_root().join("target").join(kind);
    let prefix = format!("{test}-");
    for entry in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let earlier = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .is_some_and(|pid| pid.parse::<u32>().is_ok_and(|p| p != std::process::id()));
        if earlier {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = parent.join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The README's code block checked by a test: the first ```` ```<lang> ```` block after the
/// `<!-- <marker>` comment that names it.
pub fn readme_block(marker: &str, lang: &str) -> Option<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).ok()?;
    let after = readme.split(&format!("<!-- {marker}")).nth(1)?;
    let body = after.split(&format!("```{lang}\n")).nth(1)?;
    Some(body.split("```").next()?.to_owned())
}

//! Building the function the local stack runs, with cargo's progress shown as it goes: the
//! dev-profile `bootstrap` (sharing the dependencies `cargo run -p local` just compiled) or
//! the release zip `pulumi up` deploys.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::error::Error;
use stackgen::settings::Architecture;

/// Which build of the function `up` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The dev-profile `bootstrap` for this machine's architecture, built with `local`'s own
    /// feature set so it reuses every dependency `cargo run -p local` compiled: on a fresh
    /// machine the AWS SDK is compiled once, not twice. Zipped to `target/lambda/dev/<arch>/`,
    /// never where `Pulumi.yaml` looks. A foreign architecture falls back to [`Self::Release`].
    Dev,
    /// `cargo xtask package`: the checked release zip `pulumi up` deploys.
    Release,
}

/// How `up` gets the function artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Build {
    pub profile: Profile,
    /// Run cargo first (incremental: quick when nothing changed); otherwise use the zip as it
    /// is, which must exist (tests: CI packages first).
    pub rebuild: bool,
}

impl Build {
    /// What `up` does by default.
    pub const DEV: Self = Self {
        profile: Profile::Dev,
        rebuild: true,
    };
    /// The production zip, rebuilt (benchmarks).
    pub const RELEASE: Self = Self {
        profile: Profile::Release,
        rebuild: true,
    };
    /// The production zip as CI packaged it.
    pub const PACKAGED: Self = Self {
        profile: Profile::Release,
        rebuild: false,
    };

    /// The profile actually used for `arch`: dev builds only for this machine's architecture.
    pub fn profile_for(self, arch: Architecture) -> Profile {
        match self.profile {
            Profile::Dev if Architecture::host() == Some(arch) => Profile::Dev,
            _ => Profile::Release,
        }
    }
}

/// Where the zip of `profile` for `arch` lives, relative to the repo root.
pub fn archive(arch: Architecture, profile: Profile) -> PathBuf {
    match profile {
        Profile::Release => PathBuf::from(stackgen::function_archive(arch)),
        Profile::Dev => PathBuf::from(format!(
            "{}/dev/{}/bootstrap.zip",
            stackgen::FUNCTION_ARCHIVE_DIR,
            arch.as_str()
        )),
    }
}

/// Builds (when asked) and returns the zip the local stack deploys for `arch`.
pub async fn function(
    root: &Path,
    arch: Architecture,
    build: Build,
    progress: bool,
) -> Result<PathBuf, Error> {
    let profile = build.profile_for(arch);
    let zip = root.join(archive(arch, profile));
    if !build.rebuild {
        if zip.exists() {
            return Ok(zip);
        }
        return Err(Error::Build(format!(
            "{} is missing: run `cargo xtask package --arch {}` (or `up` without --skip-build)",
            zip.display(),
            arch.as_str()
        )));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = tokio::process::Command::new(&cargo);
    let what = match profile {
        Profile::Release => {
            cmd.args(["xtask", "package", "--arch", arch.as_str()]);
            format!(
                "building the release function (cargo xtask package --arch {})",
                arch.as_str()
            )
        }
        Profile::Dev => {
            // `-p local` too, so features resolve exactly as for `cargo run -p local` and
            // every dependency already compiled for it is reused.
            cmd.args([
                "build",
                "--locked",
                "-p",
                "local",
                "-p",
                "function",
                "--bin",
                "bootstrap",
            ]);
            "building the function (dev profile; `up --release` runs the production zip)".into()
        }
    };
    run_cargo(cmd.current_dir(root), &what, progress).await?;
    let binary = lambda_zip::target_dir(root).join("debug/bootstrap");
    if profile == Profile::Dev && !newer(&zip, &binary) {
        lambda_zip::zip_bootstrap(&binary, &zip).map_err(Error::io(&zip))?;
    }
    Ok(zip)
}

/// Whether `a` exists and was written after `b` (an unchanged binary is not zipped again).
fn newer(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(a), modified(b)), (Some(a), Some(b)) if a > b)
}

/// How often a build without a terminal says it is still going.
const PLAIN_EVERY: Duration = Duration::from_secs(15);

/// Runs cargo, showing what it compiles: a spinner with the crate count on a terminal; without
/// one, the step as a line, then a line at most every 15 s and one when it is done. On failure
/// the error carries cargo's last 30 lines.
async fn run_cargo(
    cmd: &mut tokio::process::Command,
    what: &str,
    progress: bool,
) -> Result<(), Error> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Build(format!("cannot run cargo: {e}")))?;
    let tty = progress && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = crate::progress::spinner(progress, what);
    let started = Instant::now();
    let mut said = started;
    let mut tail = VecDeque::with_capacity(30);
    let mut compiled = 0u32;
    if let Some(stderr) = child.stderr.take() {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(krate) = compiling(&line) {
                compiled += 1;
                let now = format!("{compiled} crates compiled, now {krate}");
                bar.set_message(format!("{what}: {now}"));
                if progress && !tty && said.elapsed() >= PLAIN_EVERY {
                    eprintln!("  … {now} ({} s)", started.elapsed().as_secs());
                    let _ = std::io::stderr().flush();
                    said = Instant::now();
                }
            }
            if tail.len() == 30 {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| Error::Build(format!("waiting for cargo: {e}")))?;
    bar.finish_and_clear();
    if !status.success() {
        return Err(Error::Build(Vec::from(tail).join("\n")));
    }
    if progress && (compiled > 0 || !tty) {
        eprintln!(
            "{what}: done in {} s ({compiled} crates compiled)",
            started.elapsed().as_secs()
        );
    }
    Ok(())
}

/// The crate of a cargo `Compiling <crate> v<version>` line.
fn compiling(line: &str) -> Option<&str> {
    line.trim_start()
        .strip_prefix("Compiling ")?
        .split_whitespace()
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_lines_name_the_crate() {
        assert_eq!(
            compiling("   Compiling aws-sdk-s3 v1.157.0"),
            Some("aws-sdk-s3")
        );
        assert_eq!(
            compiling("   Compiling function v0.1.0 (/work/main/function)"),
            Some("function")
        );
        assert_eq!(compiling("    Finished `dev` profile"), None);
        assert_eq!(compiling("warning: Compiling is not a crate"), None);
    }

    #[test]
    fn an_unchanged_binary_is_not_zipped_again() {
        let dir = std::env::temp_dir().join(format!("build-newer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (zip, bin) = (dir.join("a.zip"), dir.join("bootstrap"));
        assert!(!newer(&zip, &bin), "no zip yet");
        let at = |p: &Path, secs: u64| {
            let f = std::fs::File::create(p).expect("file");
            f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(secs))
                .expect("mtime");
        };
        at(&bin, 1_000);
        at(&zip, 2_000);
        assert!(newer(&zip, &bin));
        at(&bin, 3_000);
        assert!(!newer(&zip, &bin), "the binary was rebuilt");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn dev_builds_never_land_where_pulumi_looks() {
        for arch in Architecture::ALL {
            assert_ne!(archive(arch, Profile::Dev), archive(arch, Profile::Release));
            assert_eq!(
                archive(arch, Profile::Release),
                PathBuf::from(stackgen::function_archive(arch))
            );
        }
        let foreign = Architecture::ALL
            .into_iter()
            .find(|a| Architecture::host() != Some(*a));
        if let Some(arch) = foreign {
            assert_eq!(Build::DEV.profile_for(arch), Profile::Release);
        }
    }
}

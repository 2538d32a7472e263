//! MiniStack, the embedded AWS endpoint: installed into a project-local venv, run on a free
//! loopback port, stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::error::Error;

/// The emulator release the project is tested against.
pub const MINISTACK_VERSION: &str = "1.5.33";
/// What `pip` installs: MiniStack, plus `cbor2`, which it imports lazily to speak the
/// rpc-v2-cbor protocol the Rust SDK uses for CloudWatch (without it, alarms and metric
/// data arrive empty), and `duckdb`, the engine its Athena runs queries with (without it,
/// every query answers a canned row).
pub const PIP_PACKAGES: [&str; 3] = ["ministack==1.5.33", "cbor2==6.3.0", "duckdb==2.0.1"];

/// Where the venv lives (`<repo>/.local/venv`).
pub fn venv_dir(root: &Path) -> PathBuf {
    root.join(".local/venv")
}

fn ministack_bin(root: &Path) -> PathBuf {
    venv_dir(root).join("bin/ministack")
}

/// How MiniStack is started: its `main`, after one patch that keeps its Kinesis from
/// rescanning the whole stream on every call (the script says why; the behaviour is
/// unchanged).
const MAIN: &str = include_str!("ministack_main.py");

/// Whether the pinned emulator is already installed.
pub fn installed(root: &Path) -> bool {
    ministack_bin(root).exists() && venv_has(&venv_dir(root), &PIP_PACKAGES)
}

/// Whether the venv at `dir` was made with exactly `packages`.
fn venv_has(dir: &Path, packages: &[&str]) -> bool {
    std::fs::read_to_string(dir.join("installed.txt")).is_ok_and(|m| m == packages.join(" "))
}

async fn run(cmd: &mut Command, what: &str) -> Result<(), Error> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| Error::Install(format!("{what}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Install(format!(
            "{what} exited with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// Serializes installs within a process (tests bring several stacks up at once).
static INSTALL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The system's Python 3 (the only prerequisite of the local stack).
fn python() -> Result<&'static str, Error> {
    ["python3", "python"]
        .into_iter()
        .find(|p| {
            std::process::Command::new(p)
                .arg("--version")
                .output()
                .is_ok()
        })
        .ok_or(Error::Missing {
            program: "python3",
            hint: "install Python 3 (e.g. `apt-get install python3 python3-venv`)",
        })
}

/// Makes a venv at `dir` holding exactly the pinned `packages` (nothing when it already
/// does); returns its Python.
pub async fn venv(dir: &Path, packages: &[&str]) -> Result<PathBuf, Error> {
    let _guard = INSTALL.lock().await;
    // Other processes (tests run several binaries; `bench-process` next to `up`) install
    // into the same folder: one at a time, across processes too.
    let _lock = lock_file(&dir.with_extension("lock")).await?;
    let bin = dir.join("bin/python");
    if bin.exists() && venv_has(dir, packages) {
        return Ok(bin);
    }
    run(
        Command::new(python()?).arg("-m").arg("venv").arg(dir),
        "python3 -m venv",
    )
    .await?;
    run(
        Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(packages),
        &format!("pip install {}", packages.join(" ")),
    )
    .await?;
    let marker = dir.join("installed.txt");
    std::fs::write(&marker, packages.join(" ")).map_err(Error::io(marker))?;
    Ok(bin)
}

/// Holds an exclusive lock on `path` (created if needed) until the file is dropped.
async fn lock_file(path: &Path) -> Result<std::fs::File, Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    let file = std::fs::File::create(path).map_err(Error::io(path))?;
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| Error::Install(format!("locking {}: {e}", owned.display())))?
        .map_err(Error::io(path))
}

/// Installs the pinned emulator into the venv (Python 3 is the only prerequisite).
pub async fn install(root: &Path) -> Result<(), Error> {
    venv(&venv_dir(root), &PIP_PACKAGES).await.map(drop)
}

/// Ports this process has handed out: two stacks started at once (tests run in parallel)
/// never get the same one, even before either emulator has bound it.
static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

/// A free loopback port not handed out before by this process.
pub fn free_port() -> Result<u16, Error> {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::io("127.0.0.1:0"))?;
        let port = l
            .local_addr()
            .map(|a| a.port())
            .map_err(Error::io("127.0.0.1:0"))?;
        let mut given = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return Ok(port);
        }
    }
}

/// Attempts at a free port before giving up (another process may take it first).
const PORT_ATTEMPTS: usize = 5;

/// A running emulator; killed on drop.
#[derive(Debug)]
pub struct Emulator {
    pub endpoint: String,
    pub port: u16,
    child: Child,
}

impl Emulator {
    /// Starts MiniStack on a free port, trying another if something takes the port first.
    pub async fn start_on_free_port(root: &Path, log: &Path) -> Result<Self, Error> {
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            match Self::start(root, free_port()?, log).await {
                Ok(e) => return Ok(e),
                Err(e @ (Error::PortTaken(_) | Error::EmulatorStart { .. })) => {
                    tracing::warn!(error = %e, "emulator did not start; trying another port");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(Error::EmulatorStart {
            endpoint: "127.0.0.1".into(),
            reason: "no free port".into(),
        }))
    }

    /// Starts MiniStack on `port` (127.0.0.1 only) and waits until it answers.
    pub async fn start(root: &Path, port: u16, log: &Path) -> Result<Self, Error> {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            return Err(Error::PortTaken(port));
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let log_file = std::fs::File::create(log).map_err(Error::io(log))?;
        let data = log.with_extension("data");
        let child = Command::new(venv_dir(root).join("bin/python3"))
            .arg("-c")
            .arg(MAIN)
            .env("BIND_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", port.to_string())
            .env("MINISTACK_HOST", "127.0.0.1")
            .env("LOG_LEVEL", "WARNING")
            .env("S3_DATA_DIR", &data)
            // The functions it runs (`lambda:Invoke`, as a deployed-target redrive does)
            // call back to this emulator, not to AWS.
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("TMPDIR", log.parent().unwrap_or(Path::new(".")))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(Error::io(log))?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::EmulatorStart {
                endpoint: endpoint.clone(),
                reason: e.to_string(),
            })?;
        let mut emu = Self {
            endpoint,
            port,
            child,
        };
        emu.wait_healthy(Duration::from_secs(30)).await?;
        Ok(emu)
    }

    async fn wait_healthy(&mut self, limit: Duration) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::EmulatorStart {
                    endpoint: self.endpoint.clone(),
                    reason: format!("exited with {status}; see its log"),
                });
            }
            // Healthy, and still our process answering (not another emulator that took
            // the port while ours failed to bind it).
            if health(self.port).await {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if matches!(self.child.try_wait(), Ok(None)) && health(self.port).await {
                    return Ok(());
                }
            }
            if started.elapsed() > limit {
                return Err(Error::EmulatorStart {
                    endpoint: self.endpoint.clone(),
                    reason: format!("no answer within {limit:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The emulator's process id (a fault test pauses it with SIGSTOP: an outage of every
    /// service at once).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the emulator.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Whether `/_ministack/health` answers on the port.
async fn health(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let req = "GET /_ministack/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf).await, Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1.1 200"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The launcher's patch keeps exactly the records MiniStack's own retention check
    /// keeps (random streams, checked in the emulator's venv against MiniStack's code).
    #[tokio::test]
    #[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
    async fn the_patched_retention_check_keeps_what_ministack_keeps() {
        let root = crate::repo_root();
        install(&root).await.expect("the emulator's venv");
        let out = Command::new(venv_dir(&root).join("bin/python3"))
            .arg("-c")
            .arg(include_str!("ministack_check.py"))
            .arg(MAIN)
            .output()
            .await
            .expect("python runs");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

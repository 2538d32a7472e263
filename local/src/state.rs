//! What a running `up` leaves for the other commands (where the stack runs, which process
//! owns it), written atomically; and whether that stack is still running.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::deploy::Deployed;
use crate::error::Error;

/// `<state root>/<stack>`; the state root is `<repo>/.local/state` unless `--state` says.
pub fn state_dir(root: &Path, stack: &str) -> PathBuf {
    root.join(".local/state").join(stack)
}

/// The command line that runs `args` on the stack whose state is in `dir`: `--stack`
/// always, `--state` when `dir` is not the default folder.
pub fn command(dir: &Path, stack: &str, args: &str) -> String {
    let mut out = format!("cargo run -p local -- --stack {stack}");
    if dir != state_dir(&crate::repo_root(), stack)
        && let Some(root) = dir.parent()
    {
        out.push_str(&format!(" --state {}", root.display()));
    }
    format!("{out} {args}")
}

/// The file `up` writes once the stack is up.
const STATE: &str = "stack.json";
/// The file `up` writes first: the pid of the process that owns the stack.
const OWNER: &str = "up.pid";

/// What the other sub-commands read to find a running stack.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StateFile {
    /// The `up` process serving the stack.
    pub pid: u32,
    pub endpoint: String,
    pub deployed: Deployed,
}

/// Writes `text` to `path` through a temporary file and a rename, so a reader never sees
/// half a file.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}

/// Whether process `pid` exists (Linux `/proc`; elsewhere assumed alive and the endpoint
/// decides).
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.exists() || proc.join(pid.to_string()).exists()
}

/// Whether something accepts connections at `http://host:port`.
fn listening(endpoint: &str) -> bool {
    let addr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse::<std::net::SocketAddr>();
    addr.is_ok_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

fn owner(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join(OWNER))
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

/// Makes this process the owner of the stack's state folder, or refuses when another live
/// `up` owns it; the previous run's function logs move to `logs.previous/`.
pub fn claim(dir: &Path, stack: &str) -> Result<(), Error> {
    if let Some(pid) = owner(dir).filter(|p| *p != std::process::id() && alive(*p)) {
        let endpoint = StateFile::read(dir)
            .map(|s| s.endpoint)
            .unwrap_or_else(|_| "still starting".into());
        return Err(Error::AlreadyRunning {
            stack: stack.to_owned(),
            pid,
            endpoint,
        });
    }
    // A fresh folder, but the previous run's function logs are kept (as logs.previous).
    if dir.exists() {
        let logs = dir.join("logs");
        let previous = dir.join("logs.previous");
        if logs.exists() {
            let _ = std::fs::remove_dir_all(&previous);
            std::fs::rename(&logs, &previous).map_err(Error::io(&logs))?;
        }
        for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
            let path = entry.map_err(Error::io(dir))?.path();
            if path == previous {
                continue;
            }
            if path.is_dir() {
                std::fs::remove_dir_all(&path).map_err(Error::io(&path))?;
            } else {
                std::fs::remove_file(&path).map_err(Error::io(&path))?;
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    write_atomic(&dir.join(OWNER), &std::process::id().to_string())
}

impl StateFile {
    fn read(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(STATE);
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        serde_json::from_str(&text).map_err(Error::json(path.display().to_string()))
    }

    /// Writes the state of a stack that is up.
    pub fn save(&self, dir: &Path) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(self).map_err(Error::json("the state file"))?;
        write_atomic(&dir.join(STATE), &text)
    }

    /// The state of a running stack: an error that says so when it never ran or stopped.
    pub fn load(dir: &Path, stack: &str) -> Result<Self, Error> {
        let Ok(state) = Self::read(dir) else {
            return Err(Error::NotRunning {
                stack: stack.to_owned(),
                up: command(dir, stack, "up"),
            });
        };
        if !alive(state.pid) || !listening(&state.endpoint) {
            return Err(Error::Stopped {
                stack: stack.to_owned(),
                up: command(dir, stack, "up"),
                pid: state.pid,
                endpoint: state.endpoint,
            });
        }
        Ok(state)
    }
}

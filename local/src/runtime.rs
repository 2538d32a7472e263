//! Runs the packaged `bootstrap` like Lambda does: a Runtime API server per execution
//! environment, the process started with the function's environment, one invocation at a
//! time, a timeout that kills and restarts the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::deploy::FunctionSpec;
use crate::error::Error;
use stackgen::settings::Architecture;

pub use crate::error::InvokeError;

/// The command that runs `bootstrap`: directly on its own architecture, else under
/// qemu-user (how `cargo xtask ci` smoke-tests the arm64 build on an x86_64 machine).
fn launcher(arch: Architecture, bootstrap: &Path) -> Result<Command, Error> {
    if Architecture::host() == Some(arch) {
        return Ok(Command::new(bootstrap));
    }
    let stackgen::settings::Emulation {
        qemu,
        sysroot,
        packages,
    } = arch.emulation();
    if !Path::new(qemu).exists() || !Path::new(sysroot).exists() {
        return Err(Error::Runtime(format!(
            "the function is built for {} and this machine is {}: running it needs {qemu} and \
             a glibc in {sysroot} (Debian: apt-get install {}), or `--arch {}`",
            arch.as_str(),
            std::env::consts::ARCH,
            packages.join(" "),
            Architecture::host().map_or("x86_64", Architecture::as_str),
        )));
    }
    let mut cmd = Command::new(qemu);
    cmd.arg("-L").arg(sysroot).arg(bootstrap);
    Ok(cmd)
}

/// A test's seam for crashes that land where the test decides, not where a timer fires:
/// of the responses the function posts, every `stride`-th is held (never delivered), `n`
/// in all, and the process that posted each is reported. The function has done all its
/// writes by then, so a test that kills the reported process makes a crash mid-invocation
/// by construction: the mapping sees `Runtime exited` and retries the batch, which must
/// find every record already counted. Used by tests only; every command passes `None`.
#[derive(Debug, Clone)]
pub struct Hold {
    stride: usize,
    /// Responses seen so far (across every environment sharing this hold).
    seen: Arc<AtomicUsize>,
    remaining: Arc<AtomicUsize>,
    held: mpsc::UnboundedSender<u32>,
}

impl Hold {
    /// Holds responses 1, 1 + `stride`, 1 + 2 × `stride`, …, `n` of them; the receiver
    /// gets the pid of each process held. A stride of 1 holds the next `n` responses.
    pub fn every(stride: usize, n: usize) -> (Self, mpsc::UnboundedReceiver<u32>) {
        let (held, rx) = mpsc::unbounded_channel();
        let hold = Self {
            stride: stride.max(1),
            seen: Arc::new(AtomicUsize::new(0)),
            remaining: Arc::new(AtomicUsize::new(n)),
            held,
        };
        (hold, rx)
    }

    /// Whether this response is one to hold (counts it, and the hold used).
    fn take(&self) -> bool {
        let nth = self.seen.fetch_add(1, Ordering::SeqCst);
        nth.is_multiple_of(self.stride)
            && self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    }
}

struct Pending {
    id: String,
    body: Vec<u8>,
    deadline_ms: u128,
}

#[derive(Default)]
struct Shared {
    waiting: BTreeMap<String, oneshot::Sender<Result<Vec<u8>, InvokeError>>>,
    init_error: Option<String>,
    /// When the process first asked for an invocation: the end of its init.
    first_next: Option<Instant>,
    /// The running process (what a [`Hold`] reports).
    pid: Option<u32>,
    hold: Option<Hold>,
}

#[derive(Clone)]
struct ApiState {
    next: Arc<Mutex<mpsc::Receiver<Pending>>>,
    shared: Arc<Mutex<Shared>>,
    function_arn: String,
}

/// One execution environment: a Runtime API endpoint and a `bootstrap` process.
pub struct Environment {
    spec: FunctionSpec,
    bootstrap: PathBuf,
    extra_env: BTreeMap<String, String>,
    log: PathBuf,
    api_addr: String,
    queue: mpsc::Sender<Pending>,
    /// The Runtime API's end of `queue`, to drop invocations a dead process never fetched.
    queued: Arc<Mutex<mpsc::Receiver<Pending>>>,
    shared: Arc<Mutex<Shared>>,
    child: Option<Child>,
    /// When the current process was started.
    spawned: Option<Instant>,
    seq: u64,
    _server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("api", &self.api_addr)
            .finish()
    }
}

impl Environment {
    /// Starts the Runtime API on a free loopback port; the process starts on first invoke.
    pub async fn start(
        spec: &FunctionSpec,
        bootstrap: &Path,
        extra_env: BTreeMap<String, String>,
        log: PathBuf,
    ) -> Result<Self, Error> {
        let (tx, rx) = mpsc::channel(1);
        let shared = Arc::new(Mutex::new(Shared::default()));
        let queued = Arc::new(Mutex::new(rx));
        let state = ApiState {
            next: queued.clone(),
            shared: shared.clone(),
            function_arn: spec.arn.clone(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::io("runtime api"))?;
        let api_addr = listener
            .local_addr()
            .map_err(Error::io("runtime api"))?
            .to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            spec: spec.clone(),
            bootstrap: bootstrap.to_owned(),
            extra_env,
            log,
            api_addr,
            queue: tx,
            queued,
            shared,
            child: None,
            spawned: None,
            seq: 0,
            _server: server,
        })
    }

    fn spawn(&mut self) -> Result<(), Error> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(Error::io(&self.log))?;
        let mut cmd = launcher(self.spec.architecture, &self.bootstrap)?;
        let child = cmd
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&self.spec.env)
            .envs(&self.extra_env)
            .env("AWS_LAMBDA_RUNTIME_API", &self.api_addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.spec.name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.spec.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.spec.name),
            )
            .env("_HANDLER", &self.spec.handler)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(Error::io(&self.log))?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(Error::io(&self.bootstrap))?;
        self.child = Some(child);
        self.spawned = Some(Instant::now());
        Ok(())
    }

    /// Holds responses as `hold` says (see [`Hold`]); `None` delivers every response.
    pub async fn set_hold(&self, hold: Option<Hold>) {
        self.shared.lock().await.hold = hold;
    }

    async fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
        // An invocation the dead process never fetched must not reach the next one.
        if let Ok(mut q) = self.queued.try_lock() {
            while q.try_recv().is_ok() {}
        }
        let mut s = self.shared.lock().await;
        s.waiting.clear();
        s.init_error = None;
        s.first_next = None;
        s.pid = None;
    }

    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// The current process's init: from its start to its first request for an invocation
    /// (what Lambda reports as Init Duration).
    pub async fn init_duration(&self) -> Option<Duration> {
        let first = self.shared.lock().await.first_next?;
        Some(first.saturating_duration_since(self.spawned?))
    }

    /// Starts the process unless it is running.
    async fn ensure_running(&mut self) -> Result<(), Error> {
        let alive = match self.child.as_mut() {
            Some(c) => c.try_wait().map(|s| s.is_none()).unwrap_or(false),
            None => false,
        };
        if !alive {
            self.restart().await;
            self.spawn()?;
            self.shared.lock().await.pid = self.pid();
        }
        Ok(())
    }

    /// Starts the process (when it is not running) and waits until its init is done: it
    /// asked for its first invocation. Lambda's provisioned-concurrency start, for
    /// measuring init apart from invocations.
    pub async fn warm(&mut self) -> Result<(), Error> {
        self.ensure_running().await?;
        let limit = Duration::from_secs(self.spec.timeout_secs.max(1));
        let started = Instant::now();
        while self.shared.lock().await.first_next.is_none() {
            if started.elapsed() > limit {
                return Err(Error::Runtime("the function's init did not finish".into()));
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(Error::Runtime(format!(
                    "the function exited in init: {status}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }

    /// Invokes the function with `event`; one invocation at a time per environment.
    pub async fn invoke(&mut self, event: &[u8]) -> Result<Result<Vec<u8>, InvokeError>, Error> {
        self.ensure_running().await?;
        self.seq += 1;
        let id = format!("{:08x}-local-{}", std::process::id(), self.seq);
        let timeout = Duration::from_secs(self.spec.timeout_secs.max(1));
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + timeout.as_millis();
        let (done_tx, mut done_rx) = oneshot::channel();
        self.shared.lock().await.waiting.insert(id.clone(), done_tx);
        let started = Instant::now();
        let pending = Pending {
            id,
            body: event.to_vec(),
            deadline_ms,
        };
        if self.queue.send(pending).await.is_err() {
            return Err(Error::Runtime("runtime API stopped".into()));
        }
        loop {
            tokio::select! {
                r = &mut done_rx => {
                    return Ok(r.unwrap_or(Err(InvokeError::Crashed("no response".into()))));
                }
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    let init_error = self.shared.lock().await.init_error.take();
                    if let Some(msg) = init_error {
                        self.restart().await;
                        return Ok(Err(InvokeError::Function { error_type: "Runtime.InitError".into(), message: msg }));
                    }
                    let exited = match self.child.as_mut() {
                        Some(c) => c.try_wait().ok().flatten(),
                        None => None,
                    };
                    if let Some(status) = exited {
                        self.restart().await;
                        return Ok(Err(InvokeError::Crashed(status.to_string())));
                    }
                    if started.elapsed() > timeout {
                        self.restart().await;
                        return Ok(Err(InvokeError::Timeout));
                    }
                }
            }
        }
    }

    /// Stops the process.
    pub async fn stop(&mut self) {
        self.restart().await;
    }
}

async fn next(State(s): State<ApiState>) -> Response {
    s.shared
        .lock()
        .await
        .first_next
        .get_or_insert_with(Instant::now);
    let mut rx = s.next.lock().await;
    let Some(p) = rx.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut h = HeaderMap::new();
    let hv = |v: String| HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static(""));
    h.insert("Lambda-Runtime-Aws-Request-Id", hv(p.id));
    h.insert("Lambda-Runtime-Deadline-Ms", hv(p.deadline_ms.to_string()));
    h.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        hv(s.function_arn.clone()),
    );
    h.insert(
        "Lambda-Runtime-Trace-Id",
        hv("Root=1-00000000-000000000000000000000000".into()),
    );
    h.insert("Content-Type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, h, p.body).into_response()
}

async fn response(
    State(s): State<ApiState>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let held = {
        let shared = s.shared.lock().await;
        match (&shared.hold, shared.pid) {
            (Some(h), Some(pid)) if h.take() => h.held.send(pid).is_ok(),
            _ => false,
        }
    };
    if held {
        // Never answered: the test kills the process, and the invocation ends as a crash.
        std::future::pending::<()>().await;
    }
    if let Some(tx) = s.shared.lock().await.waiting.remove(&id) {
        let _ = tx.send(Ok(body.to_vec()));
    }
    StatusCode::ACCEPTED
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    error_message: String,
}

async fn error(State(s): State<ApiState>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    let e: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(tx) = s.shared.lock().await.waiting.remove(&id) {
        let _ = tx.send(Err(InvokeError::Function {
            error_type: e.error_type,
            message: e.error_message,
        }));
    }
    StatusCode::ACCEPTED
}

async fn init_error(State(s): State<ApiState>, body: Bytes) -> StatusCode {
    let e: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    s.shared.lock().await.init_error = Some(format!("{}: {}", e.error_type, e.error_message));
    StatusCode::ACCEPTED
}

#[cfg(test)]
mod tests {
    use super::Hold;

    #[track_caller]
    fn check(stride: usize, n: usize, want: &[bool]) {
        let (hold, _rx) = Hold::every(stride, n);
        let got: Vec<bool> = want.iter().map(|_| hold.take()).collect();
        assert_eq!(got, want, "stride {stride}, n {n}");
    }

    #[test]
    fn a_hold_takes_every_stride_th_response_n_times() {
        check(1, 2, &[true, true, false, false]);
        check(2, 3, &[true, false, true, false, true, false, false, false]);
        check(3, 1, &[true, false, false, false]);
        check(0, 1, &[true, false]);
        check(2, 0, &[false, false]);
    }
}

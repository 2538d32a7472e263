//! The local stack's error type.

use std::path::PathBuf;

impl Error {
    /// A `function::Error`, saying what was being done.
    pub fn function(what: impl Into<String>) -> impl FnOnce(function::Error) -> Error {
        let what = what.into();
        move |source| Error::Function { what, source }
    }

    /// A `serde_json::Error`, naming the document.
    pub fn json(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> Error {
        let what = what.into();
        move |source| Error::Json { what, source }
    }
}

/// A boxed SDK or I/O error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong bringing up or driving the local stack.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A program the stack needs is not installed.
    #[error("{program} not found: {hint}")]
    Missing {
        program: &'static str,
        hint: &'static str,
    },
    /// Installing the emulator failed.
    #[error("installing the emulator failed: {0}")]
    Install(String),
    /// The emulator did not come up.
    #[error("the emulator did not start on {endpoint}: {reason}")]
    EmulatorStart { endpoint: String, reason: String },
    /// The requested port is in use.
    #[error("port {0} is already in use; pick another with --port or stop what uses it")]
    PortTaken(u16),
    /// Building or packaging the function failed.
    #[error("building the function failed: {0}")]
    Build(String),
    /// The stack program or a stack file is invalid.
    #[error(transparent)]
    Model(#[from] stackgen::Error),
    /// A resource's properties cannot be evaluated or read as their type.
    #[error("resource {resource}")]
    Resource {
        resource: String,
        #[source]
        source: stackgen::Error,
    },
    /// The program uses something the local stack cannot create.
    #[error("resource {resource}: {reason}")]
    Deploy { resource: String, reason: String },
    /// An AWS API call failed.
    #[error("{call} failed")]
    Aws {
        call: &'static str,
        #[source]
        source: BoxError,
    },
    /// The caller may not write to the stream (deterministic: not retried).
    #[error(
        "not allowed to put records on {stream}: {detail}. A producer needs kinesis:PutRecord \
         and kinesis:PutRecords on the stream and, because the stream is KMS-encrypted, \
         kms:GenerateDataKey on its key (alias/realtime-processing-<stack>)"
    )]
    Denied { stream: String, detail: String },
    /// A metrics item is not a page the function wrote.
    #[error("a metrics item is not a page the function wrote")]
    Page(#[from] function::store::Malformed),
    /// A kept batch is not an invocation record redrive can read.
    #[error("kept batch: {0}")]
    KeptBatch(String),
    /// A kept batch could not be moved to the archive's `rejected/` (it stays kept).
    #[error("quarantining kept batch {key}")]
    Quarantine {
        key: String,
        #[source]
        source: BoxError,
    },
    /// The function's execution environment failed (init, the Runtime API).
    #[error("function runtime: {0}")]
    Runtime(String),
    /// The function's own code failed (its settings, a batch, recovery).
    #[error("{what}")]
    Function {
        what: String,
        #[source]
        source: function::Error,
    },
    /// A document could not be read or written as JSON.
    #[error("{what}: not the JSON expected")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// A measurement could not be taken (a benchmark or the cost model).
    #[error("measuring: {0}")]
    Measure(String),
    /// An invocation ended without a response (a function error, a timeout, a crash).
    #[error("the invocation failed: {0}")]
    Invocation(InvokeError),
    /// A background task of this process failed.
    #[error("a background task failed")]
    Task(#[from] tokio::task::JoinError),
    /// An Athena query ended without an answer (failed or cancelled), with Athena's reason.
    #[error("the query {state}: {reason}")]
    Query { state: String, reason: String },
    /// A query's `?` placeholders and the parameters given for them differ in number.
    #[error(
        "the query has {placeholders} `?` placeholder(s) and {given} parameter(s) were given \
         (--param: one SQL literal per `?`, in order)"
    )]
    Parameters { placeholders: usize, given: usize },
    /// Kept batches still wait after a redrive.
    #[error("{0} kept batches are still waiting (run `redrive` again once the cause is fixed)")]
    Waiting(usize),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No `Pulumi.<stack>.yaml` for this name.
    #[error("there is no stack '{stack}' (no Pulumi.{stack}.yaml); stacks: {known}")]
    UnknownStack { stack: String, known: String },
    /// A command-line value is out of bounds or malformed.
    #[error("{0}")]
    Usage(String),
    /// No local stack has been started under this name.
    #[error("the local stack '{stack}' is not running; start it with `{up}`")]
    NotRunning {
        stack: String,
        /// The command that starts it (with the `--stack` and `--state` in use).
        up: String,
    },
    /// The stack ran but its `up` (or emulator) has stopped.
    #[error(
        "the local stack '{stack}' has stopped (its `up`, pid {pid}, served {endpoint}); \
         start it again with `{up}`"
    )]
    Stopped {
        stack: String,
        up: String,
        pid: u32,
        endpoint: String,
    },
    /// Another `up` serves this stack.
    #[error(
        "the local stack '{stack}' is already running (pid {pid}, {endpoint}); use it, or \
         stop it (Ctrl-C in its terminal, or `kill {pid}`) before starting it again"
    )]
    AlreadyRunning {
        stack: String,
        pid: u32,
        endpoint: String,
    },
}

impl Error {
    /// Wraps an SDK error.
    pub fn aws<E: std::error::Error + Send + Sync + 'static>(
        call: &'static str,
    ) -> impl FnOnce(E) -> Error {
        move |e| Error::Aws {
            call,
            source: Box::new(e),
        }
    }

    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// The error, then each cause not already in its text, and a hint where the SDK's
/// transport message alone says nothing about what to do.
pub fn text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = function::error::chain(e);
    if text.contains("Connection refused") || text.contains("dispatch failure") {
        text.push_str(
            "\n  (the emulator did not answer: has the stack stopped? \
             `cargo run -p local -- status` says)",
        );
    }
    text
}

/// How an invocation ended, when it did not return a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// The function reported an error (`/invocation/{id}/error` or `/init/error`).
    Function { error_type: String, message: String },
    /// No response within the function's timeout; the environment was restarted.
    Timeout,
    /// The process exited mid-invocation.
    Crashed(String),
    /// The function never ran (its environment or the Runtime API could not start): not a
    /// function error; Lambda retries until the records expire.
    NotInvoked(String),
}

impl std::error::Error for InvokeError {}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::Function {
                error_type,
                message,
            } => write!(f, "{error_type}: {message}"),
            InvokeError::Timeout => f.write_str("Task timed out"),
            InvokeError::Crashed(m) => write!(f, "Runtime exited: {m}"),
            InvokeError::NotInvoked(m) => write!(f, "not invoked: {m}"),
        }
    }
}

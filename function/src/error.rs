//! The function's error type and its stable Lambda error types.

use lambda_runtime::Diagnostic;

/// A boxed error from an SDK or adapter.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in the function.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing or invalid environment variables (all of them, one per line).
    #[error("invalid configuration:\n{0}")]
    Config(String),
    /// The event is not a Kinesis batch the function can checkpoint.
    #[error("malformed event: {0}")]
    Event(String),
    /// Writing an archive object failed after the SDK's retries.
    #[error("archive write {key} failed")]
    Archive {
        key: String,
        #[source]
        source: BoxError,
    },
    /// Reading the archive back (a listing, an object, or its gzip) failed.
    #[error("archive read {key} failed")]
    ArchiveRead {
        /// The object's key, or the prefix that was listed.
        key: String,
        #[source]
        source: BoxError,
    },
    /// Updating a metrics item failed after the SDK's retries.
    #[error("metrics update of {item} failed")]
    Metrics {
        item: String,
        #[source]
        source: BoxError,
    },
    /// The table refused a write as invalid (`ValidationException`): retrying cannot help.
    #[error("metrics table refused {item}: {message}")]
    MetricsRejected { item: String, message: String },
    /// Recovery from the archive cannot be done safely (a page it must not rebuild).
    #[error("recovery: {0}")]
    Recovery(String),
    /// Compaction left shard-hours as they were (objects it cannot place safely).
    #[error("compaction left {} shard-hour(s) as they were: {}", .0.len(), .0.join("; "))]
    CompactionLeft(Vec<String>),
    /// An item kept changing under the function (more conflicts than attempts).
    #[error("metrics item {item} still contended after {attempts} attempts")]
    Contended { item: String, attempts: u32 },
}

/// How Lambda (and the operator) should treat an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Retrying the batch may succeed (throttling, outages, contention).
    Retryable,
    /// Retrying cannot help until something is fixed (configuration, malformed event).
    Fatal,
}

impl Error {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_)
            | Error::Event(_)
            | Error::MetricsRejected { .. }
            | Error::Recovery(_)
            | Error::CompactionLeft(_) => ErrorKind::Fatal,
            Error::Archive { .. }
            | Error::ArchiveRead { .. }
            | Error::Metrics { .. }
            | Error::Contended { .. } => ErrorKind::Retryable,
        }
    }
}

/// An error with its whole source chain: "archive write … failed: service error:
/// NoSuchBucket: …" (what logs and Lambda's error response carry).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        // Some errors repeat their source in their own text; say it once.
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Diagnostic {
        let error_type = match e.kind() {
            ErrorKind::Retryable => "Retryable",
            ErrorKind::Fatal => "Fatal",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: chain(&e),
        }
    }
}

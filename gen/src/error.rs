//! The gen crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while building, rendering or checking the program.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is outside its valid range.
    #[error("invalid setting {key}: {reason}")]
    InvalidSetting { key: &'static str, reason: String },
    /// The program could not be serialized.
    #[error("cannot serialize the program")]
    Serialize(#[source] serde_json::Error),
    /// The YAML emitter failed.
    #[error("cannot render YAML")]
    Yaml(#[source] yaml_serde::Error),
    /// A stack file could not be parsed into typed settings.
    #[error("stack file {path}: {source}")]
    StackFile {
        path: PathBuf,
        #[source]
        source: yaml_serde::Error,
    },
    /// A stack file is missing a required key or has a key of another project.
    #[error("stack file {path}: {reason}")]
    StackFileContent { path: PathBuf, reason: String },
    /// An expression cannot be evaluated (an unknown reference, a malformed call).
    #[error("cannot evaluate {expression}: {reason}")]
    Evaluate {
        expression: String,
        reason: &'static str,
    },
    /// An input still holds an expression where a value is needed.
    #[error("{expression} was not resolved")]
    Unresolved { expression: String },
    /// A resource type the model has no typed properties for.
    #[error("{ty} has no typed properties")]
    UnknownType { ty: String },
    /// Properties that do not fit their resource type.
    #[error("properties of {ty}")]
    Properties {
        ty: String,
        #[source]
        source: serde_json::Error,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

//! Typed model of the real-time processing stack; renders the Pulumi YAML program.
//!
//! * [`program`] mirrors the Pulumi YAML document (config, variables, resources, outputs).
//! * [`expr`] is the one place `${…}` interpolations and `fn::` built-ins are written;
//!   [`eval`] the one place they are read (schema check, local deploy).
//! * [`settings`] is the typed per-stack configuration (dev/prod); invalid values do not parse.
//! * [`stack_file`] reads `Pulumi.<stack>.yaml` as the Pulumi CLI writes it.
//! * [`aws`] types every resource's inputs (shared with the local stack, which deploys them).
//! * [`iam`] holds typed IAM policy documents.
//! * [`names`] checks every name a stack derives against its service's rules.
//! * [`stack`] builds this stack's resources, one function per resource group.
//! * [`render`] turns the program into the committed `Pulumi.yaml` text.

pub mod aws;
pub mod error;
pub mod eval;
pub mod expr;
pub mod iam;
pub mod names;
pub mod program;
pub mod render;
pub mod schema;
pub mod settings;
pub mod stack;
pub mod stack_file;

pub use error::Error;
pub use program::Program;
pub use settings::Settings;
pub use stack_file::StackFile;

/// The Pulumi project name; stack-file keys are `<PROJECT>:<key>`.
pub const PROJECT: &str = "realtime-processing";
/// The pulumi-aws provider version every resource and invoke is pinned to.
pub const AWS_PROVIDER_VERSION: &str = "7.51.1";
/// Path (relative to the repo root) of the zip `cargo xtask package --arch <arch>` writes: one
/// per architecture, so the program can only deploy the zip built for `lambdaArchitecture`.
pub fn function_archive(arch: settings::Architecture) -> String {
    function_archive_of(arch.as_str())
}

/// [`function_archive`] for an architecture given as text (the program's
/// `${lambdaArchitecture}`).
pub fn function_archive_of(arch: &str) -> String {
    format!("{FUNCTION_ARCHIVE_DIR}/{arch}/bootstrap.zip")
}

/// Where the per-architecture zips live (relative to the repo root).
pub const FUNCTION_ARCHIVE_DIR: &str = "target/lambda";

/// `Pulumi.yaml` at the workspace root (this crate lives in `<root>/gen`).
pub fn default_output() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join("Pulumi.yaml")
}

/// The stacks this project ships a `Pulumi.<stack>.yaml` for.
pub const STACKS: [&str; 2] = ["dev", "prod"];

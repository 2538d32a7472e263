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
    format!("{FUNCTION_ARCHIVE_DIR}/{}/bootstrap.zip", arch.as_str())
}

/// Writes the zip `fn::fileArchive` deploys: `binary` as `bootstrap` at its root, executable
/// (what Lambda's `provided.al2023` runtime runs), deflated; folders are created.
pub fn zip_bootstrap(binary: &std::path::Path, out: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut zip = zip::ZipWriter::new(std::fs::File::create(out)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)?;
    std::io::copy(&mut std::fs::File::open(binary)?, &mut zip)?;
    zip.finish()?;
    Ok(())
}

/// Cargo's target dir for the workspace at `root`: `CARGO_TARGET_DIR` (relative to `root`
/// when relative) or `root/target`.
pub fn target_dir(root: &std::path::Path) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .map_or_else(|| root.join("target"), |t| root.join(t))
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

#[cfg(test)]
mod tests {
    /// The zip holds one executable `bootstrap` with the binary's bytes.
    #[test]
    fn the_function_zip_holds_one_executable_bootstrap() {
        let dir = std::env::temp_dir().join(format!("gen-zip-{}", std::process::id()));
        let (binary, out) = (dir.join("bin"), dir.join("nested/bootstrap.zip"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(&binary, b"\x7fELF not really").expect("binary");
        super::zip_bootstrap(&binary, &out).expect("zipped");
        let mut zip =
            zip::ZipArchive::new(std::fs::File::open(&out).expect("zip")).expect("readable");
        assert_eq!(zip.len(), 1);
        let mut entry = zip.by_index(0).expect("entry");
        assert_eq!(entry.name().expect("a name"), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("bytes");
        assert_eq!(bytes, b"\x7fELF not really");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

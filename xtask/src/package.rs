//! `cargo xtask package --arch <x86_64|arm64>`: the release `bootstrap` for Amazon Linux 2023,
//! checked (machine, glibc ≤ 2.34) and zipped where `Pulumi.yaml`'s `fn::fileArchive` looks.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use stackgen::settings::Architecture;

use crate::{elf, toolchain};

const BUILD: [&str; 7] = [
    "--release",
    "--locked",
    "-p",
    "function",
    "--bin",
    "bootstrap",
    "--target",
];

/// Builds the binary: natively for the host's architecture, otherwise with `cargo zigbuild`
/// and the glibc version pinned in the target (`<triple>.2.34`), the way cargo-lambda does.
fn build(root: &Path, arch: Architecture) -> Result<PathBuf> {
    let triple = arch.rust_target();
    toolchain::rust_target(triple)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    if Architecture::host() == Some(arch) {
        cmd.arg("build").args(BUILD).arg(triple);
    } else {
        let bin = toolchain::zigbuild(root)?;
        let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))?;
        let (major, minor) = elf::MAX_GLIBC;
        cmd.env("PATH", path)
            .arg("zigbuild")
            .args(BUILD)
            .arg(format!("{triple}.{major}.{minor}"));
    }
    eprintln!("$ {cmd:?}");
    let status = cmd.current_dir(root).status().context("running cargo")?;
    if !status.success() {
        bail!("building the {} bootstrap failed ({status})", arch.as_str());
    }
    Ok(lambda_zip::target_dir(root)
        .join(triple)
        .join("release/bootstrap"))
}

/// Builds, checks and zips the bootstrap for `arch`; returns the zip's path.
pub fn package(root: &Path, arch: Architecture) -> Result<PathBuf> {
    let binary = build(root, arch)?;
    elf::check(&binary, Some(arch))?;
    let out = root.join(stackgen::function_archive(arch));
    lambda_zip::zip_bootstrap(&binary, &out)
        .with_context(|| format!("writing {}", out.display()))?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!(
        "packaged {} ({:.1} MiB binary, {:.1} MiB zip)",
        out.display(),
        size(&binary) as f64 / 1048576.0,
        size(&out) as f64 / 1048576.0
    );
    Ok(out)
}

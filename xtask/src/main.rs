//! `cargo xtask <package|binary-check|ci>`: the project's automation, in Rust.

mod elf;
mod package;
mod toolchain;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use stackgen::settings::Architecture;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build the release `bootstrap` for one architecture, check it and zip it for Pulumi
    /// (target/lambda/<arch>/bootstrap.zip).
    Package {
        /// x86_64 or arm64 (Graviton); default: this machine's.
        #[arg(long)]
        arch: Option<Architecture>,
    },
    /// Fail unless a binary needs at most glibc 2.34 (and is built for `--arch`, if given).
    BinaryCheck {
        binary: PathBuf,
        #[arg(long)]
        arch: Option<Architecture>,
    },
    /// Everything CI runs: fmt, clippy, Pulumi.yaml check, both packages, all tests.
    Ci,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo(args: &[&str]) -> Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root())
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn host() -> Result<Architecture> {
    Architecture::host().context("this machine is neither x86_64 nor aarch64")
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&[
        "run", "--quiet", "--locked", "-p", "stackgen", "--", "--check",
    ])?;
    for arch in Architecture::ALL {
        package::package(&root(), arch)?;
    }
    // The e2e suite runs the other architecture's bootstrap under qemu-user.
    if host()? == Architecture::X86_64 {
        toolchain::qemu()?;
    }
    // Both tiers: the hermetic tests and the end-to-end ones (`#[ignore]`d by `cargo test`:
    // they start the emulator and run the packaged bootstraps).
    cargo(&["test", "--workspace", "--locked", "--", "--include-ignored"])
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Package { arch } => package::package(&root(), arch.map_or_else(host, Ok)?).map(|_| ()),
        Cmd::BinaryCheck { binary, arch } => elf::check(&binary, arch),
        Cmd::Ci => ci(),
    }
}

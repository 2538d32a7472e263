//! Installs what cross-building and smoke-testing need, from the registries this machine
//! reaches: the Rust target (rustup), `cargo-zigbuild` and Zig (PyPI, into a project venv, so
//! the glibc version can be pinned), and `qemu-user` with an aarch64 glibc (Debian packages).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Pinned so a clean checkout builds with the same linker as the numbers in BENCHMARKS.md.
const ZIGBUILD: [&str; 2] = ["cargo-zigbuild==0.24.1", "ziglang==0.17.1"];

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// `rustup target add <triple>` (a no-op when it is installed).
pub fn rust_target(triple: &str) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (the toolchain comes from rustup)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == triple)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", triple]))
}

/// The venv's `bin` folder holding `cargo-zigbuild` and Zig, installed on first use.
pub fn zigbuild(root: &Path) -> Result<PathBuf> {
    let venv = root.join(".local/zigbuild");
    let bin = venv.join("bin");
    if bin.join("cargo-zigbuild").exists() {
        return Ok(bin);
    }
    eprintln!(
        "installing cargo-zigbuild and Zig from PyPI into {}",
        venv.display()
    );
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(ZIGBUILD))?;
    Ok(bin)
}

/// `qemu-aarch64` and an aarch64 glibc, installed with apt when missing (CI runs as root).
pub fn qemu() -> Result<PathBuf> {
    let emulation = stackgen::settings::Architecture::Arm64.emulation();
    let qemu = PathBuf::from(emulation.qemu);
    if qemu.exists() && Path::new(emulation.sysroot).join("lib/libc.so.6").exists() {
        return Ok(qemu);
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(emulation.packages);
    let installed = apt(&install) || (apt(&["update", "-q"]) && apt(&install));
    if !installed {
        bail!(
            "cannot install {} with apt-get (needs root): install them to run the arm64 \
             bootstrap under emulation",
            emulation.packages.join(" ")
        );
    }
    Ok(qemu)
}

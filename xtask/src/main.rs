//! `cargo xtask <package|glibc-check|ci>`: the project's automation, in Rust.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

/// Amazon Linux 2023 ships glibc 2.34: the bootstrap may not need anything newer.
const MAX_GLIBC: (u32, u32) = (2, 34);

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build the release `bootstrap`, check its glibc needs and zip it for Pulumi.
    Package,
    /// Fail if a binary references a glibc symbol version newer than 2.34.
    GlibcCheck { binary: PathBuf },
    /// Everything CI runs: fmt, clippy, Pulumi.yaml check, package, all tests.
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

/// The glibc versions a binary needs (from its `.gnu.version_r` section).
fn glibc_needs(binary: &Path) -> Result<Vec<(u32, u32)>> {
    use object::read::elf::{FileHeader, SectionTable};
    let data = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let header = object::elf::FileHeader64::<object::Endianness>::parse(&*data)
        .context("not a 64-bit ELF file")?;
    let endian = header.endian()?;
    let sections: SectionTable<'_, object::elf::FileHeader64<object::Endianness>> =
        header.sections(endian, &*data)?;
    let mut out = Vec::new();
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, &*data)? {
        let strings = sections.strings(endian, &*data, link)?;
        while let Some((_, mut auxs)) = needs.next()? {
            while let Some(aux) = auxs.next()? {
                let name = String::from_utf8_lossy(aux.name(endian, strings)?).into_owned();
                if let Some(v) = name.strip_prefix("GLIBC_") {
                    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
                    out.push((parts.next().unwrap_or(0), parts.next().unwrap_or(0)));
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn glibc_check(binary: &Path) -> Result<()> {
    let needs = glibc_needs(binary)?;
    let newest = needs.last().copied().unwrap_or((0, 0));
    if newest > MAX_GLIBC {
        bail!(
            "{} needs GLIBC_{}.{}, newer than Amazon Linux 2023's {}.{}",
            binary.display(),
            newest.0,
            newest.1,
            MAX_GLIBC.0,
            MAX_GLIBC.1
        );
    }
    println!(
        "glibc check: {} needs at most GLIBC_{}.{} (limit {}.{})",
        binary.display(),
        newest.0,
        newest.1,
        MAX_GLIBC.0,
        MAX_GLIBC.1
    );
    Ok(())
}

fn package() -> Result<PathBuf> {
    cargo(&[
        "build",
        "--release",
        "--locked",
        "-p",
        "function",
        "--bin",
        "bootstrap",
    ])?;
    // Cargo builds where CARGO_TARGET_DIR says (relative to the workspace root); the zip
    // goes where Pulumi.yaml's fileArchive looks for it.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root().join("target"), |t| root().join(t));
    let binary = target.join("release/bootstrap");
    glibc_check(&binary)?;
    let out = root().join("target/lambda/bootstrap.zip");
    std::fs::create_dir_all(out.parent().context("zip has a folder")?)?;
    let file = std::fs::File::create(&out)?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)?;
    std::io::copy(&mut std::fs::File::open(&binary)?, &mut zip)?;
    zip.finish()?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!(
        "packaged {} ({:.1} MiB binary, {:.1} MiB zip)",
        out.display(),
        size(&binary) as f64 / 1048576.0,
        size(&out) as f64 / 1048576.0
    );
    Ok(out)
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Package => package().map(|_| ()),
        Cmd::GlibcCheck { binary } => glibc_check(&binary),
        Cmd::Ci => {
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
            cargo(&["run", "--quiet", "--locked", "-p", "gen", "--", "--check"])?;
            package()?;
            cargo(&["test", "--workspace", "--locked"])
        }
    }
}

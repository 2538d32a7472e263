//! What a packaged `bootstrap` needs from its host: its machine and its glibc symbol versions.

use std::path::Path;

use anyhow::{Context, Result, bail};
use object::read::elf::{FileHeader, SectionTable};

use stackgen::settings::Architecture;

/// Amazon Linux 2023 ships glibc 2.34: the bootstrap may not need anything newer.
pub const MAX_GLIBC: (u32, u32) = (2, 34);

type Header = object::elf::FileHeader64<object::Endianness>;

/// The ELF machine a binary is built for, as a Lambda architecture.
fn machine(binary: &Path, data: &[u8]) -> Result<Architecture> {
    let header = Header::parse(data).context("not a 64-bit ELF file")?;
    let endian = header.endian()?;
    match header.e_machine(endian) {
        object::elf::EM_X86_64 => Ok(Architecture::X86_64),
        object::elf::EM_AARCH64 => Ok(Architecture::Arm64),
        other => bail!("{} is built for ELF machine {other}", binary.display()),
    }
}

/// The glibc versions a binary needs (from its `.gnu.version_r` section).
fn glibc_needs(data: &[u8]) -> Result<Vec<(u32, u32)>> {
    let header = Header::parse(data).context("not a 64-bit ELF file")?;
    let endian = header.endian()?;
    let sections: SectionTable<'_, Header> = header.sections(endian, data)?;
    let mut out = Vec::new();
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, data)? {
        let strings = sections.strings(endian, data, link)?;
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

/// Fails unless `binary` is built for `arch` and needs at most glibc 2.34.
pub fn check(binary: &Path, arch: Option<Architecture>) -> Result<()> {
    let data = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let built_for = machine(binary, &data)?;
    if let Some(arch) = arch
        && arch != built_for
    {
        bail!(
            "{} is a {} binary, not {}",
            binary.display(),
            built_for.as_str(),
            arch.as_str()
        );
    }
    let needs = glibc_needs(&data)?;
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
        "binary check: {} is {} and needs at most GLIBC_{}.{} (limit {}.{})",
        binary.display(),
        built_for.as_str(),
        newest.0,
        newest.1,
        MAX_GLIBC.0,
        MAX_GLIBC.1
    );
    Ok(())
}

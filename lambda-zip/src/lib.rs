//! The function's deployment zip (`bootstrap` at its root, executable) and the workspace's
//! cargo target dir: the file plumbing `cargo xtask package` and the local stack share.

/// Writes the zip `fn::fileArchive` deploys: `binary` as `bootstrap` at its root, executable
/// (what Lambda's `provided.al2023` runtime runs), deflated; folders are created. The zip
/// appears whole or not at all.
pub fn zip_bootstrap(binary: &std::path::Path, out: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Written beside and renamed into place: a run killed mid-write leaves no truncated
    // zip that a later run would take for an up-to-date one.
    let partial = out.with_extension("zip.partial");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&partial)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)?;
    std::io::copy(&mut std::fs::File::open(binary)?, &mut zip)?;
    zip.finish()?.sync_all()?;
    std::fs::rename(&partial, out)
}

/// Cargo's target dir for the workspace at `root`: `CARGO_TARGET_DIR` (relative to `root`
/// when relative) or `root/target`.
pub fn target_dir(root: &std::path::Path) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .map_or_else(|| root.join("target"), |t| root.join(t))
}

#[cfg(test)]
mod tests {
    /// The zip holds one executable `bootstrap` with the binary's bytes.
    #[test]
    fn the_function_zip_holds_one_executable_bootstrap() {
        let dir = std::env::temp_dir().join(format!("lambda-zip-{}", std::process::id()));
        let (binary, out) = (dir.join("bin"), dir.join("nested/bootstrap.zip"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(&binary, b"\x7fELF not really").expect("binary");
        super::zip_bootstrap(&binary, &out).expect("zipped");
        assert!(
            !out.with_extension("zip.partial").exists(),
            "renamed into place"
        );
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

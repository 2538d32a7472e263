//! The README's AWS CLI block, run line by line against a running local stack with only
//! the exports `up` printed (AWS CLI v1 from PyPI).

use std::path::{Path, PathBuf};
use std::process::Command;

/// AWS CLI v1 from PyPI in `<repo>/.local/awscli`, installed on first use.
fn aws_cli() -> PathBuf {
    let venv = local::repo_root().join(".local/awscli");
    let python = tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(local::emulator::venv(&venv, &["awscli==1.46.3"]))
        .unwrap_or_else(|e| panic!("installing the AWS CLI from PyPI failed: {e}"));
    python.parent().expect("the venv's bin").to_owned()
}

/// The README's checked block, run line by line with the `export` lines `up` printed.
pub(super) fn aws_cli_lines_work(dir: &Path) {
    let printed = std::fs::read_to_string(dir.join("up.out")).expect("up's output");
    let exports: Vec<(String, String)> = printed
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let keys: Vec<&str> = exports.iter().map(|(k, _)| k.as_str()).collect();
    for needed in ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"] {
        assert!(keys.contains(&needed), "up prints no {needed}: {printed}");
    }
    let block =
        local::readme_block("aws-cli-check", "sh").expect("the README's checked AWS CLI block");
    let lines: Vec<&str> = block.lines().filter(|l| l.starts_with("aws ")).collect();
    assert!(lines.len() >= 5, "{block}");
    let bin = aws_cli();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for line in lines {
        // Only what `up` printed: no credentials or region from this machine's config.
        let mut c = Command::new("bash");
        c.arg("-c")
            .arg(line)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", dir)
            .envs(exports.iter().map(|(k, v)| (k, v)));
        let out = super::output(c);
        assert!(
            out.status.success(),
            "{line}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

//! `cargo run -p stackgen [-- --check]`: writes (or checks) the repo's `Pulumi.yaml`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;

/// Generate the Pulumi YAML program from the typed stack model.
#[derive(Debug, Parser)]
struct Args {
    /// Check instead of writing: fail when Pulumi.yaml is stale, a stack file is invalid or
    /// the program does not fit the pulumi-aws schema.
    #[arg(long)]
    check: bool,
    /// Where Pulumi.yaml lives (default: the workspace root).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let path = args.out.unwrap_or_else(stackgen::default_output);
    let program = stackgen::stack::program().context("building the program")?;
    if !args.check {
        stackgen::render::write(&path, &program)?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    if stackgen::render::check(&path, &program)? == stackgen::render::Drift::Stale {
        bail!("{} is stale: run `cargo run -p stackgen`", path.display());
    }
    let schema = stackgen::schema::Schema::bundled()?;
    let dir = path.parent().context("Pulumi.yaml has a folder")?;
    let mut findings = stackgen::schema::validate(&program, &schema, None);
    for stack in stackgen::STACKS {
        let file = stackgen::Settings::load_stack_file(&dir.join(format!("Pulumi.{stack}.yaml")))?;
        stackgen::names::check_stack(stack, &file.region)?;
        let config = serde_json::to_value(&file.settings)?;
        findings.extend(stackgen::schema::validate(&program, &schema, Some(&config)));
    }
    if !findings.is_empty() {
        bail!(
            "Pulumi.yaml does not fit pulumi-aws {}:\n{}",
            schema.version,
            findings.join("\n")
        );
    }
    println!(
        "{} is up to date and valid for pulumi-aws {}",
        path.display(),
        schema.version
    );
    Ok(())
}

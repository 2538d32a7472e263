//! `cargo run -p gen [-- --check]`: writes (or checks) the repo's `Pulumi.yaml`.

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
    let path = args.out.unwrap_or_else(r#gen::default_output);
    let program = r#gen::stack::program().context("building the program")?;
    if !args.check {
        r#gen::render::write(&path, &program)?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    if r#gen::render::check(&path, &program)? == r#gen::render::Drift::Stale {
        bail!("{} is stale: run `cargo run -p gen`", path.display());
    }
    let schema = r#gen::schema::Schema::bundled()?;
    let dir = path.parent().context("Pulumi.yaml has a folder")?;
    let mut findings = r#gen::schema::validate(&program, &schema, None);
    for stack in r#gen::STACKS {
        let file = r#gen::Settings::load_stack_file(&dir.join(format!("Pulumi.{stack}.yaml")))?;
        r#gen::names::check_stack(stack, &file.region)?;
        let config = serde_json::to_value(&file.settings)?;
        findings.extend(r#gen::schema::validate(&program, &schema, Some(&config)));
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

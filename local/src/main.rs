//! `cargo run -p local -- [up|send|status|watch|query|redrive]`: the local stack's CLI.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = local::cli::Cli::parse();
    local::cli::run(cli).await?;
    Ok(())
}

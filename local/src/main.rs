//! `cargo run -p local -- [up|send|status|watch|query|redrive]`: the local stack's CLI.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Warnings and errors of the mapping and deploy go to stderr (RUST_LOG to change).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    local::cli::run(local::cli::Cli::parse()).await?;
    Ok(())
}

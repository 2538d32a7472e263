//! `cargo run -p local -- [up|send|status|watch|query|rejected|logs|redrive|bench]`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Warnings and errors of the mapping and deploy go to stderr (RUST_LOG to change).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match local::cli::run(local::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The error, then each cause not already in its text.
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let part = s.to_string();
                if !text.contains(&part) {
                    text = format!("{text}: {part}");
                }
                source = s.source();
            }
            if text.contains("Connection refused") || text.contains("dispatch failure") {
                // An SDK transport message alone says nothing about what to do.
                text.push_str(
                    "\n  (the emulator did not answer: has the stack stopped? \
                     `cargo run -p local -- status` says)",
                );
            }
            eprintln!("error: {text}");
            std::process::ExitCode::FAILURE
        }
    }
}

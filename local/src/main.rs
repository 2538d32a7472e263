//! `cargo run -p local -- [up|send|status|watch|query|rejected|logs|redrive|bench|cost]`.

use clap::Parser;
use local::cli::{self, terminal};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    terminal::init_logging();
    match cli::run(cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", terminal::error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

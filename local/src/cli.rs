//! The `local` command line: `up`, `send`, `status`, `watch`, `query`, `redrive`.

use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::clients::Clients;
use crate::error::Error;
use crate::stack::{LocalStack, Package, StateFile, UpOptions, state_dir};
use crate::status::{self, Counters};
use crate::{producer, repo_root};

/// Run the real-time processing stack on this machine (no AWS account needed).
#[derive(Debug, Parser)]
#[command(name = "local", version)]
pub struct Cli {
    /// Which stack's settings to use (Pulumi.<stack>.yaml).
    #[arg(long, global = true, default_value = "dev")]
    pub stack: String,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

/// Sub-commands; without one, `up`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Bring the whole stack up, send demo data and show it flowing (Ctrl-C stops).
    Up {
        /// Emulator port (default: a free one).
        #[arg(long)]
        port: Option<u16>,
        /// Demo records to send once the stack is up.
        #[arg(long, default_value_t = 1000)]
        demo: usize,
        /// Demo send rate, records/s.
        #[arg(long, default_value_t = 250)]
        rate: u64,
        /// Exit once every demo record is processed (instead of running until Ctrl-C).
        #[arg(long)]
        exit: bool,
    },
    /// Send sample IoT/clickstream records (to the local stack, or with --aws to AWS).
    Send {
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Records/s (0: as fast as possible).
        #[arg(long, default_value_t = 500)]
        rate: u64,
        /// Send to this stream in real AWS (normal credentials), e.g. the DataStreamName output.
        #[arg(long)]
        aws_stream: Option<String>,
    },
    /// One look at the running stack.
    Status,
    /// A live view of the running stack.
    Watch {
        #[arg(long, default_value_t = 2)]
        interval: u64,
    },
    /// Aggregates of one entity between two window starts.
    Query {
        #[arg(long)]
        entity: String,
        #[arg(long, default_value = "1970-01-01T00:00:00Z")]
        from: String,
        #[arg(long, default_value = "9999-12-31T23:59:59Z")]
        to: String,
    },
    /// Re-process the batches in the failure queue.
    Redrive,
    /// End-to-end benchmark: bring a stack up, offer increasing rates, print a table.
    Bench {
        /// Offered rates, records/s.
        #[arg(long, value_delimiter = ',', default_value = "250,500,1000,2000,3000")]
        rates: Vec<u64>,
        /// Seconds per rate.
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
}

fn bar(len: u64, msg: &str) -> ProgressBar {
    let p = ProgressBar::new(len);
    p.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed}] {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    p.set_message(msg.to_owned());
    p
}

async fn connect(stack: &str) -> Result<(Clients, StateFile), Error> {
    let state = StateFile::load(&repo_root(), stack)?;
    let clients = Clients::local(&state.endpoint, &state.deployed.region).await;
    Ok((clients, state))
}

fn saved_counters(stack: &str) -> Counters {
    let path = state_dir(&repo_root(), stack).join("counters.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Runs the command line.
pub async fn run(cli: Cli) -> Result<(), Error> {
    let cmd = cli.cmd.unwrap_or(Cmd::Up {
        port: None,
        demo: 1000,
        rate: 250,
        exit: false,
    });
    match cmd {
        Cmd::Up {
            port,
            demo,
            rate,
            exit,
        } => up(&cli.stack, port, demo, rate, exit).await,
        Cmd::Send {
            count,
            rate,
            aws_stream,
        } => {
            let (clients, stream) = match aws_stream {
                Some(s) => (Clients::from_env().await, s),
                None => {
                    let (c, s) = connect(&cli.stack).await?;
                    (c, s.deployed.output("DataStreamName").to_owned())
                }
            };
            let now = chrono::Utc::now().timestamp_millis();
            let records = producer::samples(count, now as u64, now, 60);
            let p = bar(count as u64, "sending");
            let r = producer::send(&clients, &stream, &records, rate, Some(&p)).await?;
            p.finish();
            println!(
                "sent {} records to {stream} in {:.1} s ({} entries retried)",
                r.sent,
                r.elapsed.as_secs_f64(),
                r.retried_entries
            );
            Ok(())
        }
        Cmd::Status => {
            let (c, s) = connect(&cli.stack).await?;
            print!(
                "{}",
                status::render(&c, &s.deployed, &saved_counters(&cli.stack)).await?
            );
            Ok(())
        }
        Cmd::Watch { interval } => {
            let (c, s) = connect(&cli.stack).await?;
            loop {
                let screen = status::render(&c, &s.deployed, &saved_counters(&cli.stack)).await?;
                print!("\x1b[2J\x1b[H{screen}");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(interval)) => {}
                }
            }
        }
        Cmd::Query { entity, from, to } => {
            let (c, s) = connect(&cli.stack).await?;
            let items = status::query(
                &c,
                s.deployed.output("MetricsTableName"),
                &entity,
                &from,
                &to,
            )
            .await?;
            print!("{}", status::render_items(&items));
            Ok(())
        }
        Cmd::Bench { rates, secs } => {
            let opts = UpOptions {
                root: repo_root(),
                stack: cli.stack.clone(),
                port: None,
                package: Package::Always,
                progress: true,
                state_dir: Some(repo_root().join("target/bench-e2e")),
            };
            let local = LocalStack::up(&opts).await?;
            println!(
                "stack {}: {} shard(s), parallelization factor {}, batch {}, window {} s",
                cli.stack,
                local
                    .clients
                    .kinesis
                    .list_shards()
                    .stream_name(local.deployed.output("DataStreamName"))
                    .send()
                    .await
                    .map(|s| s.shards().len())
                    .unwrap_or(0),
                local.deployed.mapping.parallelization_factor,
                local.deployed.mapping.batch_size,
                local.deployed.mapping.batching_window_secs
            );
            let rows = crate::bench::run(&local, &rates, secs).await;
            local.down().await;
            print!("{}", crate::bench::table(&rows?));
            Ok(())
        }
        Cmd::Redrive => {
            let (c, s) = connect(&cli.stack).await?;
            let dir = state_dir(&repo_root(), &cli.stack);
            let env = [
                ("AWS_ENDPOINT_URL", s.endpoint.clone()),
                ("AWS_REGION", s.deployed.region.clone()),
                ("AWS_ACCESS_KEY_ID", crate::clients::LOCAL_KEY.0.to_owned()),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    crate::clients::LOCAL_KEY.1.to_owned(),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            let r =
                crate::esm::redrive(&c, &s.deployed, &dir.join("function/bootstrap"), env, &dir)
                    .await?;
            println!(
                "redrove {} batches ({} records); {} still failing",
                r.batches, r.records, r.still_failing
            );
            Ok(())
        }
    }
}

async fn up(
    stack: &str,
    port: Option<u16>,
    demo: usize,
    rate: u64,
    exit: bool,
) -> Result<(), Error> {
    let opts = UpOptions {
        root: repo_root(),
        stack: stack.to_owned(),
        port,
        package: Package::Always,
        progress: true,
        state_dir: None,
    };
    let local = LocalStack::up(&opts).await?;
    println!("local stack '{stack}' is up at {}", local.emulator.endpoint);
    println!("point the AWS CLI at it (the seed's Testing commands then work as written):\n");
    print!("{}", local.exports());
    println!();
    for (k, v) in &local.deployed.outputs {
        println!("  {k:<22} {v}");
    }
    println!();
    let stream = local.deployed.output("DataStreamName").to_owned();
    let now = chrono::Utc::now().timestamp_millis();
    let records = producer::samples(demo, now as u64, now, 120);
    let p = bar(demo as u64, "sending demo records");
    producer::send(&local.clients, &stream, &records, rate, Some(&p)).await?;
    p.finish();
    let counters_path = local.state_dir.join("counters.json");
    loop {
        let counters = local.counters();
        if let Ok(t) = serde_json::to_string(&counters) {
            let _ = std::fs::write(&counters_path, t);
        }
        let screen = status::render(&local.clients, &local.deployed, &counters).await?;
        print!(
            "\x1b[2J\x1b[H{screen}\n(Ctrl-C stops the stack; `cargo run -p local -- send` adds data)\n"
        );
        if exit && counters.records_done >= demo as u64 {
            break;
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
    local.down().await;
    Ok(())
}

//! The `realtime` command line (`cargo run -p local`): `up`, `send`, `status`, `watch`,
//! `query`, `rejected`, `logs`, `redrive`, `compact`, `sql`, `bench`, for the local stack or (`--aws`,
//! `--outputs`) a deployed one. Every argument is checked here, at the edge.

mod bench_view;
mod compact;
mod cost_view;
mod logs;
mod monitor;
mod observe;
mod redrive;
mod rejected;
mod send;
mod sql;
mod target;
pub mod terminal;
mod times;
mod view;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::build::{Build, Profile};
use crate::error::Error;
use crate::repo_root;
use crate::stack::UpOptions;
pub use target::Target;

/// Run the real-time processing stack on this machine (no AWS account needed), or operate
/// the stack `pulumi up` deployed (--aws, --outputs).
#[derive(Debug, Parser)]
#[command(name = "realtime", version)]
pub struct Cli {
    /// Which stack's settings to use (Pulumi.<stack>.yaml).
    #[arg(long, global = true, default_value = "dev")]
    pub stack: String,
    /// Folder the stacks keep their state in (default: <repo>/.local/state).
    #[arg(long, global = true, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Operate the stack deployed by `pulumi up` instead of the local one: its outputs from
    /// `pulumi stack output --json --stack <stack>` (the pulumi CLI on PATH), with your
    /// usual AWS credentials, profile and region.
    #[arg(long, global = true, conflicts_with = "outputs")]
    pub aws: bool,
    /// Operate the deployed stack whose outputs this file holds (what `pulumi stack output
    /// --json` printed), with your usual AWS credentials, profile and region.
    #[arg(long, global = true, value_name = "FILE")]
    pub outputs: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

/// Sub-commands; without one, `up`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Bring the whole stack up, send demo data and show it flowing (Ctrl-C stops).
    Up {
        /// Emulator port on 127.0.0.1 (default: a free one).
        #[arg(long)]
        port: Option<u16>,
        /// Demo records to send once the stack is up (0: none).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
        demo: u64,
        /// Demo send rate, records per second.
        #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        rate: u64,
        /// Exit once every demo record is processed (instead of running until Ctrl-C).
        #[arg(long)]
        exit: bool,
        /// Run the function built for x86_64 or arm64 instead of the stack's
        /// lambdaArchitecture (the other one than this machine's runs under qemu-user).
        #[arg(long)]
        arch: Option<stackgen::settings::Architecture>,
        /// Run the release zip `pulumi up` deploys (`cargo xtask package`) instead of the
        /// dev-profile build (quicker to build the first time: it reuses what
        /// `cargo run -p local` compiled). A foreign --arch always runs the release zip.
        #[arg(long)]
        release: bool,
        /// Use the zip as it is, without running cargo first (it must exist).
        #[arg(long)]
        skip_build: bool,
    },
    /// Send sample IoT/clickstream records to the running local stack (or, with
    /// --aws-stream, to a stream in AWS).
    Send {
        /// How many records.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        count: u64,
        /// Records per second (0: as fast as the stream takes them).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(0..=100_000))]
        rate: u64,
        /// Send to this stream in real AWS (your usual credentials), e.g. the DataStreamName
        /// output of `pulumi up`.
        #[arg(long, value_name = "STREAM")]
        aws_stream: Option<String>,
    },
    /// One look at the stack: traffic, data quality, failed batches, alarms, latest
    /// aggregates (a deployed stack: its mapping, the last minutes of metrics, alarms,
    /// kept batches).
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Minutes of CloudWatch metrics to show (a deployed stack).
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
        minutes: u32,
    },
    /// Status, kept up to date: redrawn on a terminal, a new report on change otherwise.
    Watch {
        /// Seconds between looks.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
        interval: u64,
    },
    /// The aggregates of one entity, window by window.
    Query {
        /// The entity (the record's sensorId / deviceId / userId, or its partition key).
        #[arg(long)]
        entity: String,
        /// From this time (RFC 3339 with Z or an offset, or epoch seconds or milliseconds);
        /// the window holding it is included. Default: the first window.
        #[arg(long)]
        from: Option<String>,
        /// From this long ago instead of --from: 90s, 15m, 2h, 1d.
        #[arg(long, conflicts_with = "from")]
        since: Option<String>,
        /// Up to this time (same forms); windows starting at or before it. Default: the last.
        #[arg(long)]
        to: Option<String>,
        /// Quantiles of each metric to show, from its sketch (0 to 1, comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "0.5,0.95,0.99")]
        quantiles: Vec<f64>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The latest records quarantined under rejected/, with the reason each was refused.
    Rejected {
        /// How many records, newest first.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        limit: u64,
        /// Machine-readable output (one JSON array).
        #[arg(long)]
        json: bool,
    },
    /// The function's logs (this run's; --previous for the run before; a deployed stack's
    /// from CloudWatch Logs, --since), one readable line per entry.
    Logs {
        /// How many of the latest lines.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        lines: u64,
        /// The previous run's logs (kept when `up` starts again).
        #[arg(long)]
        previous: bool,
        /// Only the lines of the last this long: 90s, 15m, 2h, 1d (a deployed stack's
        /// CloudWatch Logs: 15m unless given).
        #[arg(long, value_name = "AGO")]
        since: Option<String>,
        /// Keep printing new lines as they come (Ctrl-C stops).
        #[arg(long, short)]
        follow: bool,
    },
    /// What the stack costs at AWS list prices (us-east-1), per million records and per
    /// month at a rate: the stack's settings next to cheaper alternatives. Request counts
    /// come from running the traffic through the function's own code over stores that bill
    /// like S3 and DynamoDB; no stack needs to run.
    Cost {
        /// Records per second.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        rate: u32,
        /// Distinct entities (sensors, users) the records spread over.
        #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        entities: u32,
        /// Seconds of traffic to simulate (more: steadier counts, slower).
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(10..=3600))]
        seconds: u32,
        /// Assumed billed milliseconds of an invocation besides per-record work (S3 and
        /// DynamoDB round trips; not measurable without AWS).
        #[arg(long, default_value_t = 40.0)]
        invocation_ms: f64,
        /// Assumed billed milliseconds per record.
        #[arg(long, default_value_t = 0.02)]
        record_ms: f64,
        /// Assumed milliseconds of one S3 request of the compactor within the region.
        #[arg(long, default_value_t = 20.0)]
        s3_request_ms: f64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Re-process the batches kept in the failed-batches bucket: invoke the function with
    /// each, rebuild the affected pages from the archive, delete the batch.
    Redrive {
        /// List the kept batches, their records and what the rebuild would read; change
        /// nothing.
        #[arg(long)]
        dry_run: bool,
        /// What becomes of a batch kept past its counting deadline (metricsTtlDays after
        /// the oldest window it can hold): kept in the bucket, or moved to the archive's
        /// rejected/ uncounted. Such a batch is never counted.
        #[arg(long, value_enum, default_value_t = crate::redrive::Expired::Keep)]
        expired: crate::redrive::Expired,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Merge archive hours into few large objects per shard (what the hourly schedule
    /// does): every hour the stream can still deliver into, or the hours named.
    Compact {
        /// An hour to compact, YYYY-MM-DDTHH in UTC, closed or not (repeatable).
        #[arg(long = "hour", value_name = "HOUR")]
        hours: Vec<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The running local stack's exports (AWS_ENDPOINT_URL, region, credentials) and
    /// outputs as shell lines: `eval "$(cargo run -q -p local -- env)"`.
    Env,
    /// SQL over the archive in the stack's Athena workgroup (tables `records`,
    /// `rejected`); --named runs a saved query, --list shows them.
    Sql(sql::Args),
    /// End-to-end benchmark: bring a stack up, offer increasing rates, print a table.
    Bench {
        /// Offered rates, records per second.
        #[arg(long, value_delimiter = ',', default_value = "250,500,1000,2000,3000")]
        rates: Vec<u64>,
        /// Seconds per rate.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
        secs: u64,
        /// Use the packaged target/lambda/<arch>/bootstrap.zip as it is.
        #[arg(long)]
        skip_build: bool,
        /// The rows as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Process-level benchmark: the packaged bootstrap and a Python 3.11 reference handler
    /// written from the seed, side by side on the same workload (init, CPU, peak RSS,
    /// requests and bytes per 1,000 records).
    BenchProcess {
        /// Batches of 100 records per run and implementation.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        batches: u64,
        /// Runs (each runs both, alternating which goes first).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
        runs: u64,
        /// Use the packaged target/lambda/<arch>/bootstrap.zip as it is.
        #[arg(long)]
        skip_build: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line.
pub async fn run(cli: Cli) -> Result<(), Error> {
    let target = Target::of(&cli);
    let cmd = cli.cmd.unwrap_or(Cmd::Up {
        port: None,
        demo: 1000,
        rate: 250,
        exit: false,
        arch: None,
        release: false,
        skip_build: false,
    });
    match cmd {
        Cmd::Up {
            port,
            demo,
            rate,
            exit,
            arch,
            release,
            skip_build,
        } => {
            target.local_only("up")?;
            let opts = UpOptions {
                root: repo_root(),
                stack: target.stack.clone(),
                port,
                build: Build {
                    profile: if release {
                        Profile::Release
                    } else {
                        Profile::Dev
                    },
                    rebuild: !skip_build,
                },
                progress: true,
                state_dir: Some(target.dir.clone()),
                architecture: arch,
            };
            view::up(&target, opts, demo, rate, exit).await
        }
        Cmd::Send {
            count,
            rate,
            aws_stream,
        } => send::run(&target, count, rate, aws_stream).await,
        Cmd::Status { json, minutes } => view::status(&target, json, minutes).await,
        Cmd::Watch { interval } => view::watch(&target, Duration::from_secs(interval)).await,
        Cmd::Query {
            entity,
            from,
            since,
            to,
            quantiles,
            json,
        } => {
            let from = match since {
                Some(s) => Some(times::since(&s, chrono::Utc::now())?),
                None => from,
            };
            // Checked before anything is asked of the stack.
            for t in [&from, &to].into_iter().flatten() {
                times::parse(t)?;
            }
            times::window_range(from.as_deref(), to.as_deref(), 1)?;
            if let Some(q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                return Err(Error::Usage(format!(
                    "--quantiles {q}: a quantile is between 0 and 1 (0.5 is the median)"
                )));
            }
            let (from, to) = (from.as_deref(), to.as_deref());
            view::query(&target, &entity, from, to, &quantiles, json).await
        }
        Cmd::Rejected { limit, json } => rejected::rejected(&target, limit as usize, json).await,
        Cmd::Logs {
            lines,
            previous,
            since,
            follow,
        } => {
            let minutes = since.as_deref().map(times::minutes_ago).transpose()?;
            let o = logs::Options {
                lines: lines as usize,
                previous,
                minutes,
                follow,
            };
            logs::run(&target, o).await
        }
        Cmd::Cost {
            rate,
            entities,
            seconds,
            invocation_ms,
            record_ms,
            s3_request_ms,
            json,
        } => {
            let traffic = cost_view::Traffic {
                rate,
                entities,
                seconds,
                invocation_ms,
                record_ms,
                s3_request_ms,
            };
            cost_view::command(&target.stack, traffic, json).await
        }
        Cmd::Bench {
            rates,
            secs,
            skip_build,
            json,
        } => {
            target.local_only("bench")?;
            if let Some(bad) = rates.iter().find(|r| !(1..=100_000).contains(*r)) {
                return Err(Error::Usage(format!(
                    "--rates: {bad} is not between 1 and 100000 records/s"
                )));
            }
            let local = target.bench_stack("bench-e2e", skip_build).await?;
            let about = format!(
                "stack {}: parallelization factor {}, batch {}, window {} s",
                target.stack,
                local.deployed.mapping.parallelization_factor,
                local.deployed.mapping.batch_size,
                local.deployed.mapping.batching_window_secs
            );
            // On stderr with --json, so stdout stays one JSON document.
            if json {
                eprintln!("{about}");
            } else {
                println!("{about}");
            }
            let rows = crate::bench::run(&local, &rates, secs).await;
            local.down().await;
            print_rows(&rows?, json, crate::bench::table)
        }
        Cmd::BenchProcess {
            batches,
            runs,
            skip_build,
            json,
        } => {
            target.local_only("bench-process")?;
            let local = target.bench_stack("bench-process", skip_build).await?;
            let rows = crate::bench_process::run(&local, batches, runs as usize).await;
            local.down().await;
            print_rows(&rows?, json, bench_view::table)
        }
        Cmd::Redrive {
            dry_run,
            expired,
            json,
        } => redrive::run(&target, dry_run, expired, json).await,
        Cmd::Compact { hours, json } => compact::run(&target, hours, json).await,
        Cmd::Sql(args) => sql::run(&target, args).await,
        Cmd::Env => {
            target.local_only("env")?;
            view::env(&target)
        }
    }
}

/// A benchmark's rows on stdout: one JSON document, or the table.
fn print_rows<T: serde::Serialize>(
    rows: &[T],
    json: bool,
    table: fn(&[T]) -> String,
) -> Result<(), Error> {
    if json {
        return view::json(&rows);
    }
    print!("{}", table(rows));
    Ok(())
}

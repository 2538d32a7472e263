//! Benchmark: one day of archive queried through the local stack's Athena (MiniStack with
//! DuckDB), as `realtime sql` runs it: bytes scanned and time of the saved queries over the
//! day. The day is written as the compactor leaves it (one object per shard and hour, lines
//! as the function writes them); `--rate` sets its records per second.
//!
//! `cargo run -p local --release --example sql_day -- [--rate 10] [--runs 3]`

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use function::archive::{Counted, Line, Payload, hour_prefix};
use function::position::{Position, SeqNo};
use local::build::Build;
use local::sql::{self, Place};
use local::stack::{LocalStack, UpOptions};
use stackgen::stack::outputs;

const SHARDS: u64 = 2;
const DAY_MS: i64 = 86_400_000;

fn arg(name: &str, default: u64) -> anyhow::Result<u64> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args.get(i + 1).context("a value")?.parse()?),
        None => Ok(default),
    }
}

/// One shard-hour's gzip object: `per_hour` records in position order.
fn object(shard: u64, hour_ms: i64, per_hour: u64) -> Vec<u8> {
    let shard_id = format!("shardId-{shard:012}");
    let mut text = Vec::new();
    for i in 0..per_hour {
        let arrival = hour_ms + (i * 3_600_000 / per_hour) as i64;
        let sensor = format!("sensor-{:04}", (i * 7 + shard) % 1_000);
        let body = format!(
            r#"{{"sensorId":"{sensor}","temperature":{}.{},"humidity":{},"timestamp":"{}"}}"#,
            15 + i % 20,
            i % 10,
            30 + i % 60,
            function::store::iso_millis(arrival - 150)
        );
        let seq = format!(
            "4959{:020}{:032}",
            hour_ms / 1_000,
            shard * 1_000_000_000 + i
        );
        Line {
            shard_id: &shard_id,
            pos: Position {
                seq: SeqNo::parse(&seq).expect("a sequence number"),
                sub: 0,
            },
            partition_key: &sensor,
            kinesis_partition_key: None,
            arrival_ms: arrival,
            payload: Payload::Json(body.as_bytes()),
            counted: Some(Counted {
                entity: sensor.as_str().into(),
                window_start_ms: function::window::window_start(arrival - 150, 60),
            }),
            reason: None,
        }
        .write_to(&mut text);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&text).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rate = arg("--rate", 10)?;
    let runs = arg("--runs", 3)?;
    let root = local::repo_root();
    let opts = UpOptions {
        root: root.clone(),
        stack: "dev".into(),
        port: None,
        build: Build::PACKAGED,
        progress: false,
        state_dir: Some(root.join(format!("target/bench-sql-{}", std::process::id()))),
        architecture: None,
    };
    let s = LocalStack::up(&opts).await?;
    let bucket = s.deployed.output(outputs::ARCHIVE_BUCKET_NAME).to_owned();
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let day = (now_ms / DAY_MS - 2) * DAY_MS;
    let per_hour = rate * 3_600 / SHARDS;
    let mut written = 0usize;
    for h in 0..24 {
        let hour_ms = day + h * 3_600_000;
        for shard in 0..SHARDS {
            let body = object(shard, hour_ms, per_hour);
            written += body.len();
            let key = format!(
                "raw/{}shardId-{shard:012}-{hour_ms}-compacted.ndjson.gz",
                hour_prefix(hour_ms)
            );
            s.clients
                .s3
                .put_object()
                .bucket(&bucket)
                .key(key)
                .body(body.into())
                .send()
                .await?;
        }
    }
    let records = per_hour * SHARDS * 24;
    println!(
        "one day at {rate} records/s: {records} records, {} objects, {written} B of gzip",
        SHARDS * 24
    );
    let place = Place {
        workgroup: s.deployed.output(outputs::ATHENA_WORKGROUP_NAME),
        database: s.deployed.output(outputs::GLUE_DATABASE_NAME),
    };
    let date = chrono::DateTime::from_timestamp_millis(day).context("day")?;
    let first = date.format("'%Y-%m-%dT00'").to_string();
    let last = date.format("'%Y-%m-%dT23'").to_string();
    let saved = sql::saved(&s.clients.athena, place.workgroup).await?;
    println!("| query | rows | bytes scanned | engine ms (median of {runs}) | wall ms (median) |");
    println!("|---|---|---|---|---|");
    for q in &saved {
        let mut params = vec![first.clone(), last.clone()];
        if q.name == "counts-per-window" {
            params.extend([first.clone(), last.clone()]);
        }
        if q.name == "records-of-entity" {
            params.insert(0, "'sensor-0007'".into());
        }
        let mut engine = Vec::new();
        let mut wall = Vec::new();
        let mut last_answer = None;
        for _ in 0..runs {
            let t = Instant::now();
            let a = sql::run(&s.clients.athena, &place, &q.query, &params).await?;
            wall.push(t.elapsed().as_millis());
            engine.push(a.engine_execution_ms);
            last_answer = Some(a);
        }
        engine.sort_unstable();
        wall.sort_unstable();
        let a = last_answer.context("a run")?;
        println!(
            "| {} | {} | {} | {} | {} |",
            q.name,
            a.rows.len(),
            a.data_scanned_bytes,
            engine[engine.len() / 2],
            wall[wall.len() / 2]
        );
    }
    s.down().await;
    Ok(())
}

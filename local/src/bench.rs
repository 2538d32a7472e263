//! End-to-end benchmark on the local stack: offered rates up to and beyond the stream's
//! write limit; throughput and PutRecords → aggregate-visible latency (probe records).

use std::fmt::Write;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kinesis::primitives::Blob;
use function::store::attr;

use crate::error::Error;
use crate::esm::now_ms;
use crate::producer;
use crate::stack::LocalStack;

/// One rate's results.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    pub offered: u64,
    pub records: u64,
    /// How long the producer took to put the records (at the offered rate, the run's
    /// length if the stream kept up).
    pub send_secs: f64,
    /// From the producer's end until every record was counted by the function.
    pub drain_secs: f64,
    /// Records / (send + drain).
    pub throughput: f64,
    pub retried_entries: u64,
    /// Probes measured (one a second).
    pub probes: usize,
    pub latency_median: f64,
    /// Nearest-rank 99th percentile, only from 100 probes on (below that it is the maximum).
    pub latency_p99: Option<f64>,
    pub latency_max: f64,
}

/// Sends one probe record and waits until its aggregate item is readable.
async fn probe(s: &LocalStack, id: &str) -> Result<f64, Error> {
    let t = now_ms();
    let data = serde_json::json!({ "sensorId": id, "probe": 1, "timestamp": t / 1000 });
    let started = Instant::now();
    s.clients
        .kinesis
        .put_record()
        .stream_name(
            s.deployed
                .output(stackgen::stack::outputs::DATA_STREAM_NAME),
        )
        .partition_key(id)
        .data(Blob::new(data.to_string()))
        .send()
        .await
        .map_err(Error::aws("kinesis:PutRecord"))?;
    let window_secs = s.deployed.window_secs()?;
    let window =
        function::store::window_label(function::window::window_start(t / 1000 * 1000, window_secs));
    loop {
        let got = s
            .clients
            .dynamodb
            .get_item()
            .table_name(
                s.deployed
                    .output(stackgen::stack::outputs::METRICS_TABLE_NAME),
            )
            .key(attr::PARTITION_KEY, AttributeValue::S(id.into()))
            .key(attr::SORT_KEY, AttributeValue::S(window.clone()))
            .send()
            .await
            .map_err(Error::aws("dynamodb:GetItem"))?;
        if got.item().is_some() {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Ok(f64::INFINITY);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs each offered rate for `secs` seconds.
pub async fn run(s: &LocalStack, rates: &[u64], secs: u64) -> Result<Vec<Row>, Error> {
    let mut rows = Vec::new();
    for &rate in rates {
        let n = (rate * secs) as usize;
        let before = s.counters().records_done;
        let samples = producer::samples(n, rate, now_ms(), 60);
        let started = Instant::now();
        let stream = s
            .deployed
            .output(stackgen::stack::outputs::DATA_STREAM_NAME)
            .to_owned();
        let clients = s.clients.clone();
        let sender =
            tokio::spawn(
                async move { producer::send(&clients, &stream, &samples, rate, None).await },
            );
        // One probe a second, each on its own: a probe waiting for its aggregate never
        // delays the next one.
        let probes = (0..secs).map(|i| {
            let id = format!("probe-{rate}-{i}");
            async move {
                tokio::time::sleep_until((started + Duration::from_secs(i)).into()).await;
                probe(s, &id).await
            }
        });
        let mut latencies = futures::future::try_join_all(probes).await?;
        let report = sender.await??;
        let send_secs = report.elapsed.as_secs_f64();
        let target = before + n as u64 + secs;
        while s.counters().records_done < target {
            if started.elapsed() > Duration::from_secs(600) {
                return Err(Error::Measure(format!("rate {rate}: records not drained")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let total = started.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        rows.push(Row {
            offered: rate,
            records: n as u64,
            send_secs,
            drain_secs: total - send_secs,
            throughput: n as f64 / total,
            retried_entries: report.retried_entries,
            probes: latencies.len(),
            latency_median: latencies[latencies.len() / 2],
            latency_p99: (latencies.len() >= 100)
                .then(|| latencies[(latencies.len() * 99).div_ceil(100) - 1]),
            latency_max: latencies.last().copied().unwrap_or_default(),
        });
    }
    Ok(rows)
}

/// A Markdown table of the rows.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| offered rec/s | records | send s | drain after send s | end-to-end rec/s | PutRecords entries retried | probes | visible median s | visible p99 s | visible max s |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} | {:.0} | {} | {} | {:.2} | {} | {:.2} |",
            r.offered,
            r.records,
            r.send_secs,
            r.drain_secs,
            r.throughput,
            r.retried_entries,
            r.probes,
            r.latency_median,
            r.latency_p99
                .map_or_else(|| "— (< 100 probes)".to_owned(), |p| format!("{p:.2}")),
            r.latency_max
        );
    }
    out.push_str(LEGEND);
    out
}

/// What the columns mean (printed under the table).
pub const LEGEND: &str = "
offered: the rate the producer aims at; send s: how long PutRecords took for all of them;
drain after send s: from the last put until the function had counted every record;
end-to-end rec/s: records / (send + drain), so below the offered rate by the drain (the
mapping's batching window, a batch's processing and the tail of the shard); entries
retried: PutRecords entries throttled and sent again; probes: independent records put once
a second, timed from their put until their aggregate was visible in the table (median, p99
from 100 probes up, max).
";

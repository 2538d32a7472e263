//! `send`: sample records to the running local stack's stream, a deployed stack's, or (with
//! `--aws-stream`) a stream in AWS, with progress; it says where they went.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::Target;
use crate::clients::Clients;
use crate::error::Error;
use crate::producer;
use crate::target::OutputsSource;
use stackgen::stack::outputs;

/// An endpoint on this machine: the local emulator's, as its exports set it.
fn loopback(endpoint: &str) -> bool {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    ["127.", "localhost", "[::1]"]
        .iter()
        .any(|p| rest.starts_with(p))
}

/// Runs `send`.
pub async fn run(
    target: &Target,
    count: u64,
    rate: u64,
    aws_stream: Option<String>,
) -> Result<(), Error> {
    let to_aws = aws_stream.is_some() || target.deployed.is_some();
    // --aws-stream names a stream in AWS: an emulator endpoint left in the environment by
    // the local stack's exports would send there instead. (A deployed target honours
    // AWS_ENDPOINT_URL: that is how the tests point one at the emulator.)
    let (clients, stream) = match aws_stream {
        Some(s) => {
            let clients = Clients::from_env().await;
            if let Some(e) = clients.kinesis_endpoint.as_deref().filter(|e| loopback(e)) {
                return Err(Error::Usage(format!(
                    "--aws-stream sends to AWS, but the Kinesis endpoint is {e}, this machine \
                     (the local stack's exports set AWS_ENDPOINT_URL): `unset \
                     AWS_ENDPOINT_URL AWS_ENDPOINT_URL_KINESIS` first, or drop --aws-stream to \
                     send to the local stack"
                )));
            }
            (clients, s)
        }
        None if target.deployed.is_some() => {
            let outputs = target
                .deployed
                .as_ref()
                .map(OutputsSource::load)
                .transpose()?;
            let stream = outputs
                .and_then(|o| o.get(outputs::DATA_STREAM_NAME).cloned())
                .unwrap_or_default();
            (Clients::from_env().await, stream)
        }
        None => {
            let (c, s) = target.connect().await?;
            (c, s.deployed.output(outputs::DATA_STREAM_NAME).to_owned())
        }
    };
    let place = match &clients.kinesis_endpoint {
        Some(e) if !to_aws => format!("the local stack '{}' at {e}", target.stack),
        Some(e) => format!(
            "{e} (the environment's endpoint), region {}",
            clients.region
        ),
        None => format!("AWS, region {}", clients.region),
    };
    eprintln!("sending {count} records to {stream} in {place}");
    let now = chrono::Utc::now().timestamp_millis();
    let samples = producer::samples(count as usize, now as u64, now, 60);
    records(&clients, &stream, &samples, rate).await
}

fn bar(len: u64, msg: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let p = ProgressBar::new(len);
    p.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed}] {rate}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} records/s", s.per_sec());
                },
            ),
    );
    p.set_message(msg.to_owned());
    p
}

/// Sends `records`; Ctrl-C stops it with a one-line summary.
pub(super) async fn records(
    c: &Clients,
    stream: &str,
    records: &[producer::Sample],
    rate: u64,
) -> Result<(), Error> {
    let total = records.len();
    let p = bar(total as u64, "sending");
    tokio::select! {
        r = producer::send(c, stream, records, rate, Some(&p)) => {
            let r = r?;
            p.finish_and_clear();
            println!(
                "sent {} records to {stream} in {:.1} s ({} entries retried)",
                r.sent,
                r.elapsed.as_secs_f64(),
                r.retried_entries
            );
            Ok(())
        }
        _ = tokio::signal::ctrl_c() => {
            p.abandon();
            eprintln!("\ninterrupted: sent {} of {total} records to {stream}", p.position());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::loopback;

    #[test]
    fn the_emulators_endpoints_are_loopback_and_aws_is_not() {
        for e in [
            "http://127.0.0.1:4566",
            "http://localhost:1234/",
            "http://[::1]:80",
        ] {
            assert!(loopback(e), "{e}");
        }
        for e in [
            "https://kinesis.eu-west-1.amazonaws.com",
            "https://vpce-1.kinesis.us-east-1.vpce.amazonaws.com",
            "http://10.0.0.5:4566",
        ] {
            assert!(!loopback(e), "{e}");
        }
    }
}

//! `rejected`: the quarantined records, newest first, read back from the archive's
//! `rejected/` objects (each with its reason and the record as it arrived).

use std::io::Read;

use super::Target;
use super::view::json;
use crate::error::Error;

/// One quarantined record as `rejected` prints it.
#[derive(Debug, serde::Serialize)]
struct RejectedView {
    key: String,
    arrival: String,
    shard: String,
    sequence: String,
    partition_key: String,
    reason: String,
    /// The record as it arrived: JSON text, a log message, other UTF-8 text, or
    /// `base64:…` for other bytes.
    data: String,
}

/// `rejected`.
pub async fn rejected(target: &Target, limit: usize, as_json: bool) -> Result<(), Error> {
    let op = target.operated().await?;
    let bucket = op.output(stackgen::stack::outputs::ARCHIVE_BUCKET_NAME);
    let reader = crate::archive::S3Reader {
        client: op.clients.s3.clone(),
        bucket: bucket.to_owned(),
    };
    use function::archive::ArchiveReader;
    let fail = |e: function::Error| Error::function("reading rejected/")(e);
    // Keys are time-ordered (rejected/YYYY/MM/DD/HH/…): read from the newest back.
    let keys = reader.keys("rejected/").await.map_err(fail)?;
    let mut out: Vec<RejectedView> = Vec::new();
    for key in keys.iter().rev() {
        let bytes = reader.get(key).await.map_err(fail)?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .map_err(Error::io(key.as_str()))?;
        for line in text.lines().rev() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let data = match (&v["data"], &v["message"]) {
                // Bytes that were not JSON: shown as text when they are UTF-8.
                (serde_json::Value::Null, serde_json::Value::Null) => {
                    use base64::Engine;
                    let b64 = s("dataBase64");
                    base64::engine::general_purpose::STANDARD
                        .decode(&b64)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .unwrap_or_else(|| format!("base64:{b64}"))
                }
                (serde_json::Value::Null, m) => m.as_str().unwrap_or_default().to_owned(),
                (d, _) => d.to_string(),
            };
            out.push(RejectedView {
                key: key.clone(),
                arrival: s("approximateArrivalTimestamp"),
                shard: s("shardId"),
                sequence: s("sequenceNumber"),
                partition_key: s("partitionKey"),
                reason: s("reason"),
                data,
            });
            if out.len() == limit {
                break;
            }
        }
        if out.len() == limit {
            break;
        }
    }
    if as_json {
        return json(&out);
    }
    if out.is_empty() {
        println!("no rejected records in s3://{bucket}/rejected/");
    }
    for r in &out {
        let preview: String = r.data.chars().take(80).collect();
        println!(
            "{} {} {} key={}\n  reason: {}\n  data:   {preview}",
            r.arrival, r.shard, r.sequence, r.partition_key, r.reason
        );
    }
    Ok(())
}

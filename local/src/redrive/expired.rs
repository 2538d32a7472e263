//! Kept batches past the counting deadline: too old to count exactly, so kept in the bucket
//! (the default) or moved, uncounted and with the reason, to the archive's `rejected/`.

use chrono::DateTime;
use function::archive::{self, ArchiveStore, Line, Payload};
use function::position::{Position, SeqNo};

use super::{Kept, Stores};
use crate::error::{BoxError, Error};
use crate::failure::KeptRecord;

/// What redrive does with a kept batch past its counting deadline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Expired {
    /// Leave it in the bucket, with the reason (nothing is lost; the alarm stays).
    #[default]
    Keep,
    /// Write its records to the archive's `rejected/` with the reason, uncounted, then
    /// delete the kept object.
    Quarantine,
}

/// Why the batch can no longer be counted exactly at `now_ms`, if it cannot: its oldest
/// record's aggregate may have expired in part ([`function::store::count_deadline_ms`]).
pub fn past_deadline(kept: &Kept, cfg: &function::Config, now_ms: i64) -> Option<String> {
    let first = kept.first_arrival_ms?;
    let deadline = function::store::count_deadline_ms(first, cfg.rules.max_past_ms, cfg.ttl_days);
    if now_ms < deadline {
        return None;
    }
    let day = |ms: i64| {
        DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |t| t.to_rfc3339())
    };
    Some(format!(
        "past its counting deadline: its oldest record arrived {}, and its aggregate's pages \
         may have expired since {} (metricsTtlDays {} after a window that may end up to {} \
         days before the arrival, less an hour); counting it now could count records twice. \
         Its records stay in the kept object; `redrive --expired quarantine` moves them to \
         rejected/, uncounted",
        day(first),
        day(deadline),
        cfg.ttl_days,
        cfg.rules.max_past_ms / 86_400_000,
    ))
}

/// The kept batch's records as rejected archive lines with `reason` (one per Kinesis
/// record, its data verbatim).
pub fn lines<'a>(kept: &'a Kept, records: &'a [KeptRecord], reason: &str) -> Vec<Line<'a>> {
    records
        .iter()
        .filter_map(|r| {
            Some(Line {
                shard_id: kept.shard(),
                pos: Position {
                    seq: SeqNo::parse(&r.sequence_number)?,
                    sub: 0,
                },
                partition_key: &r.partition_key,
                kinesis_partition_key: None,
                arrival_ms: r.arrival_ms,
                payload: Payload::Bytes(&r.data),
                counted: None,
                reason: Some(reason.to_owned()),
            })
        })
        .collect()
}

/// Writes the kept batch's records under `rejected/` (keys derived from the batch, so a
/// rerun overwrites its own objects). The caller deletes the kept object afterwards.
pub async fn quarantine(stores: &Stores<'_>, kept: &Kept, reason: &str) -> Result<u64, Error> {
    let records = kept.record.records()?;
    let lines = lines(kept, &records, reason);
    if lines.len() != records.len() {
        return Err(Error::KeptBatch(format!(
            "{}: a sequence number is not a number; left in the bucket",
            kept.key
        )));
    }
    let failed = |source: BoxError| Error::Quarantine {
        key: kept.key.clone(),
        source,
    };
    let objects = archive::objects(kept.shard(), &lines).map_err(|e| failed(e.into()))?;
    let store = function::aws::S3Archive {
        client: stores.clients.s3.clone(),
        bucket: stores.cfg.bucket.clone(),
    };
    for o in objects {
        store
            .put(&o.key, o.body)
            .await
            .map_err(|e| failed(e.into()))?;
    }
    Ok(lines.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureRecord;

    const GUIDE: &str = include_str!("../../fixtures/on-failure-s3-kinesis.json");
    const DAY: i64 = 86_400_000;

    fn kept() -> Kept {
        let r: FailureRecord = serde_json::from_str(GUIDE).expect("the guide's record");
        Kept::of("aws/lambda/u/shardId-000000000001/k", r).expect("kept")
    }

    fn config(ttl_days: u32) -> function::Config {
        function::Config::from_vars(|k| match k {
            "ARCHIVE_BUCKET" | "METRICS_TABLE" => Some("x".into()),
            "METRICS_TTL_DAYS" => Some(ttl_days.to_string()),
            _ => None,
        })
        .expect("config")
    }

    #[test]
    fn a_batch_is_past_its_deadline_once_its_oldest_window_may_have_expired() {
        let k = kept();
        let first = k.first_arrival_ms.expect("arrivals");
        // The guide's records arrived 1573691884.835 and 1573691885.58: the oldest counts.
        assert_eq!(first, 1_573_691_884_835);
        let cfg = config(90);
        // 90 days after a window that may end 7 days before the arrival, less an hour.
        let deadline = first + 83 * DAY - 3_600_000;
        assert_eq!(past_deadline(&k, &cfg, deadline - 1), None);
        let why = past_deadline(&k, &cfg, deadline).expect("past");
        assert!(
            why.contains("metricsTtlDays 90") && why.contains("7 days") && why.contains("2019-11"),
            "{why}"
        );
        // A longer TTL moves the deadline.
        assert_eq!(past_deadline(&k, &config(365), deadline), None);
    }

    #[test]
    fn quarantined_lines_keep_every_record_verbatim_with_the_reason() {
        let k = kept();
        let records = k.record.records().expect("records");
        let lines = lines(&k, &records, "too old");
        assert_eq!(lines.len(), records.len());
        let objects = archive::objects(k.shard(), &lines).expect("objects");
        assert!(
            objects
                .iter()
                .all(|o| o.key.starts_with("rejected/year=2019/"))
        );
        let mut text = String::new();
        for o in &objects {
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(&o.body[..]),
                &mut text,
            )
            .expect("gzip");
        }
        let got: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(got.len(), records.len());
        for (line, r) in got.iter().zip(&records) {
            assert_eq!(line["sequenceNumber"], r.sequence_number.as_str());
            assert_eq!(line["reason"], "too old");
            let data = line["dataBase64"].as_str().expect("base64");
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("base64");
            assert_eq!(bytes, r.data);
        }
    }
}

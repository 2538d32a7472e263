//! Pure: a Kinesis batch response read by Lambda's rules (`ReportBatchItemFailures`), for the
//! mapping and for redrive alike.

use serde::Deserialize;

/// What a function's response says about the batch it was invoked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchResponse {
    /// Every record was processed (an empty or null response, or no failures listed).
    Done,
    /// The records from this index on failed (the lowest reported one).
    FailedFrom(usize),
    /// Not a batch response: the whole batch failed.
    Unparsable,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resp {
    #[serde(default)]
    batch_item_failures: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    #[serde(default)]
    item_identifier: Option<String>,
}

/// Reads `body` for a batch of records with sequence numbers `seqs`. Lambda: an empty or
/// null response is a success; an unparsable one fails the whole batch, and an empty, null
/// or unknown identifier fails it from the first record.
pub fn read(body: &[u8], seqs: &[&str]) -> BatchResponse {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() || text.trim() == "null" {
        return BatchResponse::Done;
    }
    let Ok(resp) = serde_json::from_slice::<Resp>(body) else {
        return BatchResponse::Unparsable;
    };
    resp.batch_item_failures
        .into_iter()
        .map(|f| {
            f.item_identifier
                .and_then(|id| seqs.iter().position(|s| *s == id))
                .unwrap_or(0)
        })
        .min()
        .map_or(BatchResponse::Done, BatchResponse::FailedFrom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expected: BatchResponse) {
        assert_eq!(
            read(body.as_bytes(), &["10", "20", "30"]),
            expected,
            "{body}"
        );
    }

    #[test]
    fn lambdas_rules() {
        check("", BatchResponse::Done);
        check("null", BatchResponse::Done);
        check(r#"{"batchItemFailures": []}"#, BatchResponse::Done);
        check(r#"{}"#, BatchResponse::Done);
        check(
            r#"{"batchItemFailures": [{"itemIdentifier": "30"}, {"itemIdentifier": "20"}]}"#,
            BatchResponse::FailedFrom(1),
        );
        check(
            r#"{"batchItemFailures": [{"itemIdentifier": "99"}]}"#,
            BatchResponse::FailedFrom(0),
        );
        check(
            r#"{"batchItemFailures": [{"itemIdentifier": null}]}"#,
            BatchResponse::FailedFrom(0),
        );
        check("not json", BatchResponse::Unparsable);
        check(r#"{"batchItemFailures": "x"}"#, BatchResponse::Unparsable);
    }
}

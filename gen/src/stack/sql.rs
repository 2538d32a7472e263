//! The named queries, in the one dialect both Athena (Trino) and the local stack's DuckDB
//! accept: the functions in [`FUNCTIONS`], ANSI joins and subqueries, `?` parameters.

use super::query::tables;

/// A saved query: its name in the workgroup, what it answers, its parameters (Athena's
/// `?`, in order: each is a SQL literal, e.g. `'sensor-1'`) and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub name: &'static str,
    pub answers: &'static str,
    pub params: &'static [&'static str],
    /// The text with `{hours}`, `{records}` and `{rejected}` to fill in.
    template: &'static str,
}

/// The arrival-hour filter every named query takes: `?` twice, `'YYYY-MM-DDTHH'`, inclusive.
/// It names the partition keys only, so partition projection reads just those hours.
const HOURS: &str = "concat(year, '-', month, '-', day, 'T', hour) BETWEEN ? AND ?";

/// The SQL functions the named queries may use: each is documented by both Trino
/// (Athena engine 3) and DuckDB with the same meaning (a test holds the queries to it).
pub const FUNCTIONS: [&str; 2] = ["concat", "count"];

impl Named {
    /// The query text.
    pub fn sql(&self) -> String {
        self.template
            .replace("{hours}", HOURS)
            .replace("{records}", tables::RECORDS)
            .replace("{rejected}", tables::REJECTED)
    }

    /// The description the workgroup lists: what it answers and its parameters.
    pub fn description(&self) -> String {
        format!("{} Parameters: {}.", self.answers, self.params.join(", "))
    }

    /// The program's logical name of the query's resource (`namedQueryCountsPerWindow`).
    pub fn logical_name(&self) -> String {
        let mut out = "namedQuery".to_owned();
        for part in self.name.split('-') {
            let mut c = part.chars();
            if let Some(first) = c.next() {
                out.extend(first.to_uppercase());
                out.push_str(c.as_str());
            }
        }
        out
    }
}

const FROM_TO: [&str; 2] = [
    "first arrival hour 'YYYY-MM-DDTHH' (UTC)",
    "last arrival hour, inclusive",
];

/// The same hours again, for the query's second table (Athena's parameters are positional:
/// each `?` takes its own).
const FROM_TO_AGAIN: [&str; 2] = ["the first hour again", "the last hour again"];

/// Every named query the program saves.
pub const NAMED: [Named; 4] = [
    Named {
        name: "records-of-entity",
        answers: "Every record of one entity that arrived in the hours given, each once.",
        params: &["entity, e.g. 'sensor-0001'", FROM_TO[0], FROM_TO[1]],
        template: "SELECT approximateArrivalTimestamp AS arrival, windowStart AS window_start, \
                   shardId AS shard_id, sequenceNumber AS sequence_number, \
                   subSequenceNumber AS sub_sequence_number, data\n\
                   FROM (SELECT DISTINCT approximateArrivalTimestamp, windowStart, shardId, \
                   sequenceNumber, subSequenceNumber, data\n      \
                   FROM {records} WHERE entity = ? AND {hours}) AS once\n\
                   ORDER BY arrival, shard_id, sequence_number, sub_sequence_number",
    },
    Named {
        name: "counts-per-window",
        answers: "Records per entity and window, each record once: what the metrics table \
                  counts (a record the table refused is under rejected/ too, and not counted; \
                  windows at the range's edges hold only the records that arrived in it).",
        params: &[FROM_TO[0], FROM_TO[1], FROM_TO_AGAIN[0], FROM_TO_AGAIN[1]],
        template: "SELECT once.entity, once.windowStart AS window_start, count(*) AS records\n\
                   FROM (SELECT DISTINCT shardId, sequenceNumber, subSequenceNumber, entity, \
                   windowStart\n      \
                   FROM {records} WHERE entity IS NOT NULL AND {hours}) AS once\n\
                   LEFT JOIN (SELECT DISTINCT shardId, sequenceNumber, subSequenceNumber\n      \
                   FROM {rejected} WHERE {hours}) AS refused\n  \
                   ON refused.shardId = once.shardId AND refused.sequenceNumber = once.sequenceNumber \
                   AND refused.subSequenceNumber = once.subSequenceNumber\n\
                   WHERE refused.shardId IS NULL\n\
                   GROUP BY 1, 2\nORDER BY 1, 2",
    },
    Named {
        name: "rejected-by-reason",
        answers: "Quarantined records per reason, each record once.",
        params: &[FROM_TO[0], FROM_TO[1]],
        template: "SELECT reason, count(*) AS records\n\
                   FROM (SELECT DISTINCT shardId, sequenceNumber, subSequenceNumber, reason\n      \
                   FROM {rejected} WHERE {hours}) AS once\n\
                   GROUP BY reason\nORDER BY records DESC, reason",
    },
    Named {
        name: "rejected-records",
        answers: "Every quarantined record with its reason, each once.",
        params: &[FROM_TO[0], FROM_TO[1]],
        template: "SELECT DISTINCT approximateArrivalTimestamp AS arrival, shardId AS shard_id, \
                   sequenceNumber AS sequence_number, subSequenceNumber AS sub_sequence_number, \
                   partitionKey AS partition_key, reason, data, dataBase64 AS data_base64, \
                   message\n\
                   FROM {rejected} WHERE {hours}\n\
                   ORDER BY arrival, shard_id, sequence_number, sub_sequence_number",
    },
];

/// The named query called `name`.
pub fn named(name: &str) -> Option<&'static Named> {
    NAMED.iter().find(|q| q.name == name)
}

//! SQL over the archive through the Athena API, for the local stack (MiniStack's Athena,
//! which runs DuckDB) and a deployed one alike: start a query in the stack's workgroup and
//! database, wait for it, read every page of its result.

use std::time::Duration;

use aws_sdk_athena::Client;
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, StatementType};
use serde::Serialize;

use crate::error::Error;

/// What the workgroup and database of a stack are.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    pub workgroup: &'a str,
    pub database: &'a str,
}

/// A query's answer: its columns, rows (`None` for SQL NULL) and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub query_execution_id: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// What Athena bills for ($5 per TB on AWS, 10 MB at least per query).
    pub data_scanned_bytes: i64,
    pub engine_execution_ms: i64,
}

/// A saved query of the workgroup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Saved {
    pub name: String,
    pub description: String,
    pub database: String,
    pub query: String,
}

/// The workgroup's named queries, by name.
pub async fn saved(athena: &Client, workgroup: &str) -> Result<Vec<Saved>, Error> {
    let mut ids = Vec::new();
    let mut pages = athena
        .list_named_queries()
        .work_group(workgroup)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(Error::aws("athena:ListNamedQueries"))?;
        ids.extend(page.named_query_ids().iter().cloned());
    }
    let mut out = Vec::new();
    for chunk in ids.chunks(50) {
        let got = athena
            .batch_get_named_query()
            .set_named_query_ids(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(Error::aws("athena:BatchGetNamedQuery"))?;
        out.extend(got.named_queries().iter().map(|q| Saved {
            name: q.name().to_owned(),
            description: q.description().unwrap_or_default().to_owned(),
            database: q.database().to_owned(),
            query: q.query_string().to_owned(),
        }));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Runs `query` with `params` (Athena's execution parameters: one SQL literal per `?`, in
/// order) and returns its whole answer; a query that fails or is cancelled is an error
/// carrying Athena's reason.
pub async fn run(
    athena: &Client,
    place: &Place<'_>,
    query: &str,
    params: &[String],
) -> Result<Answer, Error> {
    // Athena would refuse the query too, in words that do not say which side is short.
    let placeholders = placeholders(query);
    if placeholders != params.len() {
        return Err(Error::Parameters {
            placeholders,
            given: params.len(),
        });
    }
    let started = athena
        .start_query_execution()
        .query_string(query)
        .work_group(place.workgroup)
        .query_execution_context(
            QueryExecutionContext::builder()
                .database(place.database)
                .build(),
        )
        .set_execution_parameters((!params.is_empty()).then(|| params.to_vec()))
        .send()
        .await
        .map_err(Error::aws("athena:StartQueryExecution"))?;
    let id = started.query_execution_id().unwrap_or_default().to_owned();
    let mut wait = Duration::from_millis(50);
    let execution = loop {
        let got = athena
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .map_err(Error::aws("athena:GetQueryExecution"))?;
        let Some(execution) = got.query_execution().cloned() else {
            return Err(Error::Query {
                state: "vanished".into(),
                reason: format!("Athena does not know query {id}"),
            });
        };
        let status = execution.status();
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => break execution,
            Some(s @ (QueryExecutionState::Failed | QueryExecutionState::Cancelled)) => {
                return Err(Error::Query {
                    state: s.as_str().to_lowercase(),
                    reason: status
                        .and_then(|s| s.state_change_reason())
                        .unwrap_or("no reason given")
                        .to_owned(),
                });
            }
            _ => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    };
    let stats = execution.statistics();
    // Athena repeats a SELECT's column names as the first row of its first page.
    let header = execution.statement_type() == Some(&StatementType::Dml);
    let (columns, rows) = results(athena, &id, header).await?;
    Ok(Answer {
        query_execution_id: id,
        columns,
        rows,
        data_scanned_bytes: stats.and_then(|s| s.data_scanned_in_bytes()).unwrap_or(0),
        engine_execution_ms: stats
            .and_then(|s| s.engine_execution_time_in_millis())
            .unwrap_or(0),
    })
}

/// How many `?` placeholders `query` has, the ones Athena fills from execution
/// parameters: those outside string literals, quoted identifiers and comments.
pub fn placeholders(query: &str) -> usize {
    let mut chars = query.chars().peekable();
    let mut n = 0;
    while let Some(c) = chars.next() {
        match c {
            '?' => n += 1,
            // A literal or a quoted identifier; a doubled quote inside it is one quote.
            '\'' | '"' => {
                while let Some(d) = chars.next() {
                    if d == c && chars.next_if_eq(&c).is_none() {
                        break;
                    }
                }
            }
            '-' if chars.next_if_eq(&'-').is_some() => {
                chars.by_ref().find(|d| *d == '\n');
            }
            '/' if chars.next_if_eq(&'*').is_some() => {
                let mut last = ' ';
                for d in chars.by_ref() {
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
            }
            _ => {}
        }
    }
    n
}

/// Every page of a finished query's result; with `header`, the first row of the first page
/// is the column names, and is dropped (the names come from the metadata).
async fn results(
    athena: &Client,
    id: &str,
    header: bool,
) -> Result<(Vec<String>, Vec<Vec<Option<String>>>), Error> {
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    let mut first = true;
    let mut pages = athena
        .get_query_results()
        .query_execution_id(id)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(Error::aws("athena:GetQueryResults"))?;
        let Some(set) = page.result_set() else {
            continue;
        };
        if first {
            columns = set
                .result_set_metadata()
                .map(|m| {
                    m.column_info()
                        .iter()
                        .map(|c| c.name().to_owned())
                        .collect()
                })
                .unwrap_or_default();
        }
        let mut page_rows = set.rows().iter().map(|r| {
            r.data()
                .iter()
                .map(|d| d.var_char_value().map(str::to_owned))
                .collect::<Vec<_>>()
        });
        if first && header {
            page_rows.next();
        }
        rows.extend(page_rows);
        first = false;
    }
    Ok((columns, rows))
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_are_the_question_marks_outside_literals_identifiers_and_comments() {
        for (sql, n) in [
            ("SELECT 1", 0),
            ("SELECT * FROM records WHERE entity = ? AND hour >= ?", 2),
            ("SELECT '?', 'it''s ?', \"a?\" FROM t WHERE x = ?", 1),
            ("SELECT 1 -- why?\nWHERE a = ? /* or ? */ AND b = ?", 2),
            ("SELECT json_extract_scalar(data, '$.a?') FROM t", 0),
            ("SELECT 'unterminated ?", 0),
        ] {
            assert_eq!(placeholders(sql), n, "{sql}");
        }
    }
}

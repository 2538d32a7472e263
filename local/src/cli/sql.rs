//! `sql`: a query over the archive through the stack's Athena workgroup (the local stack's
//! emulator runs it with DuckDB; a deployed stack's, Athena), printed as a table or JSON.

use std::fmt::Write as _;

use super::Target;
use crate::error::Error;
use crate::sql::{self, Answer, Place};
use stackgen::stack::outputs;

/// `sql`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The SQL to run (Athena's dialect; tables `records` and `rejected`).
    #[arg(required_unless_present_any = ["named", "list"], conflicts_with_all = ["named", "list"])]
    query: Option<String>,
    /// Run the workgroup's saved query of this name instead (`--list` shows them).
    #[arg(long, conflicts_with = "list")]
    named: Option<String>,
    /// A value for the query's next `?`, written as a SQL literal: 'sensor-0001' (quoted, a
    /// string) or 42 (repeatable, in order).
    #[arg(long = "param", value_name = "LITERAL")]
    params: Vec<String>,
    /// List the workgroup's saved queries and their parameters.
    #[arg(long)]
    list: bool,
    /// Machine-readable output (one JSON document).
    #[arg(long)]
    json: bool,
}

/// Runs `sql` against the target.
pub async fn run(target: &Target, args: Args) -> Result<(), Error> {
    let op = target.operated().await?;
    let workgroup = op.output(outputs::ATHENA_WORKGROUP_NAME);
    let database = op.output(outputs::GLUE_DATABASE_NAME);
    if workgroup.is_empty() || database.is_empty() {
        return Err(Error::Usage(format!(
            "this stack has no Athena workgroup or Glue database (outputs {} and {}): it was \
             deployed before SQL over the archive; run `pulumi up` again, or restart the local \
             stack",
            outputs::ATHENA_WORKGROUP_NAME,
            outputs::GLUE_DATABASE_NAME
        )));
    }
    let athena = &op.clients.athena;
    if args.list {
        let saved = sql::saved(athena, workgroup).await?;
        if args.json {
            return super::view::json(&saved);
        }
        for q in saved {
            println!("{}\n  {}\n", q.name, q.description);
        }
        return Ok(());
    }
    let (query, database) = match &args.named {
        Some(name) => {
            let saved = sql::saved(athena, workgroup).await?;
            let names: Vec<&str> = saved.iter().map(|q| q.name.as_str()).collect();
            let Some(q) = saved.iter().find(|q| &q.name == name) else {
                return Err(Error::Usage(format!(
                    "--named {name:?}: workgroup {workgroup} saves no such query (it has: {})",
                    names.join(", ")
                )));
            };
            (q.query.clone(), q.database.clone())
        }
        None => (args.query.clone().unwrap_or_default(), database.to_owned()),
    };
    let place = Place {
        workgroup,
        database: &database,
    };
    let answer = sql::run(athena, &place, &query, &args.params).await?;
    if args.json {
        return super::view::json(&answer);
    }
    print!("{}", table(&answer));
    eprintln!(
        "{} rows; {} bytes scanned; {} ms; query {}",
        answer.rows.len(),
        answer.data_scanned_bytes,
        answer.engine_execution_ms,
        answer.query_execution_id
    );
    Ok(())
}

/// The answer as an aligned text table (NULL for a missing value).
pub fn table(a: &Answer) -> String {
    let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".to_owned());
    let mut widths: Vec<usize> = a.columns.iter().map(|c| c.chars().count()).collect();
    for row in &a.rows {
        for (w, v) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell(v).chars().count());
        }
    }
    let line = |values: Vec<String>| {
        let mut out = String::new();
        for (i, (v, w)) in values.iter().zip(&widths).enumerate() {
            let sep = if i == 0 { "" } else { "  " };
            let _ = write!(out, "{sep}{v:<w$}");
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(a.columns.clone());
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for row in &a.rows {
        out += &line(row.iter().map(cell).collect());
    }
    out
}

//! Tests of SQL over the archive in the program: the named queries stay in the dialect
//! both engines share, the tables read the archive's layout, the operator may query.

use std::collections::BTreeSet;

use serde_json::Value;
use stackgen::eval::{Scope, resolve};
use stackgen::stack::query::{HOUR_KEYS, tables};
use stackgen::stack::sql::{FUNCTIONS, NAMED};
use stackgen::stack::{names, program};

/// Every `name(` call of a query text (identifiers directly followed by a parenthesis).
fn calls(sql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut word = String::new();
    for c in sql.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if c == '(' && !word.is_empty() {
            out.insert(word.to_lowercase());
        }
        word.clear();
    }
    out
}

#[test]
fn named_queries_call_only_functions_both_engines_document() {
    for q in NAMED {
        let sql = q.sql();
        let unknown: Vec<String> = calls(&sql)
            .into_iter()
            .filter(|f| !FUNCTIONS.contains(&f.as_str()))
            .collect();
        assert!(unknown.is_empty(), "{}: {unknown:?}", q.name);
        // The scan sees calls: a made-up one would be caught.
        assert!(calls("SELECT from_unixtime(1)").contains("from_unixtime"));
    }
}

#[test]
fn every_parameter_is_described_and_every_query_filters_on_the_hour_partitions() {
    for q in NAMED {
        let sql = q.sql();
        assert_eq!(sql.matches('?').count(), q.params.len(), "{}", q.name);
        assert!(q.description().contains(q.params[0]), "{}", q.name);
        for key in HOUR_KEYS {
            assert!(sql.contains(key), "{}: no {key} filter", q.name);
        }
        let table = if q.name.starts_with("rejected") {
            tables::REJECTED
        } else {
            tables::RECORDS
        };
        assert!(sql.contains(&format!("FROM {table} ")), "{}", q.name);
        // Each table read is filtered on its hours: `BETWEEN ? AND ?` per FROM.
        assert_eq!(
            sql.matches("FROM records ").count() + sql.matches("FROM rejected ").count(),
            sql.matches("BETWEEN ? AND ?").count(),
            "{}",
            q.name
        );
    }
}

struct Stack;

impl Scope for Stack {
    fn lookup(&self, r: &str) -> Result<Value, stackgen::Error> {
        Ok(Value::String(format!("<{r}>")))
    }
    fn file(&self, path: &str) -> String {
        path.to_owned()
    }
}

#[test]
fn the_tables_project_the_archives_hour_prefixes_as_athena_reads_them() {
    let p = program().expect("program");
    for (name, prefix) in [
        (names::RECORDS_TABLE, "raw/"),
        (names::REJECTED_TABLE, "rejected/"),
    ] {
        let props = Value::Object(p.resources[name].properties.clone().into_iter().collect());
        let v = resolve(&props, &Stack).expect("resolves");
        let params = &v["parameters"];
        assert_eq!(params["projection.enabled"], "true");
        // Pulumi leaves Athena's own `${…}` as written; only the bucket is interpolated.
        assert_eq!(
            params["storage.location.template"],
            format!(
                "s3://<archiveBucket.bucket>/{prefix}year=${{year}}/month=${{month}}/day=${{day}}/hour=${{hour}}/"
            )
        );
        assert_eq!(
            v["storageDescriptor"]["location"],
            format!("s3://<archiveBucket.bucket>/{prefix}")
        );
        let keys: Vec<&str> = v["partitionKeys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|k| k["name"].as_str())
            .collect();
        assert_eq!(keys, HOUR_KEYS);
        for key in ["month", "day", "hour"] {
            assert_eq!(params[format!("projection.{key}.digits")], "2", "{key}");
        }
    }
}

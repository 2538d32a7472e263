//! The stack program and the function agree on names: environment variables, table keys,
//! archive prefixes and the IAM actions the function's adapters call.

use function::archive::Kind;
use function::config;
use function::store::attr;
use stackgen::stack::{ARCHIVE_PREFIXES, actions, processor_environment, table_keys};

/// The variables a stack sets include every `required` one and only `known` ones.
#[track_caller]
fn check_environment<'a>(set: impl Iterator<Item = &'a String>, required: &[&str], known: &[&str]) {
    let set: Vec<&str> = set.map(String::as_str).collect();
    for required in required {
        assert!(set.contains(required), "the stack does not set {required}");
    }
    for name in &set {
        assert!(
            known.contains(name),
            "the stack sets {name}, which the function never reads"
        );
    }
}

#[test]
fn the_lambda_environment_is_what_the_function_reads() {
    let env = processor_environment().expect("environment");
    check_environment(env.keys(), &config::REQUIRED, &config::KNOWN);
}

#[test]
fn the_compactor_environment_is_what_the_compactor_reads() {
    use function::config::compactor;
    use stackgen::settings::{RetentionHours, Settings};
    let env = stackgen::stack::compactor::compactor_environment().expect("environment");
    check_environment(env.keys(), &compactor::REQUIRED, &compactor::KNOWN);
    // The retention the stack passes is one the compactor accepts, at both ends.
    assert_eq!(
        (RetentionHours::MIN, RetentionHours::MAX),
        (
            compactor::RETENTION.min as u32,
            compactor::RETENTION.max as u32
        )
    );
    assert_eq!(
        u64::from(Settings::default().retention_hours.get()),
        compactor::RETENTION.default
    );
    // The handler the program sets is the one the bootstrap dispatches on.
    assert_eq!(
        stackgen::stack::compactor::HANDLER,
        function::compact::HANDLER
    );
    // And the actions its role grants are the ones its adapter calls.
    use stackgen::stack::compactor::actions as granted;
    assert_eq!(
        granted::ARCHIVE_BUCKET,
        function::aws::actions::COMPACTOR_BUCKET
    );
    assert_eq!(
        granted::ARCHIVE_OBJECTS,
        function::aws::actions::COMPACTOR_OBJECTS
    );
}

#[test]
fn table_key_and_ttl_attributes_match() {
    assert_eq!(table_keys::HASH, attr::PARTITION_KEY);
    assert_eq!(table_keys::RANGE, attr::SORT_KEY);
    assert_eq!(table_keys::TTL, attr::TTL);
}

#[test]
fn the_role_allows_exactly_the_archive_prefixes_the_function_writes() {
    assert_eq!(
        ARCHIVE_PREFIXES,
        [Kind::Raw.prefix(), Kind::Rejected.prefix()]
    );
}

#[test]
fn the_role_allows_the_calls_the_adapters_make() {
    assert_eq!(actions::S3, function::aws::actions::S3);
    assert_eq!(actions::DYNAMODB, function::aws::actions::DYNAMODB);
}

/// The metric alarm `name` of the program.
fn alarm(name: &str) -> stackgen::aws::cloudwatch::MetricAlarm {
    let program = stackgen::stack::program().expect("program");
    let alarm = &program.resources[name];
    serde_json::from_value(serde_json::Value::Object(
        alarm.properties.clone().into_iter().collect(),
    ))
    .expect("a metric alarm")
}

#[test]
fn the_function_metric_alarms_watch_metrics_the_function_publishes() {
    for (name, metric) in [
        (
            stackgen::stack::names::ALARM_REJECTED,
            function::telemetry::REJECTED_METRIC,
        ),
        (
            stackgen::stack::names::ALARM_STORAGE,
            function::telemetry::ITEM_FAILURES_METRIC,
        ),
    ] {
        let stackgen::aws::cloudwatch::Watched::Metric {
            namespace,
            metric_name,
            ..
        } = alarm(name).watched
        else {
            panic!("{name} watches an expression");
        };
        assert_eq!(metric_name, metric, "{name}");
        assert_eq!(namespace, stackgen::stack::metrics_namespace(), "{name}");
    }
    let env = processor_environment().expect("environment");
    assert_eq!(
        env[function::config::METRICS_NAMESPACE],
        stackgen::expr::Input::Lit(stackgen::stack::metrics_namespace())
    );
}

#[test]
fn the_dashboard_plots_metrics_the_function_publishes() {
    let doc = function::telemetry::emf(
        &stackgen::stack::metrics_namespace(),
        &function::batch::Summary::default(),
        std::time::Duration::ZERO,
        0,
    );
    let published: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| m["Name"].as_str().expect("name"))
        .collect();
    for name in stackgen::stack::dashboard::EMF_METRICS {
        assert!(published.contains(&name), "{name} is not in {published:?}");
        assert!(doc[name].is_number(), "{name} has no value");
    }
}

/// The settings the stack passes to the function default and range exactly as the function
/// reads them: every value `gen` lets a stack choose is one the function accepts, and an
/// unset variable means what the stack's default means.
#[test]
fn the_stack_settings_the_function_reads_share_defaults_and_bounds() {
    use function::config::{self, Bounds};
    use stackgen::settings::{Settings, TtlDays, WindowSeconds};
    let defaults = Settings::default();
    let same = |name: &str, stack: (u32, u32, u32), function: Bounds| {
        assert_eq!(
            (u64::from(stack.0), u64::from(stack.1), u64::from(stack.2)),
            (function.default, function.min, function.max),
            "{name}: the stack's (default, min, max) differ from the function's"
        );
    };
    same(
        config::WINDOW_SECONDS,
        (
            defaults.window_seconds.get(),
            WindowSeconds::MIN,
            WindowSeconds::MAX,
        ),
        config::WINDOW,
    );
    same(
        config::METRICS_TTL_DAYS,
        (defaults.metrics_ttl_days.get(), TtlDays::MIN, TtlDays::MAX),
        config::TTL_DAYS,
    );
    same(
        config::QUANTILE_ACCURACY_PER_MILLE,
        (
            u32::from(defaults.quantile_accuracy_per_mille.get()),
            u32::from(stackgen::settings::QuantileAccuracyPerMille::MIN),
            u32::from(stackgen::settings::QuantileAccuracyPerMille::MAX),
        ),
        config::QUANTILE_ACCURACY,
    );
    let fields: Vec<&str> = defaults.id_fields.iter().map(|f| f.as_str()).collect();
    assert_eq!(fields, config::DEFAULT_ID_FIELDS);
    // And the function really takes both ends of each range.
    for (name, b) in [
        (config::WINDOW_SECONDS, config::WINDOW),
        (config::METRICS_TTL_DAYS, config::TTL_DAYS),
        (
            config::QUANTILE_ACCURACY_PER_MILLE,
            config::QUANTILE_ACCURACY,
        ),
    ] {
        for v in [b.min, b.max] {
            let got = function::Config::from_vars(|k| match k {
                "ARCHIVE_BUCKET" | "METRICS_TABLE" => Some("x".into()),
                k if k == name => Some(v.to_string()),
                _ => None,
            });
            assert!(got.is_ok(), "{name}={v}: {got:?}");
        }
        let over = function::Config::from_vars(|k| match k {
            "ARCHIVE_BUCKET" | "METRICS_TABLE" => Some("x".into()),
            k if k == name => Some((b.max + 1).to_string()),
            _ => None,
        });
        assert!(over.is_err(), "{name} above its bound is refused");
    }
}

#[test]
fn the_operator_policy_grants_the_calls_the_operations_cli_makes() {
    use local::target::actions as cli;
    use stackgen::stack::operator::actions as policy;
    assert_eq!(cli::FAILED_BATCHES_OBJECTS, policy::FAILED_BATCHES_OBJECTS);
    assert_eq!(cli::LIST_BUCKET, policy::LIST_BUCKET);
    assert_eq!(cli::ARCHIVE_OBJECTS, policy::ARCHIVE_OBJECTS);
    assert_eq!(cli::QUARANTINE, policy::QUARANTINE);
    // Quarantining writes what the function's own archive adapter writes.
    assert_eq!(cli::QUARANTINE, function::aws::actions::S3);
    assert_eq!(cli::FUNCTION, policy::FUNCTION);
    assert_eq!(cli::TABLE, policy::TABLE);
    assert_eq!(cli::LOGS, policy::LOGS);
    assert_eq!(cli::OBSERVE, policy::OBSERVE);
    assert_eq!(cli::ALARM_STATE, policy::ALARM_STATE);
    assert_eq!(cli::ATHENA, policy::ATHENA);
    // The table calls recovery makes are the function's own.
    assert_eq!(cli::TABLE, function::aws::actions::DYNAMODB);
}

#[test]
fn the_ttl_rule_uses_the_functions_own_bounds() {
    use stackgen::settings::{EVENT_TIME_MAX_AGE_SECS, EXPIRY_MARGIN_SECS};
    // The program does not set MAX_PAST_AGE_SECONDS: the function's default applies.
    assert_eq!(EVENT_TIME_MAX_AGE_SECS, function::config::PAST_AGE.default);
    let program = stackgen::stack::program().expect("program");
    let text = serde_json::to_string(&program).expect("json");
    assert!(!text.contains(function::config::MAX_PAST_AGE_SECONDS));
    assert_eq!(
        i64::try_from(EXPIRY_MARGIN_SECS * 1000).expect("small"),
        function::store::EXPIRY_MARGIN_MS
    );
}

/// The JSON keys of an archive line as the function writes it.
fn keys_of(line: &function::archive::Line<'_>) -> Vec<String> {
    let mut out = Vec::new();
    line.write_to(&mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("a JSON line");
    v.as_object().expect("an object").keys().cloned().collect()
}

#[test]
fn the_sql_tables_declare_every_key_the_function_archives() {
    use function::archive::{Counted, Line, Payload};
    use function::position::{Position, SeqNo};
    use stackgen::stack::query::{columns, tables};
    let base = Line {
        shard_id: "shardId-000000000000",
        pos: Position {
            seq: SeqNo::parse("49590338271490256608559692538361571095921575989136588898")
                .expect("seq"),
            sub: 2,
        },
        partition_key: "sensor-1",
        kinesis_partition_key: Some("kpl-key"),
        arrival_ms: 1_765_000_000_000,
        payload: Payload::Json(br#"{"sensorId":"sensor-1","t":1}"#),
        counted: Some(Counted {
            entity: "sensor-1".into(),
            window_start_ms: 1_765_000_000_000,
        }),
        reason: None,
    };
    let log = Line {
        payload: Payload::Log {
            message: "plain text",
            time_ms: 1_765_000_000_000,
            log_group: "/aws/x",
        },
        ..base.clone()
    };
    let bytes = Line {
        payload: Payload::Bytes(b"\x00\x01"),
        counted: None,
        ..base.clone()
    };
    // Athena's JSON SerDe matches keys to columns case-insensitively; the local reader
    // (DuckDB's) as written: the columns are spelled as the function writes the keys.
    let declared =
        |table: &str| -> Vec<String> { columns(table).into_iter().map(|c| c.name).collect() };
    for line in [&base, &log, &bytes] {
        for key in keys_of(line) {
            assert!(
                declared(tables::RECORDS).contains(&key),
                "records has no {key}"
            );
        }
    }
    for line in [&base, &log, &bytes] {
        for key in keys_of(&line.rejected("a reason".into())) {
            assert!(
                declared(tables::REJECTED).contains(&key),
                "rejected has no {key}"
            );
        }
    }
}

//! Tests of the emitted Pulumi program: drift, schema validity per stack, and structure.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use stackgen::schema::{Schema, validate};
use stackgen::settings::Settings;
use stackgen::stack::{actions, names, program};
use stackgen::stack_file::StackFile;
use stackgen::{Program, render};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn model() -> Program {
    program().expect("the model builds")
}

fn stack_file(name: &str) -> StackFile {
    Settings::load_stack_file(&root().join(format!("Pulumi.{name}.yaml")))
        .unwrap_or_else(|e| panic!("Pulumi.{name}.yaml: {e}"))
}

/// Asserts the validator's findings, printing them all on failure.
#[track_caller]
fn check_findings(program: &Program, config: Option<&Value>, expect_clean: bool) -> Vec<String> {
    let findings = validate(program, &Schema::bundled().expect("schema"), config);
    if expect_clean {
        assert!(
            findings.is_empty(),
            "schema findings:\n{}",
            findings.join("\n")
        );
    } else {
        assert!(
            !findings.is_empty(),
            "the validator accepted a broken program"
        );
    }
    findings
}

#[test]
fn committed_pulumi_yaml_is_up_to_date() {
    let path = root().join("Pulumi.yaml");
    let drift = render::check(&path, &model()).expect("readable");
    assert_eq!(
        drift,
        render::Drift::UpToDate,
        "Pulumi.yaml is stale: run `cargo run -p stackgen` and commit the result"
    );
}

#[test]
fn committed_file_parses_back_to_the_model() {
    let text = std::fs::read_to_string(root().join("Pulumi.yaml")).expect("Pulumi.yaml");
    assert!(text.starts_with(render::HEADER));
    let parsed: Program = yaml_serde::from_str(&text).expect("valid YAML program");
    assert_eq!(parsed, model());
    // Go's YAML 1.1 resolver would read a plain YYYY-MM-DD as a timestamp.
    for line in text.lines() {
        let plain = line.trim_end();
        let tail = plain.rsplit([' ']).next().unwrap_or_default();
        let date_like = tail.len() == 10 && tail.chars().filter(|c| *c == '-').count() == 2;
        assert!(
            !date_like || tail.starts_with('\''),
            "unquoted date: {line}"
        );
    }
}

/// Every resource of the committed file is read back losslessly by its typed properties —
/// what the local stack deploys — so a property the types do not know, or one they
/// renamed, fails here rather than in a deployment.
#[test]
fn every_committed_resource_reads_back_through_its_type() {
    let text = std::fs::read_to_string(root().join("Pulumi.yaml")).expect("Pulumi.yaml");
    let parsed: Program = yaml_serde::from_str(&text).expect("valid YAML program");
    for (name, res) in &parsed.resources {
        let props = Value::Object(res.properties.clone().into_iter().collect());
        let back = stackgen::aws::reparse(&res.ty, props.clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            back, props,
            "{name} ({}) changed on the way through its type",
            res.ty
        );
    }
    let mut renamed = resource(&parsed, names::STREAM).properties.clone();
    let shards = renamed
        .shift_remove("shardCount")
        .expect("the stream has shardCount");
    renamed.insert("shards".into(), shards);
    let renamed = Value::Object(renamed.into_iter().collect());
    assert!(stackgen::aws::reparse("aws:kinesis:Stream", renamed).is_err());
    assert!(stackgen::aws::reparse("aws:kinesis:Nope", json!({})).is_err());
}

#[test]
fn program_is_valid_against_the_provider_schema() {
    check_findings(&model(), None, true);
}

#[test]
fn program_is_valid_for_each_stack() {
    for name in ["dev", "prod"] {
        let settings = serde_json::to_value(&stack_file(name).settings).expect("json");
        check_findings(&model(), Some(&settings), true);
    }
}

#[test]
fn pinned_provider_version_matches_the_schema_data() {
    let schema = Schema::bundled().expect("schema");
    assert_eq!(schema.version, stackgen::AWS_PROVIDER_VERSION);
}

/// Each mutation must produce a finding: the validator can fail.
#[test]
fn validator_rejects_broken_programs() {
    type Mutation = fn(&mut Program);
    let mutations: [(&str, Mutation); 9] = [
        ("unknown token", |p| {
            p.resources[names::STREAM].ty = "aws:kinesis:Strem".into()
        }),
        ("unknown property", |p| {
            p.resources[names::STREAM]
                .properties
                .insert("shardCont".into(), json!(1));
        }),
        ("missing required", |p| {
            p.resources[names::FUNCTION].properties.shift_remove("role");
        }),
        ("literal of wrong type", |p| {
            p.resources[names::STREAM].properties["shardCount"] = json!("two");
        }),
        ("nested property typo", |p| {
            p.resources[names::TABLE].properties["ttl"] = json!({"attributeNam": "ttl"});
        }),
        ("dangling output", |p| {
            p.outputs.insert("X".into(), json!("${dataStream.arnn}"));
        }),
        ("dangling resource", |p| {
            p.outputs.insert("X".into(), json!("${nothing.arn}"));
        }),
        ("config of wrong type", |p| {
            p.resources[names::STREAM].properties["shardCount"] = json!("${forceDestroy}");
        }),
        ("list where a string is expected", |p| {
            p.resources[names::FUNCTION].properties["handler"] = json!(["bootstrap"]);
        }),
    ];
    for (what, mutate) in mutations {
        let mut p = model();
        mutate(&mut p);
        let findings = validate(&p, &Schema::bundled().expect("schema"), None);
        assert!(!findings.is_empty(), "{what}: not detected");
    }
    // Per stack: a value that types in general but not for a property.
    let mut settings = serde_json::to_value(Settings::default()).expect("json");
    settings["shardCount"] = json!("2");
    check_findings(&model(), Some(&settings), false);
}

#[test]
fn stacks_differ_as_intended() {
    let (dev, prod) = (stack_file("dev").settings, stack_file("prod").settings);
    // prod keeps the seed's sizes.
    assert_eq!(prod.shard_count.get(), 2);
    assert_eq!(prod.retention_hours.get(), 24);
    assert_eq!(prod.lambda_memory_mb.get(), 512);
    assert_eq!(prod.lambda_timeout_seconds.get(), 60);
    assert_eq!(prod.batch_size.get(), 100);
    assert_eq!(prod.batching_window_seconds.get(), 5);
    assert_eq!(prod.parallelization_factor.get(), 2);
    assert_eq!(prod.maximum_retry_attempts.get(), 3);
    assert!(prod.point_in_time_recovery && prod.deletion_protection && !prod.force_destroy);
    // dev is cheaper and destroyable.
    assert!(dev.force_destroy && !dev.deletion_protection && !dev.point_in_time_recovery);
    assert!(dev.shard_count <= prod.shard_count);
    assert!(dev.lambda_memory_mb <= prod.lambda_memory_mb);
    assert!(dev.log_retention_days.get() < prod.log_retention_days.get());
    // Pulumi.yaml's defaults are the production values.
    assert_eq!(prod.shard_count, Settings::default().shard_count);
}

fn resource<'a>(p: &'a Program, name: &str) -> &'a stackgen::program::Resource {
    p.resources
        .get(name)
        .unwrap_or_else(|| panic!("resource {name} missing"))
}

/// (action, resources) for every statement of the managed or inline policy `name`.
fn granted(p: &Program, name: &str) -> Vec<(String, Vec<String>)> {
    let policy = &resource(p, name).properties["policy"]["fn::toJSON"];
    let stmts = policy["Statement"].as_array().expect("statements").clone();
    stmts
        .iter()
        .flat_map(|s| {
            let res: Vec<String> = s["Resource"]
                .as_array()
                .expect("resource list")
                .iter()
                .map(|r| r.as_str().expect("string").to_owned())
                .collect();
            s["Action"]
                .as_array()
                .expect("action list")
                .iter()
                .map(move |a| (a.as_str().expect("string").to_owned(), res.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The resources `action` is granted on.
fn on(granted: &[(String, Vec<String>)], action: &str) -> Vec<String> {
    granted
        .iter()
        .filter(|(a, _)| a == action)
        .flat_map(|(_, r)| r.clone())
        .collect()
}

#[test]
fn role_grants_exactly_what_the_function_and_mapping_need() {
    let p = model();
    let granted = granted(&p, names::ROLE_POLICY);
    let needed: Vec<&str> = [
        &actions::KINESIS[..],
        &actions::KMS,
        &actions::S3,
        &actions::DYNAMODB,
        &actions::LOGS,
        &actions::FAILED_BATCHES_OBJECTS,
        &actions::FAILED_BATCHES_BUCKET,
    ]
    .concat();
    for a in &needed {
        assert!(granted.iter().any(|(g, _)| g == a), "{a} not granted");
    }
    for (action, resources) in &granted {
        assert!(
            needed.contains(&action.as_str()),
            "{action} granted but not needed"
        );
        assert!(!action.contains('*'), "wildcard action {action}");
        for r in resources {
            assert!(
                r != "*" && r.starts_with("${"),
                "{action} on unscoped resource {r}"
            );
        }
    }
    let on = |action: &str| on(&granted, action);
    assert_eq!(on("kinesis:GetRecords"), ["${dataStream.arn}"]);
    assert_eq!(on("kms:Decrypt"), ["${pipelineKey.arn}"]);
    assert_eq!(
        on("s3:PutObject"),
        [
            "${archiveBucket.arn}/raw/*",
            "${archiveBucket.arn}/rejected/*",
            "${failedBatchesBucket.arn}/*"
        ]
    );
    assert_eq!(on("s3:ListBucket"), ["${failedBatchesBucket.arn}"]);
    assert_eq!(on("dynamodb:PutItem"), ["${metricsTable.arn}"]);
    assert_eq!(on("dynamodb:Query"), ["${metricsTable.arn}"]);
    assert_eq!(on("logs:PutLogEvents"), ["${processorLogGroup.arn}:*"]);
    // The on-failure destination is the failed-batches bucket (its alarm is in alarms.rs).
    let mapping = &resource(&p, names::MAPPING).properties;
    assert_eq!(
        mapping["destinationConfig"]["onFailure"]["destinationArn"],
        "${failedBatchesBucket.arn}"
    );
}

#[test]
fn operator_policy_grants_exactly_what_the_cli_calls() {
    use stackgen::stack::operator::actions as op;
    let p = model();
    let granted = granted(&p, names::OPERATOR_POLICY);
    let needed: Vec<&str> = [
        &op::FAILED_BATCHES_OBJECTS[..],
        &op::LIST_BUCKET,
        &op::ARCHIVE_OBJECTS,
        &op::QUARANTINE,
        &op::FUNCTION,
        &op::TABLE,
        &op::LOGS,
        &op::OBSERVE,
        &op::ALARM_STATE,
        &op::ATHENA,
        &op::GLUE,
        &op::RESULTS_BUCKET,
        &op::RESULTS_OBJECTS,
    ]
    .concat();
    for a in &needed {
        assert!(granted.iter().any(|(g, _)| g == a), "{a} not granted");
    }
    for (action, resources) in &granted {
        assert!(
            needed.contains(&action.as_str()),
            "{action} granted but not needed"
        );
        assert!(!action.contains('*'), "wildcard action {action}");
        for r in resources {
            // Only calls IAM cannot scope to a resource get "*".
            assert!(
                r.starts_with("${")
                    || r.starts_with("arn:${partition}:glue:${region}:${accountId}:")
                    || (r == "*" && op::OBSERVE.contains(&action.as_str())),
                "{action} on unscoped resource {r}"
            );
        }
    }
    let on = |action: &str| on(&granted, action);
    // Only kept batches are ever deleted; only rejected/ is written to (a kept batch past its
    // counting deadline, quarantined), never the raw archive.
    assert_eq!(on("s3:DeleteObject"), ["${failedBatchesBucket.arn}/*"]);
    // Besides: Athena writes and reads query results in their own bucket.
    assert_eq!(
        on("s3:PutObject"),
        [
            "${archiveBucket.arn}/rejected/*",
            "${queryResultsBucket.arn}/*"
        ]
    );
    assert_eq!(
        on("s3:GetObject"),
        [
            "${failedBatchesBucket.arn}/*",
            "${archiveBucket.arn}/*",
            "${queryResultsBucket.arn}/*"
        ]
    );
    // Queries run in the stack's workgroup only, over its database's tables only.
    assert_eq!(on("athena:StartQueryExecution"), ["${queryWorkgroup.arn}"]);
    assert_eq!(
        on("glue:GetTable"),
        [
            "arn:${partition}:glue:${region}:${accountId}:catalog",
            "arn:${partition}:glue:${region}:${accountId}:database/${archiveDatabase.name}",
            "arn:${partition}:glue:${region}:${accountId}:table/${archiveDatabase.name}/*"
        ]
    );
    // Redrive invokes the processor; `compact` the compactor.
    assert_eq!(
        on("lambda:InvokeFunction"),
        ["${processor.arn}", "${compactor.arn}"]
    );
    assert_eq!(on("dynamodb:PutItem"), ["${metricsTable.arn}"]);
    assert_eq!(on("logs:FilterLogEvents"), ["${processorLogGroup.arn}:*"]);
    // Redrive clears the kept-batches alarm, and no other.
    assert_eq!(on("cloudwatch:SetAlarmState"), ["${keptBatchesAlarm.arn}"]);
    assert_eq!(p.outputs["OperatorPolicyArn"], "${operatorPolicy.arn}");
    assert_eq!(
        p.outputs["KeptBatchesAlarmName"],
        "${keptBatchesAlarm.name}"
    );
}

#[test]
fn encryption_is_on_everywhere() {
    let p = model();
    let props = |n: &str| resource(&p, n).properties.clone();
    assert_eq!(props(names::STREAM)["encryptionType"], "KMS");
    assert_eq!(props(names::STREAM)["kmsKeyId"], "${pipelineKey.arn}");
    assert_eq!(
        props(names::BUCKET_ENCRYPTION)["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
        "AES256"
    );
    assert_eq!(props(names::TABLE)["serverSideEncryption"]["enabled"], true);
    assert_eq!(props(names::TOPIC)["kmsMasterKeyId"], "${pipelineKey.arn}");
    assert_eq!(
        props(names::FAILED_BUCKET_ENCRYPTION)["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
        "AES256"
    );
    assert_eq!(props(names::KEY)["enableKeyRotation"], true);
    // The key policy lets CloudWatch alarms publish to the encrypted topic.
    let key_policy = serde_json::to_string(&props(names::KEY)["policy"]).expect("json");
    assert!(key_policy.contains("cloudwatch.amazonaws.com"));
    // … and no other service: a kept batch is announced by an alarm, not by S3.
    assert!(!key_policy.contains("s3.amazonaws.com"));
    // The bucket refuses plain HTTP.
    let bucket_policy = serde_json::to_string(&props(names::BUCKET_POLICY)).expect("json");
    assert!(bucket_policy.contains("aws:SecureTransport"));
}

#[test]
fn mapping_has_the_seed_settings_and_the_production_additions() {
    let p = model();
    let m = &resource(&p, names::MAPPING).properties;
    assert_eq!(m["batchSize"], "${batchSize}");
    assert_eq!(
        m["maximumBatchingWindowInSeconds"],
        "${batchingWindowSeconds}"
    );
    assert_eq!(m["parallelizationFactor"], "${parallelizationFactor}");
    assert_eq!(m["maximumRetryAttempts"], "${maximumRetryAttempts}");
    assert_eq!(m["bisectBatchOnFunctionError"], true);
    assert_eq!(m["maximumRecordAgeInSeconds"], "${maximumRecordAgeSeconds}");
    assert_eq!(
        m["functionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        m["destinationConfig"]["onFailure"]["destinationArn"],
        "${failedBatchesBucket.arn}"
    );
    assert_eq!(m["startingPosition"], "TRIM_HORIZON");
}

#[test]
fn outputs_are_the_documented_ones() {
    let p = model();
    let keys: Vec<&str> = p.outputs.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "DataStreamName",
            "DataStreamArn",
            "ArchiveBucketName",
            "MetricsTableName",
            "ProcessorFunctionName",
            "AlertTopicArn",
            "FailedBatchesBucketName",
            "DashboardName",
            "OperatorPolicyArn",
            "KeptBatchesAlarmName",
            "CompactorFunctionName",
            "AthenaWorkgroupName",
            "GlueDatabaseName",
            "QueryResultsBucketName",
        ]
    );
}

#[test]
fn names_carry_the_stack_suffix() {
    let p = model();
    for (res, prop) in [
        (names::STREAM, "name"),
        (names::BUCKET, "bucket"),
        (names::TABLE, "name"),
        (names::FUNCTION, "name"),
        (names::COMPACTOR, "name"),
        (names::COMPACTION_SCHEDULE, "name"),
        (names::TOPIC, "name"),
        (names::FAILED_BUCKET, "bucket"),
    ] {
        let v = resource(&p, res).properties[prop].as_str().expect("string");
        assert!(v.ends_with("-${pulumi.stack}"), "{res}.{prop} = {v}");
    }
}

#[test]
fn the_compactor_runs_alone_on_its_schedule_with_only_the_archive_calls_it_makes() {
    let p = model();
    let props =
        |name: &str| Value::Object(resource(&p, name).properties.clone().into_iter().collect());
    let f = props(names::COMPACTOR);
    assert_eq!(f["handler"], "compact");
    assert_eq!(f["reservedConcurrentExecutions"], 1, "one run at a time");
    assert_eq!(f["code"], props(names::FUNCTION)["code"], "the same zip");
    let granted = granted(&p, names::COMPACTOR_ROLE_POLICY);
    let on = |action: &str| on(&granted, action);
    assert_eq!(on("s3:ListBucket"), ["${archiveBucket.arn}"]);
    for action in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
        assert_eq!(
            on(action),
            [
                "${archiveBucket.arn}/raw/*",
                "${archiveBucket.arn}/rejected/*"
            ],
            "{action}"
        );
    }
    let rule = props(names::COMPACTION_SCHEDULE);
    assert_eq!(rule["scheduleExpression"], "cron(15 * * * ? *)");
    assert_eq!(rule["state"], "${compactionSchedule}");
    let target = props(names::COMPACTION_TARGET);
    assert_eq!(target["rule"], "${compactionRule.name}");
    assert_eq!(target["arn"], "${compactor.arn}");
    let permission = props(names::COMPACTION_PERMISSION);
    assert_eq!(permission["principal"], "events.amazonaws.com");
    assert_eq!(permission["sourceArn"], "${compactionRule.arn}");
    assert_eq!(permission["function"], "${compactor.name}");
}

//! `bench-process`: the packaged `bootstrap` and a Python 3.11 reference handler written from
//! the seed (`local/reference/seed_handler.py`), side by side behind the same local Runtime
//! API, emulator and workload: init, CPU per 1,000 records, peak RSS, requests and bytes
//! written per 1,000 records, alternating which runs first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::cost::usage::{event_json, record};
use crate::error::Error;
use crate::runtime::{Environment, InvokeError};
use crate::stack::LocalStack;
use stackgen::stack::outputs;

/// boto3 for the reference, pinned (installed into `.local/reference`).
pub const REFERENCE_PACKAGES: [&str; 1] = ["boto3==1.44.8"];
/// Records per batch and entity-windows per batch: the seed's batch of 100, 20 items each.
const BATCH: u64 = 100;
const ENTITIES: u32 = 20;
/// Linux reports process CPU in ticks of 1/100 s (USER_HZ) on every architecture.
const TICKS_PER_SEC: f64 = 100.0;

/// Which handler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Implementation {
    /// The packaged release `bootstrap` (the zip `pulumi up` deploys).
    Rust,
    /// `local/reference/seed_handler.py` on the system's Python with boto3.
    Python,
}

/// One run of one implementation over the whole workload.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub implementation: Implementation,
    pub run: usize,
    pub records: u64,
    /// From process start to its first request for an invocation.
    pub init_ms: f64,
    /// CPU the process spent in init (10 ms resolution).
    pub init_cpu_ms: f64,
    /// User + system CPU of the process after init, per 1,000 records.
    pub cpu_s_per_1000: f64,
    /// The part of that CPU spent in the kernel (sockets, wake-ups).
    pub system_share: f64,
    /// `VmHWM`: the process's peak resident set.
    pub peak_rss_mib: f64,
    pub wall_s: f64,
    /// Requests by kind per 1,000 records, as the handler logged them.
    pub requests_per_1000: BTreeMap<String, f64>,
    /// Bytes the run added to the bucket and to the table (DynamoDB item sizes).
    pub s3_bytes_per_1000: f64,
    pub dynamodb_bytes_per_1000: f64,
}

/// Where one implementation writes.
struct Target {
    implementation: Implementation,
    bootstrap: PathBuf,
    spec: crate::deploy::FunctionSpec,
    bucket: String,
    table: String,
}

/// Runs `runs` × both implementations over `batches` batches each.
pub async fn run(s: &LocalStack, batches: u64, runs: usize) -> Result<Vec<Measurement>, Error> {
    let targets = [rust_target(s), reference_target(s).await?];
    let mut out = Vec::new();
    for run in 0..runs {
        // Alternate which goes first, so neither always meets a warmer emulator.
        let order: [usize; 2] = if run % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let t = &targets[i];
            let m = measure(s, t, run, batches).await?;
            eprintln!(
                "run {run} {:?}: init {:.0} ms, CPU {:.3} s/1000 records, peak RSS {:.1} MiB",
                m.implementation, m.init_ms, m.cpu_s_per_1000, m.peak_rss_mib
            );
            out.push(m);
        }
    }
    Ok(out)
}

fn rust_target(s: &LocalStack) -> Target {
    Target {
        implementation: Implementation::Rust,
        bootstrap: s.bootstrap.clone(),
        spec: s.deployed.function.clone(),
        bucket: s.deployed.output(outputs::ARCHIVE_BUCKET_NAME).to_owned(),
        table: s.deployed.output(outputs::METRICS_TABLE_NAME).to_owned(),
    }
}

/// The reference's venv, bucket and table (the same key schema), and its `bootstrap`: a
/// script that execs Python on the handler (same pid, so its CPU and RSS are Python's).
async fn reference_target(s: &LocalStack) -> Result<Target, Error> {
    let root = crate::repo_root();
    let python = crate::emulator::venv(&root.join(".local/reference"), &REFERENCE_PACKAGES).await?;
    let handler = root.join("local/reference/seed_handler.py");
    let dir = s.state_dir.join("reference");
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let bootstrap = dir.join("bootstrap");
    let script = format!(
        "#!/bin/sh\nexec '{}' '{}'\n",
        python.display(),
        handler.display()
    );
    std::fs::write(&bootstrap, script).map_err(Error::io(&bootstrap))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755))
        .map_err(Error::io(&bootstrap))?;

    let bucket = format!("realtime-reference-archive-{}", s.deployed.stack);
    let table = format!("realtime-reference-metrics-{}", s.deployed.stack);
    s.clients
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .map_err(Error::aws("s3:CreateBucket"))?;
    create_table(s, &table).await?;
    let mut spec = s.deployed.function.clone();
    spec.architecture = stackgen::settings::Architecture::host().unwrap_or(spec.architecture);
    spec.env
        .insert(function::config::ARCHIVE_BUCKET.into(), bucket.clone());
    spec.env
        .insert(function::config::METRICS_TABLE.into(), table.clone());
    Ok(Target {
        implementation: Implementation::Python,
        bootstrap,
        spec,
        bucket,
        table,
    })
}

async fn create_table(s: &LocalStack, table: &str) -> Result<(), Error> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    use function::store::attr;
    let err = || Error::aws("dynamodb:CreateTable");
    let key = |name: &str, k: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(k)
            .build()
    };
    let def = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    s.clients
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(attr::PARTITION_KEY, KeyType::Hash).map_err(err())?)
        .key_schema(key(attr::SORT_KEY, KeyType::Range).map_err(err())?)
        .attribute_definitions(def(attr::PARTITION_KEY).map_err(err())?)
        .attribute_definitions(def(attr::SORT_KEY).map_err(err())?)
        .send()
        .await
        .map_err(Error::aws("dynamodb:CreateTable"))?;
    Ok(())
}

/// The workload of one (run, implementation): `batches` batches of 100 records of the
/// seed's shapes, 20 entities × 5 records in one minute per batch (each batch touches 20
/// new items), entities and sequence numbers unique to the pair so runs never collide.
fn workload(run: usize, implementation: Implementation, batches: u64) -> Vec<Vec<u8>> {
    let pair = run as u32 * 2 + u32::from(implementation == Implementation::Python);
    // Recent minutes (within the function's 7-day past bound and its items' TTL).
    let now = crate::esm::now_ms();
    let t0 = now - now.rem_euclid(60_000) - batches as i64 * 60_000;
    (0..batches)
        .map(|b| {
            let minute = t0 + b as i64 * 60_000;
            let records: Vec<(String, Vec<u8>, i64)> = (0..BATCH)
                .map(|i| {
                    let entity = pair * 1000 + (i as u32 % ENTITIES);
                    let t = minute + (i as i64 * 500);
                    let (pk, data) = record(b * BATCH + i, entity, t);
                    (pk, data, t)
                })
                .collect();
            // Sequence numbers unique to the pair: no archive key is ever written twice.
            let first_seq = u64::from(pair) * 100_000_000 + b * BATCH;
            event_json(0, first_seq, &records).to_string().into_bytes()
        })
        .collect()
}

async fn measure(
    s: &LocalStack,
    t: &Target,
    run: usize,
    batches: u64,
) -> Result<Measurement, Error> {
    let events = workload(run, t.implementation, batches);
    let records = batches * BATCH;
    let s3_before = bucket_bytes(s, &t.bucket).await?;
    let ddb_before = table_bytes(s, &t.table).await?;
    let log = s
        .state_dir
        .join(format!("bench-{:?}-{run}.log", t.implementation).to_lowercase());
    let _ = std::fs::remove_file(&log);
    let mut env = Environment::start(&t.spec, &t.bootstrap, s.runtime_env(), log.clone()).await?;
    env.warm().await?;
    let pid = env
        .pid()
        .ok_or_else(|| Error::Measure("the process is gone".into()))?;
    let ((init_user, init_system), _) = process_usage(pid)?;
    let started = Instant::now();
    for e in &events {
        match env.invoke(e).await? {
            Ok(resp) => {
                let v: serde_json::Value = serde_json::from_slice(&resp).map_err(|_| {
                    Error::Measure(format!(
                        "{:?} answered with something that is not a batch response: {}",
                        t.implementation,
                        String::from_utf8_lossy(&resp)
                    ))
                })?;
                let failures = v["batchItemFailures"].as_array().map_or(0, Vec::len);
                if failures > 0 {
                    return Err(Error::Measure(format!(
                        "{:?} reported {failures} failed records",
                        t.implementation
                    )));
                }
            }
            Err(e) => return Err(runtime_error(t.implementation, &e)),
        }
    }
    let wall = started.elapsed();
    if env.pid() != Some(pid) {
        return Err(Error::Measure(format!(
            "{:?} restarted during the run",
            t.implementation
        )));
    }
    let ((user, system), peak_kib) = process_usage(pid)?;
    let (user, system) = (user - init_user, system - init_system);
    let init = env.init_duration().await.unwrap_or_default();
    env.stop().await;
    let per_1000 = |x: f64| x * 1000.0 / records as f64;
    Ok(Measurement {
        implementation: t.implementation,
        run,
        records,
        init_ms: init.as_secs_f64() * 1000.0,
        init_cpu_ms: (init_user + init_system) * 1000.0,
        cpu_s_per_1000: per_1000(user + system),
        system_share: if user + system > 0.0 {
            system / (user + system)
        } else {
            0.0
        },
        peak_rss_mib: peak_kib as f64 / 1024.0,
        wall_s: wall.as_secs_f64(),
        requests_per_1000: logged_requests(&log, t.implementation)?
            .into_iter()
            .map(|(k, n)| (k, per_1000(n as f64)))
            .collect(),
        s3_bytes_per_1000: per_1000(
            bucket_bytes(s, &t.bucket).await?.saturating_sub(s3_before) as f64
        ),
        dynamodb_bytes_per_1000: per_1000(
            table_bytes(s, &t.table).await?.saturating_sub(ddb_before) as f64,
        ),
    })
}

fn runtime_error(i: Implementation, e: &InvokeError) -> Error {
    Error::Measure(format!("{i:?} invocation failed: {e}"))
}

/// CPU seconds (user, system) and peak RSS (KiB) of a live process, from `/proc`.
fn process_usage(pid: u32) -> Result<((f64, f64), u64), Error> {
    let stat_path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&stat_path).map_err(Error::io(&stat_path))?;
    // Fields after the command (which may hold spaces) start at field 3 (state).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let (Some(utime), Some(stime)) = (ticks(11), ticks(12)) else {
        return Err(Error::Measure(format!("unexpected {stat_path}")));
    };
    let status_path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&status_path).map_err(Error::io(&status_path))?;
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .ok_or_else(|| Error::Measure(format!("no VmHWM in {status_path}")))?;
    Ok((
        (utime as f64 / TICKS_PER_SEC, stime as f64 / TICKS_PER_SEC),
        peak,
    ))
}

/// Requests by kind, summed from the handler's "batch processed" log lines.
fn logged_requests(log: &Path, i: Implementation) -> Result<BTreeMap<String, u64>, Error> {
    let text = std::fs::read_to_string(log).map_err(Error::io(log))?;
    let kinds: &[(&str, &[&str])] = match i {
        Implementation::Rust => &[
            ("s3:PutObject", &["objects"]),
            ("dynamodb:PutItem", &["pages_written", "conflicts"]),
            ("dynamodb:Query", &["queries"]),
        ],
        Implementation::Python => &[
            ("s3:PutObject", &["put_object"]),
            ("dynamodb:UpdateItem", &["update_item"]),
        ],
    };
    let mut out: BTreeMap<String, u64> = kinds.iter().map(|(k, _)| ((*k).into(), 0)).collect();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["message"] != "batch processed" {
            continue;
        }
        for (kind, fields) in kinds {
            let n: u64 = fields.iter().filter_map(|f| v[*f].as_u64()).sum();
            *out.entry((*kind).into()).or_default() += n;
        }
    }
    Ok(out)
}

async fn bucket_bytes(s: &LocalStack, bucket: &str) -> Result<u64, Error> {
    let mut pages = s
        .clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .into_paginator()
        .send();
    let mut total = 0u64;
    while let Some(page) = pages.next().await {
        let page = page.map_err(Error::aws("s3:ListObjectsV2"))?;
        total += page
            .contents()
            .iter()
            .filter_map(|o| o.size())
            .map(|n| n.max(0) as u64)
            .sum::<u64>();
    }
    Ok(total)
}

async fn table_bytes(s: &LocalStack, table: &str) -> Result<u64, Error> {
    let items = crate::status::scan_items(&s.clients, table).await?;
    Ok(items
        .iter()
        .map(|item| {
            item.iter()
                .map(|(k, v)| k.len() + value_size(v))
                .sum::<usize>() as u64
        })
        .sum())
}

/// A value's size as DynamoDB bills it (strings and binaries by length, numbers by
/// significant digits, 3 bytes of overhead per map or list plus 1 per element).
fn value_size(v: &AttributeValue) -> usize {
    use function::store::item::number_size;
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        _ => 0,
    }
}

/// min / median / max of `xs`.
pub fn spread(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    (xs[0], xs[n / 2], xs[n - 1])
}

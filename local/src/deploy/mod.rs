//! Creates the stack in the emulator from the very program `gen` emits: every resource of
//! `Pulumi.yaml`, in order, with its properties resolved against the stack's settings.
//!
//! A resource type this module does not know is an error, so the program and the local
//! stack cannot drift apart silently.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::clients::Clients;
use crate::error::Error;
use r#gen::Program;
use r#gen::settings::{Architecture, Settings};

mod cloudwatch;
mod dynamodb;
mod iam;
mod kinesis;
mod kms;
mod lambda;
mod s3;
mod sns;

/// The account id the emulator reports.
pub const LOCAL_ACCOUNT: &str = "000000000000";

/// What the local runtime needs to run the function like Lambda would.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct FunctionSpec {
    pub name: String,
    pub arn: String,
    pub memory_mb: i64,
    pub timeout_secs: u64,
    pub env: BTreeMap<String, String>,
    pub archive: PathBuf,
    /// The instruction set the zip is built for; another than the host's runs under qemu.
    pub architecture: Architecture,
}

/// The event source mapping's settings, from the program.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct MappingSpec {
    pub stream_arn: String,
    pub stream_name: String,
    pub batch_size: usize,
    pub batching_window_secs: u64,
    pub parallelization_factor: usize,
    pub maximum_retry_attempts: u32,
    pub maximum_record_age_secs: u64,
    pub bisect_on_error: bool,
    pub report_batch_item_failures: bool,
    pub trim_horizon: bool,
    /// The on-failure destination: the bucket given-up batches are kept in.
    pub failure_bucket: String,
    /// The mapping's id (the `<ESM-UUID>` of failure record keys).
    pub uuid: String,
}

/// The deployed stack.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct Deployed {
    pub stack: String,
    pub region: String,
    /// The program's outputs (DataStreamName, …).
    pub outputs: BTreeMap<String, String>,
    pub function: FunctionSpec,
    pub mapping: MappingSpec,
    pub alarms: Vec<String>,
}

impl Deployed {
    /// A program output, or an empty string.
    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).map_or("", String::as_str)
    }

    /// The aggregation window in seconds, read from the function's environment by the
    /// function's own configuration reader.
    pub fn window_secs(&self) -> Result<u32, Error> {
        function::Config::from_vars(|k| self.function.env.get(k).cloned())
            .map(|c| c.window_secs)
            .map_err(|e| Error::Runtime(format!("the deployed function's settings: {e}")))
    }
}

/// Resolves `${…}` and `fn::` expressions of the program for one stack.
struct Ctx {
    stack: String,
    root: PathBuf,
    values: HashMap<String, Value>,
    outputs: HashMap<String, Map<String, Value>>,
}

impl Ctx {
    fn resolve(&self, v: &Value) -> Result<Value, String> {
        r#gen::eval::resolve(v, self)
    }
}

impl r#gen::eval::Scope for Ctx {
    fn lookup(&self, r: &str) -> Result<Value, String> {
        if r == "pulumi.stack" {
            return Ok(Value::String(self.stack.clone()));
        }
        if let Some(v) = self.values.get(r) {
            return Ok(v.clone());
        }
        let (res, prop) = r.split_once('.').unwrap_or((r, "id"));
        self.outputs
            .get(res)
            .and_then(|o| o.get(prop))
            .cloned()
            .ok_or_else(|| format!("${{{r}}} is not known locally"))
    }

    fn file(&self, path: &str) -> String {
        self.root.join(path).display().to_string()
    }
}

fn props<T: for<'de> Deserialize<'de>>(name: &str, v: &Map<String, Value>) -> Result<T, Error> {
    serde_json::from_value(Value::Object(v.clone())).map_err(|e| Error::Deploy {
        resource: name.to_owned(),
        reason: format!("unexpected properties: {e}"),
    })
}

fn s(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Creates every resource of `program` for `stack` with `settings`.
pub async fn deploy(
    c: &Clients,
    program: &Program,
    settings: &Settings,
    stack: &str,
    root: &Path,
) -> Result<Deployed, Error> {
    let mut values: HashMap<String, Value> = match serde_json::to_value(settings) {
        Ok(Value::Object(m)) => m.into_iter().collect(),
        _ => HashMap::new(),
    };
    for (name, v) in &program.variables {
        let function = v["fn::invoke"]["function"].as_str().unwrap_or_default();
        let local = match function {
            "aws:getCallerIdentity" => LOCAL_ACCOUNT.to_owned(),
            "aws:getRegion" => c.region.clone(),
            "aws:getPartition" => "aws".to_owned(),
            other => {
                return Err(Error::Deploy {
                    resource: name.clone(),
                    reason: format!("invoke {other} has no local value"),
                });
            }
        };
        values.insert(name.clone(), Value::String(local));
    }
    let mut ctx = Ctx {
        stack: stack.to_owned(),
        root: root.to_owned(),
        values,
        outputs: HashMap::new(),
    };
    let mut function = None;
    let mut mapping = None;
    let mut alarms = Vec::new();
    for name in creation_order(program)? {
        let res = &program.resources[name];
        let name = &name.to_owned();
        let resolved = ctx
            .resolve(&Value::Object(res.properties.clone().into_iter().collect()))
            .map_err(|reason| Error::Deploy {
                resource: name.clone(),
                reason,
            })?;
        let p = resolved.as_object().cloned().unwrap_or_default();
        let out = create(c, name, &res.ty, &p).await?;
        match res.ty.as_str() {
            "aws:lambda:Function" => function = Some(function_spec(name, &p, &out)?),
            "aws:lambda:EventSourceMapping" => mapping = Some(mapping_spec(name, &p, &ctx)?),
            "aws:cloudwatch:MetricAlarm" => alarms.push(s(&p["name"])),
            _ => {}
        }
        ctx.outputs.insert(name.clone(), out);
    }
    let outputs = program
        .outputs
        .iter()
        .map(|(k, v)| Ok((k.clone(), s(&ctx.resolve(v)?))))
        .collect::<Result<_, String>>()
        .map_err(|reason| Error::Deploy {
            resource: "outputs".into(),
            reason,
        })?;
    let missing = |what: &str| Error::Deploy {
        resource: what.into(),
        reason: "the program has none".into(),
    };
    Ok(Deployed {
        stack: stack.to_owned(),
        region: c.region.clone(),
        outputs,
        function: function.ok_or_else(|| missing("aws:lambda:Function"))?,
        mapping: mapping.ok_or_else(|| missing("aws:lambda:EventSourceMapping"))?,
        alarms,
    })
}

/// The resources in an order where each comes after every resource it references
/// (`${name…}` in its properties, or `dependsOn`), program order otherwise — as Pulumi
/// orders them. A cycle is an error naming the resources in it.
fn creation_order(program: &Program) -> Result<Vec<&str>, Error> {
    let names: Vec<&str> = program.resources.keys().map(String::as_str).collect();
    let deps: HashMap<&str, Vec<&str>> = program
        .resources
        .iter()
        .map(|(name, res)| {
            let text = format!(
                "{} {}",
                serde_json::to_string(&res.properties).unwrap_or_default(),
                res.options.depends_on.join(" ")
            );
            let refs = names
                .iter()
                .copied()
                .filter(|other| {
                    *other != name.as_str()
                        && (text.contains(&format!("${{{other}."))
                            || text.contains(&format!("${{{other}}}")))
                })
                .collect();
            (name.as_str(), refs)
        })
        .collect();
    let mut done: Vec<&str> = Vec::with_capacity(names.len());
    while done.len() < names.len() {
        let next = names
            .iter()
            .copied()
            .find(|n| !done.contains(n) && deps[n].iter().all(|d| done.contains(d)));
        match next {
            Some(n) => done.push(n),
            None => {
                let stuck: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| !done.contains(n))
                    .collect();
                return Err(Error::Deploy {
                    resource: stuck.join(", "),
                    reason: "these resources reference each other in a cycle".into(),
                });
            }
        }
    }
    Ok(done)
}

fn function_spec(
    name: &str,
    p: &Map<String, Value>,
    out: &Map<String, Value>,
) -> Result<FunctionSpec, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct F {
        name: String,
        memory_size: i64,
        timeout: u64,
        code: PathBuf,
        architectures: Vec<Architecture>,
        #[serde(default)]
        environment: Option<Env>,
    }
    #[derive(Deserialize)]
    struct Env {
        variables: BTreeMap<String, Value>,
    }
    let f: F = props(name, p)?;
    Ok(FunctionSpec {
        name: f.name,
        arn: s(&out["arn"]),
        memory_mb: f.memory_size,
        timeout_secs: f.timeout,
        env: f
            .environment
            .map(|e| e.variables.iter().map(|(k, v)| (k.clone(), s(v))).collect())
            .unwrap_or_default(),
        archive: f.code,
        architecture: match f.architectures.as_slice() {
            [one] => *one,
            other => {
                return Err(Error::Deploy {
                    resource: name.to_owned(),
                    reason: format!("architectures must name one, not {other:?}"),
                });
            }
        },
    })
}

fn mapping_spec(name: &str, p: &Map<String, Value>, ctx: &Ctx) -> Result<MappingSpec, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct M {
        event_source_arn: String,
        starting_position: String,
        batch_size: usize,
        maximum_batching_window_in_seconds: u64,
        parallelization_factor: usize,
        maximum_retry_attempts: u32,
        maximum_record_age_in_seconds: u64,
        bisect_batch_on_function_error: bool,
        #[serde(default)]
        function_response_types: Vec<String>,
        destination_config: Value,
    }
    let m: M = props(name, p)?;
    let dest = s(&m.destination_config["onFailure"]["destinationArn"]);
    let failure_bucket = ctx
        .outputs
        .values()
        .find(|o| o.get("arn").map(s).as_deref() == Some(dest.as_str()))
        .and_then(|o| o.get("bucket"))
        .map(s)
        .ok_or_else(|| Error::Deploy {
            resource: name.into(),
            reason: format!("on-failure destination {dest} is not a bucket of the stack"),
        })?;
    let stream_name = ctx
        .outputs
        .values()
        .find(|o| o.get("arn").map(s).as_deref() == Some(m.event_source_arn.as_str()))
        .and_then(|o| o.get("name"))
        .map(s)
        .unwrap_or_default();
    Ok(MappingSpec {
        stream_arn: m.event_source_arn,
        stream_name,
        batch_size: m.batch_size,
        batching_window_secs: m.maximum_batching_window_in_seconds,
        parallelization_factor: m.parallelization_factor.max(1),
        maximum_retry_attempts: m.maximum_retry_attempts,
        maximum_record_age_secs: m.maximum_record_age_in_seconds,
        bisect_on_error: m.bisect_batch_on_function_error,
        report_batch_item_failures: m
            .function_response_types
            .iter()
            .any(|t| t == "ReportBatchItemFailures"),
        trim_horizon: m.starting_position == "TRIM_HORIZON",
        failure_bucket,
        uuid: format!("local-{name}"),
    })
}

fn outputs(pairs: &[(&str, String)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
        .collect()
}

/// `Error::Deploy` for a type the local stack cannot create.
fn unsupported(resource: &str, ty: &str) -> Error {
    Error::Deploy {
        resource: resource.to_owned(),
        reason: format!("type {ty} is not supported by the local stack"),
    }
}

/// A property the program must set, as a string (numbers and booleans as their JSON text).
fn string(resource: &str, p: &Map<String, Value>, key: &str) -> Result<String, Error> {
    p.get(key)
        .map(s)
        .ok_or_else(|| missing_property(resource, key))
}

/// A property the program must set, as an integer.
fn integer(resource: &str, p: &Map<String, Value>, key: &str) -> Result<i64, Error> {
    p.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| missing_property(resource, key))
}

/// A property the program must set, as a boolean.
fn boolean(resource: &str, p: &Map<String, Value>, key: &str) -> Result<bool, Error> {
    p.get(key)
        .and_then(Value::as_bool)
        .ok_or_else(|| missing_property(resource, key))
}

fn missing_property(resource: &str, key: &str) -> Error {
    Error::Deploy {
        resource: resource.to_owned(),
        reason: format!("property {key} is missing or of another type than the local stack reads"),
    }
}

/// Creates one resource, by its service's module; returns its outputs.
async fn create(
    c: &Clients,
    name: &str,
    ty: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    match ty.split(':').nth(1).unwrap_or_default() {
        "kms" => kms::create(c, name, ty, p).await,
        "kinesis" => kinesis::create(c, name, ty, p).await,
        "s3" => s3::create(c, name, ty, p).await,
        "dynamodb" => dynamodb::create(c, name, ty, p).await,
        "sns" => sns::create(c, name, ty, p).await,
        "cloudwatch" => cloudwatch::create(c, name, ty, p).await,
        "iam" => iam::create(c, name, ty, p).await,
        "lambda" => lambda::create(c, name, ty, p).await,
        _ => Err(unsupported(name, ty)),
    }
}

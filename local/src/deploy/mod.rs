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
use stackgen::Program;
use stackgen::aws::Properties;
use stackgen::aws::cloudwatch::{EventRule, EventTarget, MetricAlarm};
use stackgen::aws::lambda as lambda_type;
use stackgen::expr::Input;
use stackgen::settings::{Architecture, Settings};

pub mod alarm_reach;
mod athena;
mod cloudwatch;
mod dynamodb;
mod iam;
mod kinesis;
mod kms;
mod lambda;
mod s3;
pub mod schedule;
mod sns;

pub use schedule::ScheduleSpec;

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
    /// The handler setting (`_HANDLER`): `bootstrap` runs the processor, `compact` the
    /// compactor.
    #[serde(default = "processor_handler")]
    pub handler: String,
}

fn processor_handler() -> String {
    "bootstrap".to_owned()
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
    /// The alarms nothing here publishes a metric for (they would read OK for ever), each
    /// with the reason (`alarm_reach`).
    #[serde(default)]
    pub alarms_not_evaluated: BTreeMap<String, String>,
    /// The archive compactor (state files of earlier versions have none).
    #[serde(default)]
    pub compactor: Option<FunctionSpec>,
    #[serde(default)]
    pub schedules: Vec<ScheduleSpec>,
}

impl Deployed {
    /// A program output, or an empty string.
    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).map_or("", String::as_str)
    }

    /// The function's settings, read from its environment by the function's own
    /// configuration reader.
    pub fn config(&self) -> Result<function::Config, Error> {
        function::Config::from_vars(|k| self.function.env.get(k).cloned())
            .map_err(Error::function("the deployed function's settings"))
    }

    /// The aggregation window in seconds.
    pub fn window_secs(&self) -> Result<u32, Error> {
        self.config().map(|c| c.window_secs)
    }
}

/// Resolves `${…}` and `fn::` expressions of the program for one stack.
struct Ctx {
    stack: String,
    root: PathBuf,
    /// The function archive the program names, and the zip uploaded in its place.
    archive: (String, PathBuf),
    values: HashMap<String, Value>,
    outputs: HashMap<String, Map<String, Value>>,
}

impl Ctx {
    fn resolve(&self, v: &Value) -> Result<Value, stackgen::Error> {
        stackgen::eval::resolve(v, self)
    }
}

impl stackgen::eval::Scope for Ctx {
    fn lookup(&self, r: &str) -> Result<Value, stackgen::Error> {
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
            .ok_or_else(|| stackgen::Error::Evaluate {
                expression: format!("${{{r}}}"),
                reason: "not known locally",
            })
    }

    fn file(&self, path: &str) -> String {
        if path == self.archive.0 {
            return self.archive.1.display().to_string();
        }
        self.root.join(path).display().to_string()
    }
}

/// What a created resource exposes to `${name.property}` references.
type Outputs = Map<String, Value>;

/// The resolved properties of resource `name` as its gen type: a missing, unknown or
/// mistyped property is an error naming the resource.
fn typed<P: Properties>(name: &str, resolved: Value) -> Result<P, Error> {
    serde_json::from_value(resolved).map_err(|e| Error::Deploy {
        resource: name.to_owned(),
        reason: format!("properties of {}: {e}", P::TYPE),
    })
}

/// The literal of a resolved input (an expression left unresolved is an error).
fn lit<'a, T>(name: &str, input: &'a Input<T>) -> Result<&'a T, Error> {
    input.resolved().map_err(|source| Error::Resource {
        resource: name.to_owned(),
        source,
    })
}

/// A resolved integer input that may not be negative.
fn non_negative(name: &str, key: &str, v: &Input<i64>) -> Result<u64, Error> {
    let v = *lit(name, v)?;
    u64::try_from(v).map_err(|_| Error::Deploy {
        resource: name.to_owned(),
        reason: format!("{key} {v} is negative"),
    })
}

/// An integer property the SDK takes as `i32`.
fn int32(name: &str, key: &str, v: i64) -> Result<i32, Error> {
    i32::try_from(v).map_err(|_| Error::Deploy {
        resource: name.to_owned(),
        reason: format!("{key} {v} is out of range"),
    })
}

/// A resolved output as text (numbers and booleans as their JSON text).
fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Creates every resource of `program` for `stack` with `settings`; the function's code is
/// `archive` (the release zip the program names, or the dev build in its place).
pub async fn deploy(
    c: &Clients,
    program: &Program,
    settings: &Settings,
    stack: &str,
    root: &Path,
    archive: &Path,
) -> Result<Deployed, Error> {
    let mut values: HashMap<String, Value> = match serde_json::to_value(settings) {
        Ok(Value::Object(m)) => m.into_iter().collect(),
        _ => HashMap::new(),
    };
    for (name, v) in &program.variables {
        let stackgen::expr::Variable::Invoke(invoke) =
            serde_json::from_value(v.clone()).map_err(|e| Error::Deploy {
                resource: name.clone(),
                reason: format!("variable: {e}"),
            })?;
        let local = match invoke.function.as_str() {
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
        archive: (
            stackgen::function_archive(settings.lambda_architecture),
            archive.to_owned(),
        ),
        values,
        outputs: HashMap::new(),
    };
    let mut function = None;
    let mut compactor = None;
    let mut schedules = Vec::new();
    let mut mapping = None;
    let mut alarms: Vec<MetricAlarm> = Vec::new();
    for name in creation_order(program)? {
        let res = &program.resources[name];
        let name = &name.to_owned();
        let resolved = ctx
            .resolve(&Value::Object(res.properties.clone().into_iter().collect()))
            .map_err(|source| Error::Resource {
                resource: name.clone(),
                source,
            })?;
        let out = match res.ty.as_str() {
            <lambda_type::Function as Properties>::TYPE => {
                let f: lambda_type::Function = typed(name, resolved)?;
                let out = lambda::function(c, name, &f).await?;
                let spec = lambda::function_spec(name, &f, &out)?;
                if f.handler == function::compact::HANDLER {
                    compactor = Some(spec);
                } else {
                    function = Some(spec);
                }
                out
            }
            <EventRule as Properties>::TYPE => {
                let (out, spec) = schedule::rule(&c.region, name, &typed(name, resolved)?)?;
                schedules.push(spec);
                out
            }
            <EventTarget as Properties>::TYPE => {
                schedule::target(name, &typed(name, resolved)?, &mut schedules)?
            }
            <lambda_type::Permission as Properties>::TYPE => {
                schedule::permission(name, &typed(name, resolved)?)
            }
            <lambda_type::EventSourceMapping as Properties>::TYPE => {
                mapping = Some(lambda::mapping_spec(name, &typed(name, resolved)?, &ctx)?);
                lambda::mapping(name)
            }
            <MetricAlarm as Properties>::TYPE => {
                let a: MetricAlarm = typed(name, resolved)?;
                let out = cloudwatch::alarm(c, name, &a).await?;
                alarms.push(a);
                out
            }
            ty => create(c, name, ty, resolved).await?,
        };
        ctx.outputs.insert(name.clone(), out);
    }
    let outputs = program
        .outputs
        .iter()
        .map(|(k, v)| Ok((k.clone(), text(&ctx.resolve(v)?))))
        .collect::<Result<_, stackgen::Error>>()
        .map_err(|source| Error::Resource {
            resource: "outputs".into(),
            source,
        })?;
    let missing = |what: &str| Error::Deploy {
        resource: what.into(),
        reason: "the program has none".into(),
    };
    let mut deployed = Deployed {
        stack: stack.to_owned(),
        region: c.region.clone(),
        outputs,
        function: function.ok_or_else(|| missing("aws:lambda:Function"))?,
        mapping: mapping.ok_or_else(|| missing("aws:lambda:EventSourceMapping"))?,
        alarms: alarms.iter().map(|a| a.name.clone()).collect(),
        alarms_not_evaluated: BTreeMap::new(),
        compactor,
        schedules,
    };
    let namespace = deployed.config()?.namespace;
    deployed.alarms_not_evaluated = alarm_reach::not_evaluated(
        &alarms,
        &alarm_reach::Published {
            function_name: &deployed.function.name,
            mapping_uuid: &deployed.mapping.uuid,
            namespace: &namespace,
        },
    );
    Ok(deployed)
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

/// An output the service must return (an ARN, an id): its absence is an error naming the
/// resource, never an empty value another resource would reference.
pub(crate) fn required(name: &str, what: &str, v: Option<String>) -> Result<String, Error> {
    v.filter(|v| !v.is_empty()).ok_or_else(|| Error::Deploy {
        resource: name.to_owned(),
        reason: format!("the service returned no {what}"),
    })
}

fn outputs(pairs: &[(&str, String)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
        .collect()
}

/// Creates one resource by its type, from its gen type; returns its outputs.
async fn create(c: &Clients, name: &str, ty: &str, v: Value) -> Result<Outputs, Error> {
    use stackgen::aws::{athena as ga, glue as gg, s3 as gs3, sns as gsns};
    use stackgen::aws::{
        cloudwatch as cw, dynamodb as ddb, iam as giam, kinesis as gk, kms as gkms,
    };
    match ty {
        <gg::CatalogDatabase as Properties>::TYPE => athena::database(c, typed(name, v)?).await,
        <gg::CatalogTable as Properties>::TYPE => athena::table(c, name, typed(name, v)?).await,
        <ga::Workgroup as Properties>::TYPE => athena::workgroup(c, name, typed(name, v)?).await,
        <ga::NamedQuery as Properties>::TYPE => athena::named_query(c, name, typed(name, v)?).await,
        <gkms::Key as Properties>::TYPE => kms::key(c, name, typed(name, v)?).await,
        <gkms::Alias as Properties>::TYPE => kms::alias(c, typed(name, v)?).await,
        <gk::Stream as Properties>::TYPE => kinesis::stream(c, name, typed(name, v)?).await,
        <gs3::Bucket as Properties>::TYPE => s3::bucket(c, typed(name, v)?).await,
        <gs3::BucketOwnershipControls as Properties>::TYPE => {
            s3::ownership(c, typed(name, v)?).await
        }
        <gs3::BucketPublicAccessBlock as Properties>::TYPE => {
            s3::public_access(c, typed(name, v)?).await
        }
        <gs3::BucketServerSideEncryptionConfiguration as Properties>::TYPE => {
            s3::encryption(c, typed(name, v)?).await
        }
        <gs3::BucketVersioning as Properties>::TYPE => s3::versioning(c, typed(name, v)?).await,
        <gs3::BucketLifecycleConfiguration as Properties>::TYPE => {
            s3::lifecycle(c, name, typed(name, v)?).await
        }
        <gs3::BucketPolicy as Properties>::TYPE => s3::policy(c, name, typed(name, v)?).await,
        <ddb::Table as Properties>::TYPE => dynamodb::table(c, name, typed(name, v)?).await,
        <gsns::Topic as Properties>::TYPE => sns::topic(c, typed(name, v)?).await,
        <gsns::TopicPolicy as Properties>::TYPE => {
            sns::topic_policy(c, name, typed(name, v)?).await
        }
        <cw::LogGroup as Properties>::TYPE => cloudwatch::log_group(c, name, typed(name, v)?).await,
        <cw::Dashboard as Properties>::TYPE => {
            cloudwatch::dashboard(c, name, typed(name, v)?).await
        }
        <giam::Role as Properties>::TYPE => iam::role(c, name, typed(name, v)?).await,
        <giam::RolePolicy as Properties>::TYPE => iam::role_policy(c, name, typed(name, v)?).await,
        <giam::Policy as Properties>::TYPE => iam::policy(c, name, typed(name, v)?).await,
        other => Err(Error::Deploy {
            resource: name.to_owned(),
            reason: format!("type {other} is not supported by the local stack"),
        }),
    }
}

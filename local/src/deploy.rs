//! Creates the stack in the emulator from the very program `gen` emits: every resource of
//! `Pulumi.yaml`, in order, with its properties resolved against the stack's settings.
//!
//! A resource type this module does not know is an error, so the program and the local
//! stack cannot drift apart silently.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    ScalarAttributeType, SseSpecification, TimeToLiveSpecification,
};
use aws_sdk_kinesis::types::{EncryptionType, StreamMode, StreamModeDetails, StreamStatus};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::clients::Clients;
use crate::error::Error;
use r#gen::Program;
use r#gen::settings::{Architecture, Settings};

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
}

/// Resolves `${…}` and `fn::` expressions of the program for one stack.
struct Ctx {
    stack: String,
    root: PathBuf,
    values: HashMap<String, Value>,
    outputs: HashMap<String, Map<String, Value>>,
}

impl Ctx {
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

    fn resolve(&self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => {
                if let Some(r) = s.strip_prefix("${").and_then(|x| x.strip_suffix('}'))
                    && !r.contains("${")
                {
                    return self.lookup(r);
                }
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(i) = rest.find("${") {
                    out.push_str(&rest[..i]);
                    let tail = &rest[i + 2..];
                    let j = tail.find('}').ok_or("unterminated ${")?;
                    match self.lookup(&tail[..j])? {
                        Value::String(x) => out.push_str(&x),
                        other => out.push_str(&other.to_string()),
                    }
                    rest = &tail[j + 1..];
                }
                out.push_str(rest);
                Value::String(out)
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.resolve(x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) if m.len() == 1 && m.keys().all(|k| k.starts_with("fn::")) => {
                let (f, arg) = m.iter().next().ok_or("empty call")?;
                let arg = self.resolve(arg)?;
                match f.as_str() {
                    "fn::toJSON" => Value::String(arg.to_string()),
                    "fn::fileArchive" => {
                        let p = arg.as_str().ok_or("fn::fileArchive takes a path")?;
                        Value::String(self.root.join(p).display().to_string())
                    }
                    "fn::join" => {
                        let parts = arg.as_array().ok_or("fn::join takes a list")?;
                        let sep = parts.first().and_then(Value::as_str).unwrap_or_default();
                        let items = parts
                            .get(1)
                            .and_then(Value::as_array)
                            .ok_or("fn::join list")?;
                        let strs: Vec<String> = items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                            .collect();
                        Value::String(strs.join(sep))
                    }
                    other => return Err(format!("{other} is not supported locally")),
                }
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| Ok((k.clone(), self.resolve(x)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
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

/// Creates one resource and returns its outputs.
async fn create(
    c: &Clients,
    name: &str,
    ty: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let region = &c.region;
    let str_of = |k: &str| p.get(k).map(s).unwrap_or_default();
    let int_of = |k: &str| p.get(k).and_then(Value::as_i64).unwrap_or_default();
    let bool_of = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or_default();
    Ok(match ty {
        "aws:kms:Key" => {
            let k = c
                .kms
                .create_key()
                .description(str_of("description"))
                .policy(str_of("policy"))
                .send()
                .await
                .map_err(Error::aws("kms:CreateKey"))?;
            let meta = k.key_metadata();
            let id = meta.map(|m| m.key_id().to_owned()).unwrap_or_default();
            let arn = meta.and_then(|m| m.arn()).unwrap_or_default().to_owned();
            if bool_of("enableKeyRotation") {
                c.kms
                    .enable_key_rotation()
                    .key_id(&id)
                    .send()
                    .await
                    .map_err(Error::aws("kms:EnableKeyRotation"))?;
            }
            outputs(&[("id", id.clone()), ("keyId", id), ("arn", arn)])
        }
        "aws:kms:Alias" => {
            c.kms
                .create_alias()
                .alias_name(str_of("name"))
                .target_key_id(str_of("targetKeyId"))
                .send()
                .await
                .map_err(Error::aws("kms:CreateAlias"))?;
            outputs(&[("id", str_of("name")), ("name", str_of("name"))])
        }
        "aws:kinesis:Stream" => {
            let stream = str_of("name");
            c.kinesis
                .create_stream()
                .stream_name(&stream)
                .shard_count(int_of("shardCount") as i32)
                .stream_mode_details(
                    StreamModeDetails::builder()
                        .stream_mode(StreamMode::Provisioned)
                        .build()
                        .map_err(Error::aws("kinesis:CreateStream"))?,
                )
                .send()
                .await
                .map_err(Error::aws("kinesis:CreateStream"))?;
            let arn = wait_stream_active(c, &stream).await?;
            let hours = int_of("retentionPeriod") as i32;
            if hours > 24 {
                c.kinesis
                    .increase_stream_retention_period()
                    .stream_name(&stream)
                    .retention_period_hours(hours)
                    .send()
                    .await
                    .map_err(Error::aws("kinesis:IncreaseStreamRetentionPeriod"))?;
            }
            if str_of("encryptionType") == "KMS" {
                c.kinesis
                    .start_stream_encryption()
                    .stream_name(&stream)
                    .encryption_type(EncryptionType::Kms)
                    .key_id(str_of("kmsKeyId"))
                    .send()
                    .await
                    .map_err(Error::aws("kinesis:StartStreamEncryption"))?;
                wait_stream_active(c, &stream).await?;
            }
            outputs(&[("id", arn.clone()), ("name", stream), ("arn", arn)])
        }
        "aws:s3:Bucket" => {
            let bucket = str_of("bucket");
            c.s3.create_bucket()
                .bucket(&bucket)
                .send()
                .await
                .map_err(Error::aws("s3:CreateBucket"))?;
            outputs(&[
                ("id", bucket.clone()),
                ("bucket", bucket.clone()),
                ("arn", format!("arn:aws:s3:::{bucket}")),
            ])
        }
        "aws:s3:BucketOwnershipControls" => {
            use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule};
            let rule = OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::from(
                    s(&p["rule"]["objectOwnership"]).as_str(),
                ))
                .build()
                .map_err(Error::aws("s3:PutBucketOwnershipControls"))?;
            c.s3.put_bucket_ownership_controls()
                .bucket(str_of("bucket"))
                .ownership_controls(
                    OwnershipControls::builder()
                        .rules(rule)
                        .build()
                        .map_err(Error::aws("s3:PutBucketOwnershipControls"))?,
                )
                .send()
                .await
                .map_err(Error::aws("s3:PutBucketOwnershipControls"))?;
            outputs(&[("id", str_of("bucket"))])
        }
        "aws:s3:BucketPublicAccessBlock" => {
            use aws_sdk_s3::types::PublicAccessBlockConfiguration;
            c.s3.put_public_access_block()
                .bucket(str_of("bucket"))
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(bool_of("blockPublicAcls"))
                        .block_public_policy(bool_of("blockPublicPolicy"))
                        .ignore_public_acls(bool_of("ignorePublicAcls"))
                        .restrict_public_buckets(bool_of("restrictPublicBuckets"))
                        .build(),
                )
                .send()
                .await
                .map_err(Error::aws("s3:PutPublicAccessBlock"))?;
            outputs(&[("id", str_of("bucket"))])
        }
        "aws:s3:BucketServerSideEncryptionConfiguration" => {
            use aws_sdk_s3::types::{
                ServerSideEncryption, ServerSideEncryptionByDefault,
                ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
            };
            let rule = &p["rules"][0];
            let default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(
                    s(&rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"]).as_str(),
                ))
                .build()
                .map_err(Error::aws("s3:PutBucketEncryption"))?;
            c.s3.put_bucket_encryption()
                .bucket(str_of("bucket"))
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(
                            ServerSideEncryptionRule::builder()
                                .apply_server_side_encryption_by_default(default)
                                .bucket_key_enabled(
                                    rule["bucketKeyEnabled"].as_bool().unwrap_or(false),
                                )
                                .build(),
                        )
                        .build()
                        .map_err(Error::aws("s3:PutBucketEncryption"))?,
                )
                .send()
                .await
                .map_err(Error::aws("s3:PutBucketEncryption"))?;
            outputs(&[("id", str_of("bucket"))])
        }
        "aws:s3:BucketVersioning" => {
            use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
            c.s3.put_bucket_versioning()
                .bucket(str_of("bucket"))
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::from(
                            s(&p["versioningConfiguration"]["status"]).as_str(),
                        ))
                        .build(),
                )
                .send()
                .await
                .map_err(Error::aws("s3:PutBucketVersioning"))?;
            outputs(&[("id", str_of("bucket"))])
        }
        "aws:s3:BucketLifecycleConfiguration" => {
            put_lifecycle(c, p).await?;
            outputs(&[("id", str_of("bucket"))])
        }
        "aws:s3:BucketPolicy" => {
            c.s3.put_bucket_policy()
                .bucket(str_of("bucket"))
                .policy(str_of("policy"))
                .send()
                .await
                .map_err(Error::aws("s3:PutBucketPolicy"))?;
            outputs(&[("id", str_of("bucket"))])
        }
        "aws:dynamodb:Table" => create_table(c, name, p).await?,
        "aws:s3:BucketNotification" => {
            put_notification(c, p).await?;
            outputs(&[("id", str_of("bucket"))])
        }
        "aws:sns:Topic" => {
            let t = str_of("name");
            let out = c
                .sns
                .create_topic()
                .name(&t)
                .attributes("KmsMasterKeyId", str_of("kmsMasterKeyId"))
                .send()
                .await
                .map_err(Error::aws("sns:CreateTopic"))?;
            let arn = out.topic_arn().unwrap_or_default().to_owned();
            outputs(&[("id", arn.clone()), ("arn", arn), ("name", t)])
        }
        "aws:sns:TopicPolicy" => {
            c.sns
                .set_topic_attributes()
                .topic_arn(str_of("arn"))
                .attribute_name("Policy")
                .attribute_value(str_of("policy"))
                .send()
                .await
                .map_err(Error::aws("sns:SetTopicAttributes"))?;
            outputs(&[("id", str_of("arn"))])
        }
        "aws:cloudwatch:LogGroup" => {
            let g = str_of("name");
            c.logs
                .create_log_group()
                .log_group_name(&g)
                .send()
                .await
                .map_err(Error::aws("logs:CreateLogGroup"))?;
            c.logs
                .put_retention_policy()
                .log_group_name(&g)
                .retention_in_days(int_of("retentionInDays") as i32)
                .send()
                .await
                .map_err(Error::aws("logs:PutRetentionPolicy"))?;
            let arn = format!("arn:aws:logs:{region}:{LOCAL_ACCOUNT}:log-group:{g}");
            outputs(&[("id", g.clone()), ("name", g), ("arn", arn)])
        }
        "aws:iam:Role" => {
            let r = str_of("name");
            let out = c
                .iam
                .create_role()
                .role_name(&r)
                .assume_role_policy_document(str_of("assumeRolePolicy"))
                .send()
                .await
                .map_err(Error::aws("iam:CreateRole"))?;
            let arn = out.role().map(|r| r.arn().to_owned()).unwrap_or_default();
            outputs(&[("id", r.clone()), ("name", r), ("arn", arn)])
        }
        "aws:iam:RolePolicy" => {
            c.iam
                .put_role_policy()
                .role_name(str_of("role"))
                .policy_name(name)
                .policy_document(str_of("policy"))
                .send()
                .await
                .map_err(Error::aws("iam:PutRolePolicy"))?;
            outputs(&[("id", format!("{}:{name}", str_of("role")))])
        }
        "aws:lambda:Function" => create_function(c, p).await?,
        // The mapping is run by this crate with Lambda's semantics (see `esm`), not by the
        // emulator, whose mapping lacks them; creating it there would process twice.
        "aws:lambda:EventSourceMapping" => outputs(&[
            ("id", format!("local-{name}")),
            ("uuid", format!("local-{name}")),
        ]),
        "aws:cloudwatch:MetricAlarm" => {
            put_alarm(c, p).await?;
            let n = str_of("name");
            let arn = format!("arn:aws:cloudwatch:{region}:{LOCAL_ACCOUNT}:alarm:{n}");
            outputs(&[("id", n.clone()), ("name", n), ("arn", arn)])
        }
        "aws:cloudwatch:Dashboard" => {
            let n = str_of("dashboardName");
            c.cloudwatch
                .put_dashboard()
                .dashboard_name(&n)
                .dashboard_body(str_of("dashboardBody"))
                .send()
                .await
                .map_err(Error::aws("cloudwatch:PutDashboard"))?;
            outputs(&[("id", n.clone()), ("dashboardName", n)])
        }
        other => {
            return Err(Error::Deploy {
                resource: name.to_owned(),
                reason: format!("type {other} is not supported by the local stack yet"),
            });
        }
    })
}

async fn wait_stream_active(c: &Clients, stream: &str) -> Result<String, Error> {
    for _ in 0..200 {
        let d = c
            .kinesis
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .map_err(Error::aws("kinesis:DescribeStreamSummary"))?;
        if let Some(sum) = d.stream_description_summary()
            && sum.stream_status() == &StreamStatus::Active
        {
            return Ok(sum.stream_arn().to_owned());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(Error::Deploy {
        resource: stream.into(),
        reason: "stream never became ACTIVE".into(),
    })
}

/// S3 event notifications to SNS topics (the failed-batches bucket → the alert topic).
async fn put_notification(c: &Clients, p: &Map<String, Value>) -> Result<(), Error> {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration,
        NotificationConfigurationFilter, S3KeyFilter, TopicConfiguration,
    };
    let mut topics = Vec::new();
    for t in p["topics"].as_array().into_iter().flatten() {
        let mut b = TopicConfiguration::builder().topic_arn(s(&t["topicArn"]));
        for e in t["events"].as_array().into_iter().flatten() {
            b = b.events(Event::from(s(e).as_str()));
        }
        if let Some(prefix) = t["filterPrefix"].as_str() {
            let rule = FilterRule::builder()
                .name(FilterRuleName::Prefix)
                .value(prefix)
                .build();
            let key = S3KeyFilter::builder().filter_rules(rule).build();
            b = b.filter(NotificationConfigurationFilter::builder().key(key).build());
        }
        topics.push(b.build().map_err(|e| Error::Deploy {
            resource: "aws:s3:BucketNotification".into(),
            reason: e.to_string(),
        })?);
    }
    c.s3.put_bucket_notification_configuration()
        .bucket(s(&p["bucket"]))
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_topic_configurations(Some(topics))
                .build(),
        )
        .send()
        .await
        .map_err(Error::aws("s3:PutBucketNotificationConfiguration"))?;
    Ok(())
}

async fn put_lifecycle(c: &Clients, p: &Map<String, Value>) -> Result<(), Error> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
        LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
        Transition, TransitionDefaultMinimumObjectSize, TransitionStorageClass,
    };
    let mut rules = Vec::new();
    for r in p["rules"].as_array().into_iter().flatten() {
        let mut b = LifecycleRule::builder()
            .id(s(&r["id"]))
            .status(ExpirationStatus::from(s(&r["status"]).as_str()))
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(r["filter"]["prefix"].as_str().unwrap_or_default())
                    .build(),
            );
        for t in r["transitions"].as_array().into_iter().flatten() {
            b = b.transitions(
                Transition::builder()
                    .days(t["days"].as_i64().unwrap_or_default() as i32)
                    .storage_class(TransitionStorageClass::from(s(&t["storageClass"]).as_str()))
                    .build(),
            );
        }
        if let Some(d) = r["noncurrentVersionExpiration"]["noncurrentDays"].as_i64() {
            b = b.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(d as i32)
                    .build(),
            );
        }
        if let Some(d) = r["abortIncompleteMultipartUpload"]["daysAfterInitiation"].as_i64() {
            b = b.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(d as i32)
                    .build(),
            );
        }
        if let Some(m) = r["expiration"]["expiredObjectDeleteMarker"].as_bool() {
            b = b.expiration(
                LifecycleExpiration::builder()
                    .expired_object_delete_marker(m)
                    .build(),
            );
        }
        rules.push(
            b.build()
                .map_err(Error::aws("s3:PutBucketLifecycleConfiguration"))?,
        );
    }
    let minimum = p
        .get("transitionDefaultMinimumObjectSize")
        .and_then(Value::as_str)
        .map(TransitionDefaultMinimumObjectSize::from);
    c.s3.put_bucket_lifecycle_configuration()
        .bucket(s(&p["bucket"]))
        .set_transition_default_minimum_object_size(minimum)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(Error::aws("s3:PutBucketLifecycleConfiguration"))?,
        )
        .send()
        .await
        .map_err(Error::aws("s3:PutBucketLifecycleConfiguration"))?;
    Ok(())
}

async fn create_table(
    c: &Clients,
    name: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct T {
        name: String,
        hash_key: String,
        range_key: String,
        attributes: Vec<A>,
        ttl: Ttl,
        point_in_time_recovery: Enabled,
        server_side_encryption: Enabled,
        deletion_protection_enabled: bool,
    }
    #[derive(Deserialize)]
    struct A {
        name: String,
        #[serde(rename = "type")]
        ty: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Ttl {
        attribute_name: String,
        enabled: bool,
    }
    #[derive(Deserialize)]
    struct Enabled {
        enabled: bool,
    }
    let t: T = props(name, p)?;
    let err = Error::aws::<aws_sdk_dynamodb::error::BuildError>("dynamodb:CreateTable");
    let key = |n: &str, k: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(k)
            .build()
    };
    let mut req = c
        .dynamodb
        .create_table()
        .table_name(&t.name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(&t.hash_key, KeyType::Hash).map_err(err)?)
        .key_schema(key(&t.range_key, KeyType::Range).map_err(Error::aws("dynamodb:CreateTable"))?)
        .sse_specification(
            SseSpecification::builder()
                .enabled(t.server_side_encryption.enabled)
                .build(),
        )
        .deletion_protection_enabled(t.deletion_protection_enabled);
    for a in &t.attributes {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.name)
                .attribute_type(ScalarAttributeType::from(a.ty.as_str()))
                .build()
                .map_err(Error::aws("dynamodb:CreateTable"))?,
        );
    }
    let out = req
        .send()
        .await
        .map_err(Error::aws("dynamodb:CreateTable"))?;
    let arn = out
        .table_description()
        .and_then(|d| d.table_arn())
        .unwrap_or_default()
        .to_owned();
    c.dynamodb
        .update_time_to_live()
        .table_name(&t.name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(&t.ttl.attribute_name)
                .enabled(t.ttl.enabled)
                .build()
                .map_err(Error::aws("dynamodb:UpdateTimeToLive"))?,
        )
        .send()
        .await
        .map_err(Error::aws("dynamodb:UpdateTimeToLive"))?;
    if t.point_in_time_recovery.enabled {
        c.dynamodb
            .update_continuous_backups()
            .table_name(&t.name)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()
                    .map_err(Error::aws("dynamodb:UpdateContinuousBackups"))?,
            )
            .send()
            .await
            .map_err(Error::aws("dynamodb:UpdateContinuousBackups"))?;
    }
    Ok(outputs(&[
        ("id", t.name.clone()),
        ("name", t.name),
        ("arn", arn),
    ]))
}

async fn create_function(c: &Clients, p: &Map<String, Value>) -> Result<Map<String, Value>, Error> {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, Runtime};
    let zip_path = PathBuf::from(s(&p["code"]));
    let zip = std::fs::read(&zip_path).map_err(Error::io(&zip_path))?;
    let env: HashMap<String, String> = p["environment"]["variables"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), s(v))).collect())
        .unwrap_or_default();
    let out = c
        .lambda
        .create_function()
        .function_name(s(&p["name"]))
        .runtime(Runtime::from(s(&p["runtime"]).as_str()))
        .handler(s(&p["handler"]))
        .role(s(&p["role"]))
        .memory_size(p["memorySize"].as_i64().unwrap_or(128) as i32)
        .timeout(p["timeout"].as_i64().unwrap_or(3) as i32)
        .set_architectures(Some(
            p["architectures"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| Architecture::from(s(a).as_str()))
                .collect(),
        ))
        .environment(Environment::builder().set_variables(Some(env)).build())
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await
        .map_err(Error::aws("lambda:CreateFunction"))?;
    let name = s(&p["name"]);
    let arn = out.function_arn().unwrap_or_default().to_owned();
    Ok(outputs(&[
        ("id", name.clone()),
        ("name", name),
        ("arn", arn),
    ]))
}

async fn put_alarm(c: &Clients, p: &Map<String, Value>) -> Result<(), Error> {
    let list = |k: &str| -> Vec<String> {
        p.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(s).collect())
            .unwrap_or_default()
    };
    let dims: Vec<Dimension> = p["dimensions"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| Dimension::builder().name(k).value(s(v)).build())
                .collect()
        })
        .unwrap_or_default();
    c.cloudwatch
        .put_metric_alarm()
        .alarm_name(s(&p["name"]))
        .alarm_description(s(&p["alarmDescription"]))
        .namespace(s(&p["namespace"]))
        .metric_name(s(&p["metricName"]))
        .set_dimensions(Some(dims))
        .statistic(Statistic::from(s(&p["statistic"]).as_str()))
        .period(p["period"].as_i64().unwrap_or(60) as i32)
        .evaluation_periods(p["evaluationPeriods"].as_i64().unwrap_or(1) as i32)
        .datapoints_to_alarm(p["datapointsToAlarm"].as_i64().unwrap_or(1) as i32)
        .threshold(p["threshold"].as_f64().unwrap_or_default())
        .comparison_operator(ComparisonOperator::from(
            s(&p["comparisonOperator"]).as_str(),
        ))
        .treat_missing_data(s(&p["treatMissingData"]))
        .set_alarm_actions(Some(list("alarmActions")))
        .set_ok_actions(Some(list("okActions")))
        .send()
        .await
        .map_err(Error::aws("cloudwatch:PutMetricAlarm"))?;
    Ok(())
}

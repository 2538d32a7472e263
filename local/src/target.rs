//! The stack the operations commands act on: the local stack (its state file), or a stack
//! deployed by `pulumi up` (its names from `pulumi stack output --json`, the user's usual
//! AWS credentials, profile and region); and the deployed function, invoked through
//! `lambda:Invoke`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stackgen::stack::outputs;

use crate::clients::Clients;
use crate::error::Error;
use crate::redrive::Invoker;
use crate::runtime::InvokeError;

/// The calls the operations commands make against a deployed stack. The program's operator
/// policy (`stackgen::stack::operator`) grants exactly these (a contract test checks).
pub mod actions {
    pub const FAILED_BATCHES_OBJECTS: [&str; 2] = ["s3:GetObject", "s3:DeleteObject"];
    pub const LIST_BUCKET: [&str; 1] = ["s3:ListBucket"];
    pub const ARCHIVE_OBJECTS: [&str; 1] = ["s3:GetObject"];
    pub const QUARANTINE: [&str; 1] = ["s3:PutObject"];
    pub const FUNCTION: [&str; 2] = ["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"];
    pub const TABLE: [&str; 2] = ["dynamodb:PutItem", "dynamodb:Query"];
    pub const LOGS: [&str; 1] = ["logs:FilterLogEvents"];
    pub const ALARM_STATE: [&str; 1] = ["cloudwatch:SetAlarmState"];
    pub const OBSERVE: [&str; 3] = [
        "cloudwatch:DescribeAlarms",
        "cloudwatch:GetMetricData",
        "lambda:ListEventSourceMappings",
    ];
    /// `sql` (`crate::sql`); Athena itself then reads the catalog and the archive and
    /// writes the results with the caller's rights.
    pub const ATHENA: [&str; 6] = [
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
        "athena:ListNamedQueries",
        "athena:BatchGetNamedQuery",
    ];
}

/// The outputs the operations commands read.
const NEEDED: [&str; 6] = [
    outputs::ARCHIVE_BUCKET_NAME,
    outputs::METRICS_TABLE_NAME,
    outputs::PROCESSOR_FUNCTION_NAME,
    outputs::FAILED_BATCHES_BUCKET_NAME,
    outputs::ALERT_TOPIC_ARN,
    outputs::KEPT_BATCHES_ALARM_NAME,
];

/// Where a deployed stack's outputs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputsSource {
    /// A file holding what `pulumi stack output --json` printed.
    File(PathBuf),
    /// `pulumi stack output --json --stack <stack>`, run now (the `pulumi` CLI on PATH).
    Pulumi { stack: String },
}

/// Reads `pulumi stack output --json`'s document: every string output (a secret shows as
/// `[secret]` and is not one this CLI reads). An output the commands need is an error when
/// missing, naming it.
pub fn parse_outputs(text: &str, from: &str) -> Result<BTreeMap<String, String>, Error> {
    let doc: BTreeMap<String, serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        Error::Usage(format!(
            "{from}: not what `pulumi stack output --json` prints: {e}"
        ))
    })?;
    let names: BTreeMap<String, String> = doc
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
        .collect();
    let missing: Vec<&str> = NEEDED
        .iter()
        .copied()
        .filter(|n| names.get(*n).is_none_or(String::is_empty))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "{from}: the stack outputs lack {} (deployed from an older version of the \
             program? run `pulumi up` with this one)",
            missing.join(", ")
        )));
    }
    Ok(names)
}

impl OutputsSource {
    /// The outputs, read or asked of the `pulumi` CLI.
    pub fn load(&self) -> Result<BTreeMap<String, String>, Error> {
        match self {
            Self::File(path) => {
                let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
                parse_outputs(&text, &path.display().to_string())
            }
            Self::Pulumi { stack } => {
                let out = std::process::Command::new("pulumi")
                    .args(["stack", "output", "--json", "--stack", stack])
                    .output()
                    .map_err(|e| {
                        Error::Usage(format!(
                            "running `pulumi stack output --json --stack {stack}`: {e} (is the \
                             pulumi CLI on PATH? or save its output and pass --outputs FILE)"
                        ))
                    })?;
                if !out.status.success() {
                    return Err(Error::Usage(format!(
                        "`pulumi stack output --json --stack {stack}` failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
                parse_outputs(
                    &String::from_utf8_lossy(&out.stdout),
                    &format!("pulumi stack {stack}"),
                )
            }
        }
    }
}

/// A stack to operate: clients, the program's outputs, and its function's settings.
#[derive(Debug, Clone)]
pub struct Operated {
    pub clients: Clients,
    pub outputs: BTreeMap<String, String>,
    /// The function's environment (its settings: window, rules, table, bucket).
    pub function_env: BTreeMap<String, String>,
    /// The local stack's state; `None` for a deployed stack.
    pub local: Option<crate::state::StateFile>,
}

impl Operated {
    /// The local stack `dir` holds the state of.
    pub async fn local(dir: &Path, stack: &str) -> Result<Self, Error> {
        let state = crate::state::StateFile::load(dir, stack)?;
        let clients = Clients::local(&state.endpoint, &state.deployed.region).await;
        Ok(Self {
            clients,
            outputs: state.deployed.outputs.clone(),
            function_env: state.deployed.function.env.clone(),
            local: Some(state),
        })
    }

    /// A deployed stack: its outputs, and its function's settings read from Lambda.
    pub async fn deployed(source: &OutputsSource) -> Result<Self, Error> {
        let outputs = source.load()?;
        let clients = Clients::from_env().await;
        let function = &outputs[outputs::PROCESSOR_FUNCTION_NAME];
        let conf = clients
            .lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(Error::aws("lambda:GetFunctionConfiguration"))?;
        let function_env = conf
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(Self {
            clients,
            outputs,
            function_env,
            local: None,
        })
    }

    /// A program output, or an empty string.
    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).map_or("", String::as_str)
    }

    /// The function's settings, read by the function's own configuration reader.
    pub fn config(&self) -> Result<function::Config, Error> {
        function::Config::from_vars(|k| self.function_env.get(k).cloned())
            .map_err(Error::function("the deployed function's settings"))
    }
}

/// The deployed function, invoked synchronously through the Lambda API.
#[derive(Debug)]
pub struct LambdaFunction {
    pub client: aws_sdk_lambda::Client,
    pub name: String,
}

impl Invoker for LambdaFunction {
    async fn invoke(&mut self, _shard: &str, event: &[u8]) -> Result<Vec<u8>, Error> {
        let out = self
            .client
            .invoke()
            .function_name(&self.name)
            .payload(aws_sdk_lambda::primitives::Blob::new(event))
            .send()
            .await
            .map_err(Error::aws("lambda:Invoke"))?;
        let body = out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default();
        match out.function_error() {
            Some(kind) => Err(Error::Invocation(InvokeError::Function {
                error_type: kind.to_owned(),
                message: String::from_utf8_lossy(&body).into_owned(),
            })),
            None => Ok(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> serde_json::Value {
        serde_json::json!({
            "ArchiveBucketName": "a",
            "MetricsTableName": "t",
            "ProcessorFunctionName": "f",
            "FailedBatchesBucketName": "b",
            "AlertTopicArn": "arn:aws:sns:us-east-1:1:x",
            "KeptBatchesAlarmName": "k",
            "DataStreamName": "s",
            "ShardCount": 2,
            "Secret": "[secret]",
        })
    }

    #[test]
    fn outputs_are_read_as_pulumi_prints_them() {
        let names = parse_outputs(&full().to_string(), "f").expect("outputs");
        assert_eq!(names[outputs::PROCESSOR_FUNCTION_NAME], "f");
        // A non-string output is not one the CLI reads; it is not an error either.
        assert!(!names.contains_key("ShardCount"));
    }

    #[test]
    fn a_missing_output_or_another_document_is_named() {
        let mut v = full();
        v.as_object_mut()
            .expect("object")
            .remove("MetricsTableName");
        let e = parse_outputs(&v.to_string(), "out.json").expect_err("missing");
        assert!(e.to_string().contains("MetricsTableName"), "{e}");
        assert!(e.to_string().contains("out.json"), "{e}");
        let e = parse_outputs("Current stack outputs (8):", "out.json").expect_err("text");
        assert!(e.to_string().contains("pulumi stack output --json"), "{e}");
    }
}

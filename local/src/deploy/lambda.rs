//! The function (created from the packaged zip) and the mapping (run by this crate, not the emulator).

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::{outputs, s};
use crate::clients::Clients;
use crate::error::Error;

/// Creates one `aws:lambda:*` resource; returns its outputs.
pub(super) async fn create(
    c: &Clients,
    name: &str,
    ty: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    Ok(match ty {
        "aws:lambda:Function" => create_function(c, p).await?,
        // The mapping is run by this crate with Lambda's semantics (see `esm`), not by the
        // emulator, whose mapping lacks them; creating it there would process twice.
        "aws:lambda:EventSourceMapping" => outputs(&[
            ("id", format!("local-{name}")),
            ("uuid", format!("local-{name}")),
        ]),
        other => return Err(super::unsupported(name, other)),
    })
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

//! The function (created from the packaged zip) and the mapping (run by this crate, not the
//! emulator).

use std::collections::HashMap;
use std::path::PathBuf;

use stackgen::aws::lambda::Function;

use super::{Outputs, int32, lit, outputs};
use crate::clients::Clients;
use crate::error::Error;

/// `aws:lambda:Function`, from the zip its `code` names.
pub(super) async fn function(c: &Clients, name: &str, f: &Function) -> Result<Outputs, Error> {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, Runtime};
    let zip_path = PathBuf::from(lit(name, &f.code)?);
    let zip = std::fs::read(&zip_path).map_err(Error::io(&zip_path))?;
    let env = f
        .environment
        .variables
        .iter()
        .map(|(k, v)| Ok((k.clone(), lit(name, v)?.clone())))
        .collect::<Result<HashMap<String, String>, Error>>()?;
    let architectures = f
        .architectures
        .iter()
        .map(|a| Ok(Architecture::from(lit(name, a)?.as_str())))
        .collect::<Result<Vec<_>, Error>>()?;
    let out = c
        .lambda
        .create_function()
        .function_name(&f.name)
        .runtime(Runtime::from(f.runtime.as_str()))
        .handler(&f.handler)
        .role(&f.role)
        .memory_size(int32(name, "memorySize", *lit(name, &f.memory_size)?)?)
        .timeout(int32(name, "timeout", *lit(name, &f.timeout)?)?)
        .set_architectures(Some(architectures))
        .environment(Environment::builder().set_variables(Some(env)).build())
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await
        .map_err(Error::aws("lambda:CreateFunction"))?;
    let arn = super::required(name, "function ARN", out.function_arn().map(str::to_owned))?;
    Ok(outputs(&[
        ("id", f.name.clone()),
        ("name", f.name.clone()),
        ("arn", arn),
    ]))
}

/// `aws:lambda:EventSourceMapping`: run by this crate with Lambda's semantics (see `esm`),
/// not by the emulator, whose mapping lacks them; creating it there would process twice.
pub(super) fn mapping(name: &str) -> Outputs {
    outputs(&[
        ("id", format!("local-{name}")),
        ("uuid", format!("local-{name}")),
    ])
}

//! The function (created from the packaged zip) and the mapping (run by this crate, not the
//! emulator).

use std::collections::HashMap;
use std::path::PathBuf;

use stackgen::aws::lambda::{EventSourceMapping, Function};
use stackgen::expr::Input;

use super::{
    Ctx, FunctionSpec, MappingSpec, Outputs, int32, lit, non_negative, outputs, required, text,
};
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

/// What the local runtime needs of a deployed function.
pub(super) fn function_spec(
    name: &str,
    f: &Function,
    out: &Outputs,
) -> Result<FunctionSpec, Error> {
    Ok(FunctionSpec {
        name: f.name.clone(),
        arn: required(name, "arn output", out.get("arn").map(text))?,
        memory_mb: *lit(name, &f.memory_size)?,
        timeout_secs: non_negative(name, "timeout", &f.timeout)?,
        env: f
            .environment
            .variables
            .iter()
            .map(|(k, v)| Ok((k.clone(), lit(name, v)?.clone())))
            .collect::<Result<_, Error>>()?,
        archive: PathBuf::from(lit(name, &f.code)?),
        architecture: match f.architectures.as_slice() {
            [one] => *lit(name, one)?,
            other => {
                return Err(Error::Deploy {
                    resource: name.to_owned(),
                    reason: format!("architectures must name one, not {other:?}"),
                });
            }
        },
        handler: f.handler.clone(),
    })
}

/// The mapping's settings, as the local mapping runs them.
pub(super) fn mapping_spec(
    name: &str,
    m: &EventSourceMapping,
    ctx: &Ctx,
) -> Result<MappingSpec, Error> {
    let number = |key: &str, v: &Input<i64>| non_negative(name, key, v);
    let dest = &m.destination_config.on_failure.destination_arn;
    let output_of = |arn: &str, property: &str| {
        ctx.outputs
            .values()
            .find(|o| o.get("arn").map(text).as_deref() == Some(arn))
            .and_then(|o| o.get(property))
            .map(text)
    };
    let failure_bucket = output_of(dest, "bucket").ok_or_else(|| Error::Deploy {
        resource: name.into(),
        reason: format!("on-failure destination {dest} is not a bucket of the stack"),
    })?;
    let stream_name = output_of(&m.event_source_arn, "name").ok_or_else(|| Error::Deploy {
        resource: name.into(),
        reason: format!(
            "event source {} is not a stream of the stack",
            m.event_source_arn
        ),
    })?;
    let small = |key: &str, v: &Input<i64>| -> Result<usize, Error> {
        usize::try_from(number(key, v)?).map_err(|_| Error::Deploy {
            resource: name.to_owned(),
            reason: format!("{key} is out of range"),
        })
    };
    Ok(MappingSpec {
        stream_arn: m.event_source_arn.clone(),
        stream_name,
        batch_size: small("batchSize", &m.batch_size)?,
        batching_window_secs: number(
            "maximumBatchingWindowInSeconds",
            &m.maximum_batching_window_in_seconds,
        )?,
        parallelization_factor: small("parallelizationFactor", &m.parallelization_factor)?.max(1),
        maximum_retry_attempts: u32::try_from(*lit(name, &m.maximum_retry_attempts)?).map_err(
            |_| Error::Deploy {
                resource: name.to_owned(),
                reason: "maximumRetryAttempts is out of range".into(),
            },
        )?,
        maximum_record_age_secs: number(
            "maximumRecordAgeInSeconds",
            &m.maximum_record_age_in_seconds,
        )?,
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

//! `compact` for either target: the local stack's compactor in its own environment, or the
//! deployed one through `lambda:Invoke`; the hours named, or what the schedule would do now.

use super::Target;
use crate::error::Error;
use crate::target::LambdaFunction;
use function::compact::Report;
use function::compact::request::{parse_hour, scheduled_event};
use stackgen::stack::outputs;

/// Runs `compact` against the target.
pub async fn run(target: &Target, hours: Vec<String>, json: bool) -> Result<(), Error> {
    for h in &hours {
        if parse_hour(h).is_none() {
            return Err(Error::Usage(format!(
                "--hour {h:?}: an hour is YYYY-MM-DDTHH, in UTC (e.g. 2026-12-06T22)"
            )));
        }
    }
    let op = target.operated().await?;
    let event = if hours.is_empty() {
        scheduled_event(
            "arn:aws:events:::rule/realtime compact",
            crate::esm::now_ms(),
        )
    } else {
        serde_json::json!({ "hours": hours })
    };
    let report: Report = match &op.local {
        Some(state) => {
            let env = crate::stack::endpoint_env(&state.endpoint, &state.deployed.region);
            crate::compact::of(
                state.deployed.compactor.as_ref(),
                &target.dir.join("function/bootstrap"),
                env,
                &target.dir,
            )?
            .invoke(&event)
            .await?
        }
        None => {
            let mut f = LambdaFunction {
                client: op.clients.lambda.clone(),
                name: op.output(outputs::COMPACTOR_FUNCTION_NAME).to_owned(),
            };
            crate::compact::invoke(&mut f, &event).await?
        }
    };
    if json {
        return super::view::json(&report);
    }
    println!(
        "compacted {} shard-hours in {} hour prefixes: {} objects read, {} written, {} deleted; \
         {} records kept, {} copies dropped",
        report.shard_hours,
        report.prefixes,
        report.objects_read,
        report.objects_written,
        report.objects_deleted,
        report.lines,
        report.duplicates
    );
    Ok(())
}

//! `redrive` for either target: the local stack's function in its own environment, or the
//! deployed function through `lambda:Invoke`; `--dry-run` lists what it would do.

use super::Target;
use crate::error::Error;
use crate::redrive::{self, Expired, Redrive, Stores};
use crate::target::{LambdaFunction, Operated};
use stackgen::stack::outputs;

/// Runs `redrive` (or `--dry-run`) against the target.
pub async fn run(
    target: &Target,
    dry_run: bool,
    expired: Expired,
    json: bool,
) -> Result<(), Error> {
    let op = target.operated().await?;
    let cfg = op.config()?;
    let stores = Stores {
        clients: &op.clients,
        failed_bucket: op.output(outputs::FAILED_BATCHES_BUCKET_NAME),
        cfg: &cfg,
        kept_alarm: op.output(outputs::KEPT_BATCHES_ALARM_NAME),
    };
    if dry_run {
        return preview(&stores, json).await;
    }
    let report = match &op.local {
        Some(state) => {
            let env = crate::stack::endpoint_env(&state.endpoint, &state.deployed.region);
            let mut f = crate::esm::LocalFunction::new(
                &state.deployed.function,
                "redrive",
                &target.dir.join("function/bootstrap"),
                env,
                &target.dir,
            );
            let r = redrive::redrive(
                &stores,
                &mut f,
                state.deployed.mapping.maximum_retry_attempts,
                expired,
            )
            .await;
            f.stop().await;
            r?
        }
        None => deployed(&op, &stores, expired).await?,
    };
    show(&report, json)?;
    if report.waiting() > 0 {
        return Err(Error::Waiting(report.waiting()));
    }
    Ok(())
}

/// The deployed function, retried as often as its mapping would (the seed's 3).
async fn deployed(op: &Operated, stores: &Stores<'_>, expired: Expired) -> Result<Redrive, Error> {
    let mut f = LambdaFunction {
        client: op.clients.lambda.clone(),
        name: op.output(outputs::PROCESSOR_FUNCTION_NAME).to_owned(),
    };
    redrive::redrive(stores, &mut f, RETRIES, expired).await
}

/// Invocations of a kept batch that may fail before it is left for the next redrive.
const RETRIES: u32 = 3;

fn show(r: &Redrive, json: bool) -> Result<(), Error> {
    if json {
        return super::view::json(r);
    }
    println!(
        "redrove {} batches ({} records): {} pages rebuilt from the archive, {} records \
         recounted; {} still waiting",
        r.batches,
        r.records,
        r.pages_rebuilt,
        r.recounted,
        r.waiting()
    );
    if r.quarantined > 0 {
        println!(
            "quarantined {} batches past their counting deadline ({} records) under rejected/, \
             uncounted",
            r.quarantined, r.quarantined_records
        );
    }
    if r.alarm_cleared {
        println!("the bucket is empty: the kept-batches alarm is OK again");
    }
    for (key, reason) in &r.still_failing {
        println!("left in the bucket: {key}: {reason}");
    }
    for (key, reason) in &r.unreadable {
        println!("left in the bucket, not a readable invocation record: {key}: {reason}");
    }
    Ok(())
}

async fn preview(stores: &Stores<'_>, json: bool) -> Result<(), Error> {
    let (kept, unreadable) = redrive::dry_run(stores).await?;
    if json {
        return super::view::json(&serde_json::json!({
            "kept": kept,
            "unreadable": unreadable,
        }));
    }
    let records: usize = kept.iter().map(|k| k.records).sum();
    println!(
        "{} kept batches ({records} records) in {}; nothing changed (--dry-run)",
        kept.len(),
        stores.failed_bucket
    );
    for k in &kept {
        println!(
            "{}\n  {:?} after {} invocations; {} records of {}, sequence {} .. {}, arrived {} .. {}\n  \
             rebuild: {} aggregates, {} pages now ({} domains not counted yet), reading {} of the \
             archive",
            k.key,
            k.condition,
            k.invocations,
            k.records,
            k.shard,
            k.first_sequence,
            k.last_sequence,
            k.first_arrival,
            k.last_arrival,
            k.rebuild.aggregates,
            k.rebuild.pages,
            k.rebuild.not_counted,
            k.rebuild.archive_hours.join(", ")
        );
        if let Some(reason) = &k.past_deadline {
            println!("  not redriven: {reason}");
        }
    }
    for (key, reason) in &unreadable {
        println!("not a readable invocation record (stays): {key}: {reason}");
    }
    Ok(())
}

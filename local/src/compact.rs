//! Archive compaction on the local stack: the compactor (the packaged `bootstrap` with
//! handler `compact`) invoked in its own execution environment, one run at a time; and the
//! program's schedule, run on the wall clock while the stack is up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use function::compact::Report;
use function::compact::request::scheduled_event;

use crate::deploy::{FunctionSpec, ScheduleSpec};
use crate::error::Error;
use crate::esm::{LocalFunction, now_ms};
use crate::redrive::Invoker;

/// The compactor of a local stack, and where it runs.
#[derive(Debug, Clone)]
pub struct LocalCompactor {
    pub spec: FunctionSpec,
    pub bootstrap: PathBuf,
    pub env: BTreeMap<String, String>,
    pub state_dir: PathBuf,
}

impl LocalCompactor {
    /// One invocation with `event` (a scheduled event, or `{"hours": [...]}`). Refused
    /// while another runs (Lambda's reserved concurrency of 1, here a lock file).
    pub async fn invoke(&self, event: &serde_json::Value) -> Result<Report, Error> {
        let lock_path = self.state_dir.join("compact.lock");
        let lock = std::fs::File::create(&lock_path).map_err(Error::io(&lock_path))?;
        if lock.try_lock().is_err() {
            return Err(Error::Usage(
                "a compaction of this stack is running (one at a time, as the deployed \
                 compactor's reserved concurrency of 1 allows); try again when it ends"
                    .into(),
            ));
        }
        let mut f = LocalFunction::new(
            &self.spec,
            "compact",
            &self.bootstrap,
            self.env.clone(),
            &self.state_dir,
        );
        let report = invoke(&mut f, event).await;
        f.stop().await;
        drop(lock);
        report
    }
}

/// One invocation of a compactor (local or deployed) with `event`, and its report.
pub async fn invoke(f: &mut impl Invoker, event: &serde_json::Value) -> Result<Report, Error> {
    let body = serde_json::to_vec(event).map_err(Error::json("compaction request"))?;
    let out = f.invoke("archive", &body).await?;
    serde_json::from_slice(&out).map_err(Error::json("the compactor's report"))
}

/// When a schedule expression next fires strictly after `after_ms` (epoch ms): the forms
/// the program uses, `cron(M * * * ? *)` (minute M of every hour) and `rate(N unit)`.
pub fn next_fire(expression: &str, after_ms: i64) -> Result<i64, Error> {
    const MINUTE: i64 = 60_000;
    let bad = || {
        Error::Usage(format!(
            "schedule {expression:?}: the local stack runs cron(M * * * ? *) and rate(N \
             minutes|hours|days) only"
        ))
    };
    if let Some(cron) = expression
        .strip_prefix("cron(")
        .and_then(|e| e.strip_suffix(')'))
    {
        let fields: Vec<&str> = cron.split_whitespace().collect();
        let [minute, "*", "*", "*", "?", "*"] = fields.as_slice() else {
            return Err(bad());
        };
        let minute: i64 = minute
            .parse()
            .ok()
            .filter(|m| (0..60).contains(m))
            .ok_or_else(bad)?;
        let hour = after_ms.div_euclid(60 * MINUTE) * 60 * MINUTE;
        let this_hour = hour + minute * MINUTE;
        return Ok(if this_hour > after_ms {
            this_hour
        } else {
            this_hour + 60 * MINUTE
        });
    }
    if let Some(rate) = expression
        .strip_prefix("rate(")
        .and_then(|e| e.strip_suffix(')'))
    {
        let (n, unit) = rate.split_once(' ').ok_or_else(bad)?;
        let n: i64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        let per = match unit {
            "minute" | "minutes" => MINUTE,
            "hour" | "hours" => 60 * MINUTE,
            "day" | "days" => 1_440 * MINUTE,
            _ => return Err(bad()),
        };
        return Ok(after_ms + n * per);
    }
    Err(bad())
}

/// Runs `schedule` on the wall clock until the task is aborted: at each firing, the
/// compactor with EventBridge's scheduled event. A failed run is logged (the deployed
/// stack's alarm watches the compactor's errors) and the next one covers its hours.
pub fn run_schedule(
    schedule: ScheduleSpec,
    compactor: LocalCompactor,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = now_ms();
            let next = match next_fire(&schedule.expression, now) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "the compaction schedule does not run");
                    return;
                }
            };
            tokio::time::sleep(Duration::from_millis((next - now).max(0) as u64)).await;
            match compactor
                .invoke(&scheduled_event(&schedule.arn, next))
                .await
            {
                Ok(r) => tracing::info!(
                    shard_hours = r.shard_hours,
                    objects_deleted = r.objects_deleted,
                    objects_written = r.objects_written,
                    "scheduled compaction"
                ),
                Err(e) => {
                    tracing::error!(error = %crate::error::text(&e), "scheduled compaction failed")
                }
            }
        }
    })
}

/// The compactor of a deployed stack state, if it has one.
pub fn of(
    compactor: Option<&FunctionSpec>,
    bootstrap: &Path,
    env: BTreeMap<String, String>,
    state_dir: &Path,
) -> Result<LocalCompactor, Error> {
    let spec = compactor.ok_or_else(|| {
        Error::Usage(
            "this local stack was brought up before compaction existed: run `up` again".into(),
        )
    })?;
    Ok(LocalCompactor {
        spec: spec.clone(),
        bootstrap: bootstrap.to_owned(),
        env,
        state_dir: state_dir.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_fire_as_eventbridge_would() {
        let at = |s: &str| function::extract::parse_time(s).expect("time");
        let next = |e: &str, t: &str| next_fire(e, at(t)).expect("fires");
        let cron = stackgen::stack::compactor::SCHEDULE;
        assert_eq!(
            next(cron, "2026-12-06T22:10:00Z"),
            at("2026-12-06T22:15:00Z")
        );
        assert_eq!(
            next(cron, "2026-12-06T22:15:00Z"),
            at("2026-12-06T23:15:00Z")
        );
        assert_eq!(
            next(cron, "2026-12-06T23:59:59Z"),
            at("2026-12-07T00:15:00Z")
        );
        assert_eq!(
            next("rate(5 minutes)", "2026-12-06T22:10:00Z"),
            at("2026-12-06T22:15:00Z")
        );
        for bad in [
            "cron(0 12 * * ? *)",
            "rate(0 hours)",
            "rate(1 fortnight)",
            "at(2026)",
        ] {
            assert!(next_fire(bad, 0).is_err(), "{bad}");
        }
    }
}

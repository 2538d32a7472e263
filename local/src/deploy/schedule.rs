//! The compaction schedule: EventBridge's rule and target and the invoke permission. Run by
//! this crate (`crate::schedule`), like the mapping, not by the emulator: what the local
//! stack needs is when to invoke which function, which the rule and target say.

use serde::{Deserialize, Serialize};
use stackgen::aws::cloudwatch::{EventRule, EventTarget};
use stackgen::aws::lambda::Permission;

use super::{LOCAL_ACCOUNT, Outputs, lit, outputs};
use crate::error::Error;

/// A schedule the local stack runs: its expression, whether it is on, what it invokes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    pub rule: String,
    pub arn: String,
    /// `cron(…)` or `rate(…)`, as the program says.
    pub expression: String,
    pub enabled: bool,
    /// The function's ARN (the target).
    pub target: Option<String>,
}

/// `aws:cloudwatch:EventRule`.
pub(super) fn rule(
    region: &str,
    name: &str,
    r: &EventRule,
) -> Result<(Outputs, ScheduleSpec), Error> {
    let state = lit(name, &r.state)?;
    let enabled = match state.as_str() {
        "ENABLED" => true,
        "DISABLED" => false,
        other => {
            return Err(Error::Deploy {
                resource: name.to_owned(),
                reason: format!("state {other:?} is not ENABLED or DISABLED"),
            });
        }
    };
    let arn = format!("arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{}", r.name);
    let spec = ScheduleSpec {
        rule: r.name.clone(),
        arn: arn.clone(),
        expression: r.schedule_expression.clone(),
        enabled,
        target: None,
    };
    Ok((
        outputs(&[
            ("id", r.name.clone()),
            ("name", r.name.clone()),
            ("arn", arn),
        ]),
        spec,
    ))
}

/// `aws:cloudwatch:EventTarget`: the rule it names must be deployed already.
pub(super) fn target(
    name: &str,
    t: &EventTarget,
    schedules: &mut [ScheduleSpec],
) -> Result<Outputs, Error> {
    let Some(s) = schedules.iter_mut().find(|s| s.rule == t.rule) else {
        return Err(Error::Deploy {
            resource: name.to_owned(),
            reason: format!("rule {} is not deployed", t.rule),
        });
    };
    s.target = Some(t.arn.clone());
    Ok(outputs(&[("id", format!("{}-{name}", t.rule))]))
}

/// `aws:lambda:Permission`: who may invoke; locally only the schedule does.
pub(super) fn permission(name: &str, p: &Permission) -> Outputs {
    outputs(&[
        ("id", format!("{}-{name}", p.function)),
        ("statementId", name.to_owned()),
    ])
}

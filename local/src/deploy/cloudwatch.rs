//! CloudWatch: the function's log group, the alarms and the dashboard.

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use r#gen::aws::cloudwatch::{Dashboard, LogGroup, MetricAlarm};

use super::{LOCAL_ACCOUNT, Outputs, int32, lit, outputs};
use crate::clients::Clients;
use crate::error::Error;

/// `aws:cloudwatch:LogGroup` with its retention.
pub(super) async fn log_group(c: &Clients, name: &str, g: LogGroup) -> Result<Outputs, Error> {
    let group = g.name;
    c.logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .map_err(Error::aws("logs:CreateLogGroup"))?;
    let days = *lit(name, &g.retention_in_days)?;
    c.logs
        .put_retention_policy()
        .log_group_name(&group)
        .retention_in_days(int32(name, "retentionInDays", days)?)
        .send()
        .await
        .map_err(Error::aws("logs:PutRetentionPolicy"))?;
    let arn = format!(
        "arn:aws:logs:{}:{LOCAL_ACCOUNT}:log-group:{group}",
        c.region
    );
    Ok(outputs(&[
        ("id", group.clone()),
        ("name", group),
        ("arn", arn),
    ]))
}

/// `aws:cloudwatch:MetricAlarm`.
pub(super) async fn alarm(c: &Clients, name: &str, a: &MetricAlarm) -> Result<Outputs, Error> {
    let dims: Vec<Dimension> = a
        .dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    let int = |key: &str, v: i64| int32(name, key, v);
    c.cloudwatch
        .put_metric_alarm()
        .alarm_name(&a.name)
        .alarm_description(&a.alarm_description)
        .namespace(&a.namespace)
        .metric_name(&a.metric_name)
        .set_dimensions(Some(dims))
        .statistic(Statistic::from(a.statistic.as_str()))
        .period(int("period", a.period)?)
        .evaluation_periods(int("evaluationPeriods", a.evaluation_periods)?)
        .datapoints_to_alarm(int("datapointsToAlarm", a.datapoints_to_alarm)?)
        .threshold(*lit(name, &a.threshold)?)
        .comparison_operator(ComparisonOperator::from(a.comparison_operator.as_str()))
        .treat_missing_data(&a.treat_missing_data)
        .set_alarm_actions(Some(a.alarm_actions.clone()))
        .set_ok_actions(Some(a.ok_actions.clone()))
        .send()
        .await
        .map_err(Error::aws("cloudwatch:PutMetricAlarm"))?;
    let arn = format!(
        "arn:aws:cloudwatch:{}:{LOCAL_ACCOUNT}:alarm:{}",
        c.region, a.name
    );
    Ok(outputs(&[
        ("id", a.name.clone()),
        ("name", a.name.clone()),
        ("arn", arn),
    ]))
}

/// `aws:cloudwatch:Dashboard`.
pub(super) async fn dashboard(c: &Clients, name: &str, d: Dashboard) -> Result<Outputs, Error> {
    c.cloudwatch
        .put_dashboard()
        .dashboard_name(&d.dashboard_name)
        .dashboard_body(lit(name, &d.dashboard_body)?)
        .send()
        .await
        .map_err(Error::aws("cloudwatch:PutDashboard"))?;
    Ok(outputs(&[
        ("id", d.dashboard_name.clone()),
        ("dashboardName", d.dashboard_name),
    ]))
}

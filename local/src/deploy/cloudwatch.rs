//! CloudWatch: the function's log group, the alarms and the dashboard.

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, Statistic,
};
use stackgen::aws::cloudwatch::{Dashboard, LogGroup, MetricAlarm, Watched};

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

/// `aws:cloudwatch:MetricAlarm`, on one metric or on a metric-math expression.
pub(super) async fn alarm(c: &Clients, name: &str, a: &MetricAlarm) -> Result<Outputs, Error> {
    let int = |key: &str, v: i64| int32(name, key, v);
    let mut put = c
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&a.name)
        .alarm_description(&a.alarm_description)
        .evaluation_periods(int("evaluationPeriods", a.evaluation_periods)?)
        .datapoints_to_alarm(int("datapointsToAlarm", a.datapoints_to_alarm)?)
        .threshold(*lit(name, &a.threshold)?)
        .comparison_operator(ComparisonOperator::from(a.comparison_operator.as_str()))
        .treat_missing_data(&a.treat_missing_data)
        .set_alarm_actions(Some(a.alarm_actions.clone()))
        .set_ok_actions(Some(a.ok_actions.clone()));
    put = match &a.watched {
        Watched::Metric {
            namespace,
            metric_name,
            dimensions,
            statistic,
            period,
        } => put
            .namespace(namespace)
            .metric_name(metric_name)
            .set_dimensions(Some(dims(dimensions)))
            .statistic(Statistic::from(statistic.as_str()))
            .period(int("period", *period)?),
        Watched::Expression { metric_queries } => {
            let mut queries = Vec::new();
            for q in metric_queries {
                let stat = match &q.metric {
                    Some(m) => Some(
                        MetricStat::builder()
                            .metric(
                                Metric::builder()
                                    .namespace(&m.namespace)
                                    .metric_name(&m.metric_name)
                                    .set_dimensions(Some(dims(&m.dimensions)))
                                    .build(),
                            )
                            .period(int("metricQueries.metric.period", m.period)?)
                            .stat(&m.stat)
                            .build(),
                    ),
                    None => None,
                };
                queries.push(
                    MetricDataQuery::builder()
                        .id(&q.id)
                        .set_expression(q.expression.clone())
                        .set_label(q.label.clone())
                        .set_metric_stat(stat)
                        .return_data(q.return_data)
                        .build(),
                );
            }
            put.set_metrics(Some(queries))
        }
    };
    put.send()
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

fn dims<'a>(d: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Dimension> {
    d.into_iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect()
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

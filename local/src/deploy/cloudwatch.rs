//! CloudWatch: the function's log group, the alarms and the dashboard.

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use serde_json::{Map, Value};

use super::{LOCAL_ACCOUNT, outputs, s};
use crate::clients::Clients;
use crate::error::Error;

/// Creates one `aws:cloudwatch:*` resource; returns its outputs.
pub(super) async fn create(
    c: &Clients,
    name: &str,
    ty: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let region = &c.region;
    let str_of = |k: &str| super::string(name, p, k);
    let int_of = |k: &str| super::integer(name, p, k);
    Ok(match ty {
        "aws:cloudwatch:LogGroup" => {
            let g = str_of("name")?;
            c.logs
                .create_log_group()
                .log_group_name(&g)
                .send()
                .await
                .map_err(Error::aws("logs:CreateLogGroup"))?;
            c.logs
                .put_retention_policy()
                .log_group_name(&g)
                .retention_in_days(int_of("retentionInDays")? as i32)
                .send()
                .await
                .map_err(Error::aws("logs:PutRetentionPolicy"))?;
            let arn = format!("arn:aws:logs:{region}:{LOCAL_ACCOUNT}:log-group:{g}");
            outputs(&[("id", g.clone()), ("name", g), ("arn", arn)])
        }
        "aws:cloudwatch:MetricAlarm" => {
            put_alarm(c, p).await?;
            let n = str_of("name")?;
            let arn = format!("arn:aws:cloudwatch:{region}:{LOCAL_ACCOUNT}:alarm:{n}");
            outputs(&[("id", n.clone()), ("name", n), ("arn", arn)])
        }
        "aws:cloudwatch:Dashboard" => {
            let n = str_of("dashboardName")?;
            c.cloudwatch
                .put_dashboard()
                .dashboard_name(&n)
                .dashboard_body(str_of("dashboardBody")?)
                .send()
                .await
                .map_err(Error::aws("cloudwatch:PutDashboard"))?;
            outputs(&[("id", n.clone()), ("dashboardName", n)])
        }
        other => return Err(super::unsupported(name, other)),
    })
}

async fn put_alarm(c: &Clients, p: &Map<String, Value>) -> Result<(), Error> {
    let list = |k: &str| -> Vec<String> {
        p.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(s).collect())
            .unwrap_or_default()
    };
    let dims: Vec<Dimension> = p["dimensions"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| Dimension::builder().name(k).value(s(v)).build())
                .collect()
        })
        .unwrap_or_default();
    c.cloudwatch
        .put_metric_alarm()
        .alarm_name(s(&p["name"]))
        .alarm_description(s(&p["alarmDescription"]))
        .namespace(s(&p["namespace"]))
        .metric_name(s(&p["metricName"]))
        .set_dimensions(Some(dims))
        .statistic(Statistic::from(s(&p["statistic"]).as_str()))
        .period(p["period"].as_i64().unwrap_or(60) as i32)
        .evaluation_periods(p["evaluationPeriods"].as_i64().unwrap_or(1) as i32)
        .datapoints_to_alarm(p["datapointsToAlarm"].as_i64().unwrap_or(1) as i32)
        .threshold(p["threshold"].as_f64().unwrap_or_default())
        .comparison_operator(ComparisonOperator::from(
            s(&p["comparisonOperator"]).as_str(),
        ))
        .treat_missing_data(s(&p["treatMissingData"]))
        .set_alarm_actions(Some(list("alarmActions")))
        .set_ok_actions(Some(list("okActions")))
        .send()
        .await
        .map_err(Error::aws("cloudwatch:PutMetricAlarm"))?;
    Ok(())
}

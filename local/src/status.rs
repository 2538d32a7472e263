//! Reading the stack back: aggregates per entity, alarm states, queue depth, mapping counters.

use std::collections::BTreeMap;
use std::fmt::Write;

use aws_sdk_dynamodb::types::AttributeValue;
use function::store::Val;

use crate::clients::Clients;
use crate::deploy::Deployed;
use crate::error::Error;

/// One metrics item, as stored.
pub type Item = BTreeMap<String, Val>;

/// Every metrics item (a full scan: the local table is small).
pub async fn scan(c: &Clients, table: &str) -> Result<Vec<Item>, Error> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = c
            .dynamodb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(Error::aws("dynamodb:Scan"))?;
        items.extend(
            out.items()
                .iter()
                .map(|i| function::aws::state_of(Some(i)).attrs.unwrap_or_default()),
        );
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// The items of one entity between two window starts (inclusive, `YYYY-MM-DDTHH:MM:SSZ`).
pub async fn query(
    c: &Clients,
    table: &str,
    entity: &str,
    from: &str,
    to: &str,
) -> Result<Vec<Item>, Error> {
    let out = c
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :e AND #ts BETWEEN :from AND :to")
        .expression_attribute_names("#pk", "partition_key")
        .expression_attribute_names("#ts", "timestamp")
        .expression_attribute_values(":e", AttributeValue::S(entity.into()))
        .expression_attribute_values(":from", AttributeValue::S(from.into()))
        .expression_attribute_values(":to", AttributeValue::S(to.into()))
        .send()
        .await
        .map_err(Error::aws("dynamodb:Query"))?;
    Ok(out
        .items()
        .iter()
        .map(|i| function::aws::state_of(Some(i)).attrs.unwrap_or_default())
        .collect())
}

fn num(v: Option<&Val>) -> f64 {
    match v {
        Some(Val::Int(i)) => *i as f64,
        Some(Val::Float(f)) => *f,
        _ => 0.0,
    }
}

fn text(v: Option<&Val>) -> String {
    match v {
        Some(Val::Str(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// One line per item: entity, window, count, then each metric's avg/min/max and events.
pub fn render_items(items: &[Item]) -> String {
    let mut out = String::new();
    for i in items {
        let _ = write!(
            out,
            "{:<14} {} count={:<5}",
            text(i.get("partition_key")),
            text(i.get("timestamp")),
            num(i.get("count"))
        );
        let mut metrics: BTreeMap<&str, ()> = BTreeMap::new();
        for k in i.keys() {
            if let Some(rest) = k.strip_prefix("metric.")
                && let Some((name, _)) = rest.rsplit_once('.')
            {
                metrics.insert(name, ());
            }
        }
        for m in metrics.keys() {
            let get = |p: &str| num(i.get(&format!("metric.{m}.{p}")));
            let n = get("count").max(1.0);
            let _ = write!(
                out,
                " {m}: avg {:.2} min {} max {}",
                get("sum") / n,
                get("min"),
                get("max")
            );
        }
        for (k, v) in i {
            if let Some(e) = k.strip_prefix("event.") {
                let _ = write!(out, " {e}={}", num(Some(v)));
            }
        }
        out.push('\n');
    }
    out
}

/// The latest window of each entity.
pub fn latest_per_entity(items: &[Item]) -> Vec<Item> {
    let mut by: BTreeMap<String, Item> = BTreeMap::new();
    for i in items {
        let e = text(i.get("partition_key"));
        let newer = by
            .get(&e)
            .is_none_or(|old| text(old.get("timestamp")) < text(i.get("timestamp")));
        if newer {
            by.insert(e, i.clone());
        }
    }
    by.into_values().collect()
}

/// Alarm name → state.
pub async fn alarms(c: &Clients, names: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let out = c
        .cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(names.to_vec()))
        .send()
        .await
        .map_err(Error::aws("cloudwatch:DescribeAlarms"))?;
    Ok(out
        .metric_alarms()
        .iter()
        .map(|a| {
            (
                a.alarm_name().unwrap_or_default().to_owned(),
                a.state_value()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect())
}

/// Messages waiting in the failure queue.
pub async fn queue_depth(c: &Clients, url: &str) -> Result<u64, Error> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let a = c
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(Error::aws("sqs:GetQueueAttributes"))?;
    Ok(a.attributes()
        .and_then(|m| m.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|v| v.parse().ok())
        .unwrap_or_default())
}

/// The mapping's counters as the running stack last wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub records_read: u64,
    pub records_done: u64,
    pub invocations: u64,
    pub function_errors: u64,
    pub partial_failures: u64,
    pub batches_failed: u64,
    pub records_expired: u64,
    pub iterator_age_ms: u64,
}

impl Counters {
    /// A snapshot of live stats.
    pub fn of(s: &crate::esm::Stats) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        Self {
            records_read: s.records_read.load(Relaxed),
            records_done: s.records_done.load(Relaxed),
            invocations: s.invocations.load(Relaxed),
            function_errors: s.function_errors.load(Relaxed),
            partial_failures: s.partial_failures.load(Relaxed),
            batches_failed: s.batches_failed.load(Relaxed),
            records_expired: s.records_expired.load(Relaxed),
            iterator_age_ms: s.iterator_age_ms.load(Relaxed),
        }
    }
}

/// The whole status screen.
pub async fn render(c: &Clients, d: &Deployed, counters: &Counters) -> Result<String, Error> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "stack {} ({})",
        d.stack,
        c.endpoint.as_deref().unwrap_or("AWS")
    );
    let _ = writeln!(
        out,
        "records in {}  out {}  invocations {}  errors {}  partial {}  failed batches {}  iterator age {} ms",
        counters.records_read,
        counters.records_done,
        counters.invocations,
        counters.function_errors,
        counters.partial_failures,
        counters.batches_failed,
        counters.iterator_age_ms
    );
    let depth = queue_depth(c, &d.mapping.failure_queue_url).await?;
    let _ = writeln!(out, "failure queue depth {depth}");
    for (name, state) in alarms(c, &d.alarms).await? {
        let _ = writeln!(out, "alarm {name:<55} {state}");
    }
    let items = scan(c, d.output("MetricsTableName")).await?;
    let _ = writeln!(out, "latest aggregates ({} items):", items.len());
    out.push_str(&render_items(&latest_per_entity(&items)));
    Ok(out)
}

//! Which of the program's alarms the local stack can evaluate. Here only the mapping
//! publishes Lambda's metrics (for the processor, and its on-failure deliveries) and the
//! function its own (EMF); an alarm on anything else (Kinesis' metrics, another function's)
//! never gets a data point, and with missing data not breaching it reads OK for ever. Such
//! an alarm is named with the reason, so a view says so instead of "OK". Pure.

use std::collections::BTreeMap;

use stackgen::aws::cloudwatch::{MetricAlarm, Watched};

/// What the local stack publishes to CloudWatch.
#[derive(Debug, Clone, Copy)]
pub struct Published<'a> {
    /// The processor's name (Lambda's metrics carry it as `FunctionName`).
    pub function_name: &'a str,
    /// The mapping's UUID (its on-failure deliveries carry it as `EventSourceMappingUUID`).
    pub mapping_uuid: &'a str,
    /// The function's own namespace (its EMF metrics).
    pub namespace: &'a str,
}

/// Lambda's per-function metrics the local mapping publishes (`esm::lane`).
pub const FUNCTION_METRICS: [&str; 6] = [
    "Invocations",
    "Errors",
    "Throttles",
    "Duration",
    "IteratorAge",
    "DestinationDeliveryFailures",
];

/// Lambda's per-mapping metric the local mapping publishes for each batch it keeps.
pub const MAPPING_METRIC: &str = "OnFailureDestinationDeliveredEventCount";

impl Published<'_> {
    /// Why nothing here publishes this metric, or `None` when something does.
    fn gap<'d>(
        &self,
        namespace: &str,
        name: &str,
        mut dimensions: impl Iterator<Item = (&'d String, &'d String)>,
    ) -> Option<String> {
        let dimension = dimensions.next();
        let only = dimensions.next().is_none();
        let published = match (namespace, dimension) {
            (ns, None) => ns == self.namespace,
            ("AWS/Lambda", Some((k, v))) if only => match k.as_str() {
                "FunctionName" => v == self.function_name && FUNCTION_METRICS.contains(&name),
                "EventSourceMappingUUID" => v == self.mapping_uuid && name == MAPPING_METRIC,
                _ => false,
            },
            _ => false,
        };
        (!published).then(|| match dimension {
            Some((k, v)) => format!("nothing here publishes {namespace} {name} ({k}={v})"),
            None => format!("nothing here publishes {namespace} {name}"),
        })
    }
}

/// The alarms nothing here can move, each with the reason.
pub fn not_evaluated(alarms: &[MetricAlarm], p: &Published<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for a in alarms {
        let gaps: Vec<String> = match &a.watched {
            Watched::Metric {
                namespace,
                metric_name,
                dimensions,
                ..
            } => p
                .gap(namespace, metric_name, dimensions.iter())
                .into_iter()
                .collect(),
            Watched::Expression { metric_queries } => metric_queries
                .iter()
                .filter_map(|q| q.metric.as_ref())
                .filter_map(|m| p.gap(&m.namespace, &m.metric_name, m.dimensions.iter()))
                .collect(),
        };
        if !gaps.is_empty() {
            out.insert(a.name.clone(), gaps.join("; "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The program's alarms, as written (references unresolved).
    fn program_alarms() -> Vec<MetricAlarm> {
        let program = stackgen::stack::program().expect("program");
        program
            .resources
            .values()
            .filter(|r| r.ty == <MetricAlarm as stackgen::aws::Properties>::TYPE)
            .map(|r| {
                serde_json::from_value(serde_json::Value::Object(
                    r.properties.clone().into_iter().collect(),
                ))
                .expect("a metric alarm")
            })
            .collect()
    }

    #[test]
    fn alarms_on_metrics_nobody_publishes_here_are_named() {
        let alarms = program_alarms();
        // In the program's own terms: the references the local deploy resolves.
        let namespace = stackgen::stack::metrics_namespace();
        let p = Published {
            function_name: "${processor.name}",
            mapping_uuid: "${processorMapping.uuid}",
            namespace: &namespace,
        };
        let out = not_evaluated(&alarms, &p);
        let names: Vec<&str> = out.keys().map(String::as_str).collect();
        assert!(names.iter().any(|n| n.contains("stalled")), "{out:?}");
        assert!(names.iter().any(|n| n.contains("compact")), "{out:?}");
        assert!(
            out.values()
                .any(|why| why.contains("AWS/Kinesis IncomingRecords")),
            "{out:?}"
        );
        // The function's and the mapping's own alarms evaluate here.
        for a in &alarms {
            let own = a.name.contains("errors") && !a.name.contains("compact")
                || a.name.contains("storage-failures")
                || a.name.contains("rejected");
            if own {
                assert!(!out.contains_key(&a.name), "{}: {out:?}", a.name);
            }
        }
    }
}

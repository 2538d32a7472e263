//! Lambda's CloudWatch metrics of the mapping, published to the emulator in batches.

use super::*;

/// Sends the mapping's metrics to CloudWatch in batches (under `AWS/Lambda`, as Lambda does).
pub(super) async fn publish_metrics(c: Clients, mut rx: mpsc::UnboundedReceiver<MetricDatum>) {
    while let Some(first) = rx.recv().await {
        let mut data = vec![first];
        tokio::time::sleep(Duration::from_millis(500)).await;
        while let Ok(d) = rx.try_recv() {
            data.push(d);
        }
        put(&c, "AWS/Lambda", &data).await;
    }
}

/// Puts `data` under `namespace`, in requests of at most 500 data. A failed put is logged and
/// its data dropped: these are observations, and an emulator outage must not stop the
/// pipeline.
pub(super) async fn put(c: &Clients, namespace: &str, data: &[MetricDatum]) {
    for chunk in data.chunks(500) {
        let r = c
            .cloudwatch
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %function::error::chain(&e), namespace, "PutMetricData failed");
        }
    }
}

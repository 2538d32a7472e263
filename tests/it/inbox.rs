//! The alert topic's inbox for end-to-end tests: an SQS queue subscribed to the topic, and
//! the alarm notifications it received.

use local::LocalStack;
use serde_json::Value;

/// An SQS queue subscribed to the stack's alert topic; returns its URL.
pub(crate) async fn subscribe_inbox(s: &LocalStack, name: &str) -> String {
    let inbox = s
        .clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("queue");
    let arn = format!("arn:aws:sqs:{}:000000000000:{name}", s.deployed.region);
    s.clients
        .sns
        .subscribe()
        .topic_arn(s.deployed.output(stackgen::stack::outputs::ALERT_TOPIC_ARN))
        .protocol("sqs")
        .endpoint(&arn)
        .send()
        .await
        .expect("subscribe");
    inbox.queue_url().unwrap_or_default().to_owned()
}

/// How many messages in the inbox announce that the alarm `name` entered ALARM.
pub(crate) async fn inbox_count(s: &LocalStack, url: &str, name: &str) -> usize {
    let msgs = s
        .clients
        .sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .expect("receive");
    msgs.messages()
        .iter()
        .filter(|m| {
            // SNS's envelope; its `Message` is CloudWatch's alarm notification, as JSON text.
            let envelope: Value =
                serde_json::from_str(m.body().unwrap_or_default()).unwrap_or_default();
            let alarm: Value = envelope["Message"]
                .as_str()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default();
            alarm["AlarmName"] == name && alarm["NewStateValue"] == "ALARM"
        })
        .count()
}

//! The alert topic and its policy.

use stackgen::aws::sns::{Topic, TopicPolicy};

use super::{Outputs, lit, outputs};
use crate::clients::Clients;
use crate::error::Error;

/// `aws:sns:Topic`, encrypted with the stack's key.
pub(super) async fn topic(c: &Clients, t: Topic) -> Result<Outputs, Error> {
    let out = c
        .sns
        .create_topic()
        .name(&t.name)
        .attributes("KmsMasterKeyId", t.kms_master_key_id)
        .send()
        .await
        .map_err(Error::aws("sns:CreateTopic"))?;
    let arn = super::required(&t.name, "topic ARN", out.topic_arn().map(str::to_owned))?;
    Ok(outputs(&[
        ("id", arn.clone()),
        ("arn", arn),
        ("name", t.name),
    ]))
}

/// `aws:sns:TopicPolicy`.
pub(super) async fn topic_policy(
    c: &Clients,
    name: &str,
    p: TopicPolicy,
) -> Result<Outputs, Error> {
    c.sns
        .set_topic_attributes()
        .topic_arn(&p.arn)
        .attribute_name("Policy")
        .attribute_value(lit(name, &p.policy)?)
        .send()
        .await
        .map_err(Error::aws("sns:SetTopicAttributes"))?;
    Ok(outputs(&[("id", p.arn)]))
}

//! The alert topic and its policy.

use serde_json::{Map, Value};

use super::outputs;
use crate::clients::Clients;
use crate::error::Error;

/// Creates one `aws:sns:*` resource; returns its outputs.
pub(super) async fn create(
    c: &Clients,
    name: &str,
    ty: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let str_of = |k: &str| super::string(name, p, k);
    Ok(match ty {
        "aws:sns:Topic" => {
            let t = str_of("name")?;
            let out = c
                .sns
                .create_topic()
                .name(&t)
                .attributes("KmsMasterKeyId", str_of("kmsMasterKeyId")?)
                .send()
                .await
                .map_err(Error::aws("sns:CreateTopic"))?;
            let arn = out.topic_arn().unwrap_or_default().to_owned();
            outputs(&[("id", arn.clone()), ("arn", arn), ("name", t)])
        }
        "aws:sns:TopicPolicy" => {
            c.sns
                .set_topic_attributes()
                .topic_arn(str_of("arn")?)
                .attribute_name("Policy")
                .attribute_value(str_of("policy")?)
                .send()
                .await
                .map_err(Error::aws("sns:SetTopicAttributes"))?;
            outputs(&[("id", str_of("arn")?)])
        }
        other => return Err(super::unsupported(name, other)),
    })
}

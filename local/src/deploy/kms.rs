//! The stack's KMS key and its alias, in the emulator.

use serde_json::{Map, Value};

use super::outputs;
use crate::clients::Clients;
use crate::error::Error;

/// Creates one `aws:kms:*` resource; returns its outputs.
pub(super) async fn create(
    c: &Clients,
    name: &str,
    ty: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let str_of = |k: &str| super::string(name, p, k);
    let bool_of = |k: &str| super::boolean(name, p, k);
    Ok(match ty {
        "aws:kms:Key" => {
            let k = c
                .kms
                .create_key()
                .description(str_of("description")?)
                .policy(str_of("policy")?)
                .send()
                .await
                .map_err(Error::aws("kms:CreateKey"))?;
            let meta = k.key_metadata();
            let id = meta.map(|m| m.key_id().to_owned()).unwrap_or_default();
            let arn = meta.and_then(|m| m.arn()).unwrap_or_default().to_owned();
            if bool_of("enableKeyRotation")? {
                c.kms
                    .enable_key_rotation()
                    .key_id(&id)
                    .send()
                    .await
                    .map_err(Error::aws("kms:EnableKeyRotation"))?;
            }
            outputs(&[("id", id.clone()), ("keyId", id), ("arn", arn)])
        }
        "aws:kms:Alias" => {
            c.kms
                .create_alias()
                .alias_name(str_of("name")?)
                .target_key_id(str_of("targetKeyId")?)
                .send()
                .await
                .map_err(Error::aws("kms:CreateAlias"))?;
            outputs(&[("id", str_of("name")?), ("name", str_of("name")?)])
        }
        other => return Err(super::unsupported(name, other)),
    })
}

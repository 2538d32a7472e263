//! The stack's KMS key and its alias, in the emulator.

use stackgen::aws::kms::{Alias, Key};

use super::{Outputs, lit, outputs};
use crate::clients::Clients;
use crate::error::Error;

/// `aws:kms:Key` (rotation enabled when asked).
pub(super) async fn key(c: &Clients, name: &str, k: Key) -> Result<Outputs, Error> {
    let created = c
        .kms
        .create_key()
        .description(k.description)
        .policy(lit(name, &k.policy)?)
        .send()
        .await
        .map_err(Error::aws("kms:CreateKey"))?;
    let meta = created.key_metadata();
    let id = super::required(name, "key id", meta.map(|m| m.key_id().to_owned()))?;
    let arn = super::required(
        name,
        "key ARN",
        meta.and_then(|m| m.arn()).map(str::to_owned),
    )?;
    if k.enable_key_rotation {
        c.kms
            .enable_key_rotation()
            .key_id(&id)
            .send()
            .await
            .map_err(Error::aws("kms:EnableKeyRotation"))?;
    }
    Ok(outputs(&[("id", id.clone()), ("keyId", id), ("arn", arn)]))
}

/// `aws:kms:Alias`.
pub(super) async fn alias(c: &Clients, a: Alias) -> Result<Outputs, Error> {
    c.kms
        .create_alias()
        .alias_name(&a.name)
        .target_key_id(a.target_key_id)
        .send()
        .await
        .map_err(Error::aws("kms:CreateAlias"))?;
    Ok(outputs(&[("id", a.name.clone()), ("name", a.name)]))
}

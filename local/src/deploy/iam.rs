//! The function's role and its inline policy (created, not enforced by the emulator).

use r#gen::aws::iam::{Role, RolePolicy};

use super::{Outputs, lit, outputs};
use crate::clients::Clients;
use crate::error::Error;

/// `aws:iam:Role`.
pub(super) async fn role(c: &Clients, name: &str, r: Role) -> Result<Outputs, Error> {
    let out = c
        .iam
        .create_role()
        .role_name(&r.name)
        .assume_role_policy_document(lit(name, &r.assume_role_policy)?)
        .send()
        .await
        .map_err(Error::aws("iam:CreateRole"))?;
    let arn = out.role().map(|r| r.arn().to_owned()).unwrap_or_default();
    Ok(outputs(&[
        ("id", r.name.clone()),
        ("name", r.name),
        ("arn", arn),
    ]))
}

/// `aws:iam:RolePolicy` (named after the resource, as Pulumi names it).
pub(super) async fn role_policy(c: &Clients, name: &str, p: RolePolicy) -> Result<Outputs, Error> {
    c.iam
        .put_role_policy()
        .role_name(&p.role)
        .policy_name(name)
        .policy_document(lit(name, &p.policy)?)
        .send()
        .await
        .map_err(Error::aws("iam:PutRolePolicy"))?;
    Ok(outputs(&[("id", format!("{}:{name}", p.role))]))
}

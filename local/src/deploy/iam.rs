//! The function's role and its inline policy, the operator's managed policy (created, not
//! enforced by the emulator).

use stackgen::aws::iam::{Policy, Role, RolePolicy};

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
    let arn = super::required(name, "role ARN", out.role().map(|r| r.arn().to_owned()))?;
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

/// `aws:iam:Policy`.
pub(super) async fn policy(c: &Clients, name: &str, p: Policy) -> Result<Outputs, Error> {
    let out = c
        .iam
        .create_policy()
        .policy_name(&p.name)
        .description(&p.description)
        .policy_document(lit(name, &p.policy)?)
        .send()
        .await
        .map_err(Error::aws("iam:CreatePolicy"))?;
    let arn = out
        .policy()
        .and_then(|p| p.arn())
        .unwrap_or_default()
        .to_owned();
    Ok(outputs(&[
        ("id", arn.clone()),
        ("name", p.name),
        ("arn", arn),
    ]))
}

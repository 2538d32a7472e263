//! The function's role and its inline policy (created, not enforced by the emulator).

use serde_json::{Map, Value};

use super::outputs;
use crate::clients::Clients;
use crate::error::Error;

/// Creates one `aws:iam:*` resource; returns its outputs.
pub(super) async fn create(
    c: &Clients,
    name: &str,
    ty: &str,
    p: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let str_of = |k: &str| super::string(name, p, k);
    Ok(match ty {
        "aws:iam:Role" => {
            let r = str_of("name")?;
            let out = c
                .iam
                .create_role()
                .role_name(&r)
                .assume_role_policy_document(str_of("assumeRolePolicy")?)
                .send()
                .await
                .map_err(Error::aws("iam:CreateRole"))?;
            let arn = out.role().map(|r| r.arn().to_owned()).unwrap_or_default();
            outputs(&[("id", r.clone()), ("name", r), ("arn", arn)])
        }
        "aws:iam:RolePolicy" => {
            c.iam
                .put_role_policy()
                .role_name(str_of("role")?)
                .policy_name(name)
                .policy_document(str_of("policy")?)
                .send()
                .await
                .map_err(Error::aws("iam:PutRolePolicy"))?;
            outputs(&[("id", format!("{}:{name}", str_of("role")?))])
        }
        other => return Err(super::unsupported(name, other)),
    })
}

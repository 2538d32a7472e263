//! Typed IAM policy documents, rendered under `fn::toJSON` (never as JSON strings).

use indexmap::IndexMap;
use serde::Serialize;

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// Who a resource policy statement applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Principal {
    /// An AWS service, e.g. `lambda.amazonaws.com`.
    Service(String),
    /// An AWS account or role ARN.
    #[serde(rename = "AWS")]
    Aws(String),
    /// Everybody (`"*"`), only ever used in `Deny` statements.
    #[serde(untagged, serialize_with = "star")]
    Anyone,
}

fn star<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("*")
}

/// One policy statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    pub action: Vec<String>,
    /// Absent from trust policies (an assume-role statement has no `Resource`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub condition: Condition,
}

/// A `Condition` block: operator (`StringEquals`, `ArnLike`, `Bool`…) → key → value.
pub type Condition = IndexMap<String, IndexMap<String, String>>;

impl Statement {
    /// An `Allow` statement for an identity policy.
    pub fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Self {
        Self {
            sid: sid.to_owned(),
            effect: Effect::Allow,
            principal: None,
            action: actions.iter().map(|a| (*a).to_owned()).collect(),
            resource: resources,
            condition: Condition::new(),
        }
    }

    /// Sets the principal (resource policies).
    pub fn principal(mut self, p: Principal) -> Self {
        self.principal = Some(p);
        self
    }

    /// Adds `operator: { key: value }` to the condition block.
    pub fn when(mut self, operator: &str, key: &str, value: impl Into<String>) -> Self {
        self.condition
            .entry(operator.to_owned())
            .or_default()
            .insert(key.to_owned(), value.into());
        self
    }
}

/// A policy document, version 2012-10-17.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    /// A document holding these statements.
    pub fn new(statement: Vec<Statement>) -> Self {
        Self {
            version: "2012-10-17",
            statement,
        }
    }
}

//! The shape of a Pulumi YAML program (mirrors pulumi-yaml's `ast/template.go`).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A whole Pulumi YAML program: `Pulumi.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    pub runtime: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub config: IndexMap<String, ConfigDecl>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub variables: IndexMap<String, Value>,
    #[serde(default)]
    pub resources: IndexMap<String, Resource>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, Value>,
}

/// The type of a config key, as Pulumi YAML spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigType {
    String,
    Integer,
    Boolean,
    Array,
    Object,
}

/// The element type of an `array` config key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigItems {
    #[serde(rename = "type")]
    pub ty: ConfigType,
}

/// A `config:` entry: a typed key with a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigDecl {
    #[serde(rename = "type")]
    pub ty: ConfigType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<ConfigItems>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<bool>,
}

/// A resource: type token, properties and options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub properties: IndexMap<String, Value>,
    #[serde(default, skip_serializing_if = "ResourceOptions::is_empty")]
    pub options: ResourceOptions,
}

/// Resource options (`options:`); only literals where Pulumi YAML requires them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceOptions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl ResourceOptions {
    /// No dependencies, pinned to [`crate::AWS_PROVIDER_VERSION`].
    pub fn pinned() -> Self {
        Self {
            depends_on: Vec::new(),
            version: Some(crate::AWS_PROVIDER_VERSION.to_owned()),
        }
    }

    fn is_empty(&self) -> bool {
        self.depends_on.is_empty() && self.version.is_none()
    }
}

impl Resource {
    /// Adds `dependsOn` entries naming other resources of the program.
    pub fn depends_on(mut self, resources: &[&str]) -> Self {
        self.options
            .depends_on
            .extend(resources.iter().map(|r| crate::expr::var(r)));
        self
    }
}

//! Checks a program against the pulumi-aws type definitions (no Pulumi CLI needed).
//!
//! Every resource token must exist, every property name must be an input of its type
//! (recursively into nested object types), every required input must be present, every
//! literal must have the declared type, and every `${…}` must name a declared resource
//! output, config key or variable whose type fits where it is used.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

/// The bundled pulumi-aws type data this program targets.
const BUNDLED: &str = include_str!("../../schema/pulumi-aws-7.51.1-subset.json");

/// A pulumi-aws type, in the notation of the bundled data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SchemaType {
    /// `string`, `integer`, `number`, `boolean`, `any`, `archive`, `asset`, …
    Prim(String),
    /// `{array: T}`.
    Array { array: Box<SchemaType> },
    /// `{map: T}`.
    Map { map: Box<SchemaType> },
    /// `{union: [T…]}`.
    Union { union: Vec<SchemaType> },
    /// `{ref: "<module>.<Type>"}`.
    Ref {
        #[serde(rename = "ref")]
        name: String,
    },
    /// `{enum: "<module>.<Enum>"}`.
    Enum {
        #[serde(rename = "enum")]
        name: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
struct Property {
    #[serde(rename = "type")]
    ty: SchemaType,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    inputs: HashMap<String, Property>,
    #[serde(default)]
    required_inputs: Vec<String>,
    outputs: HashMap<String, Property>,
}

#[derive(Debug, Clone, Deserialize)]
struct ObjectType {
    properties: HashMap<String, Property>,
    #[serde(default)]
    required: Option<Vec<String>>,
}

/// The provider's type definitions.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// Provider version the data was extracted from.
    pub version: String,
    resources: HashMap<String, Resource>,
    functions: HashMap<String, Resource>,
    input_types: HashMap<String, ObjectType>,
    enums: HashMap<String, Vec<Value>>,
    all_resource_tokens: HashSet<String>,
    all_function_tokens: HashSet<String>,
}

impl Schema {
    /// The data bundled with this crate (`gen/schema/`).
    pub fn bundled() -> Result<Self, crate::Error> {
        serde_json::from_str(BUNDLED).map_err(crate::Error::Serialize)
    }

    /// Expands Pulumi YAML's short tokens: `aws:kinesis:Stream` → `aws:kinesis/stream:Stream`,
    /// `aws:getRegion` → `aws:index/getRegion:getRegion`.
    pub fn canonical_token(&self, token: &str, all: &HashSet<String>) -> Option<String> {
        if all.contains(token) {
            return Some(token.to_owned());
        }
        let parts: Vec<&str> = token.split(':').collect();
        let (pkg, module, name) = match parts.as_slice() {
            [pkg, name] => (*pkg, "index", *name),
            [pkg, "", name] => (*pkg, "index", *name),
            [pkg, module, name] => (*pkg, *module, *name),
            _ => return None,
        };
        let mut lower = name.chars();
        let first = lower.next()?.to_ascii_lowercase();
        let long = format!("{pkg}:{module}/{first}{}:{name}", lower.as_str());
        all.contains(&long).then_some(long)
    }
}

mod validate;

pub use validate::validate;

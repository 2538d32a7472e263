//! `aws:glue:*`: the catalog database and the tables Athena reads the archive through.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::expr::Input;

/// `aws:glue:CatalogDatabase`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogDatabase {
    pub name: String,
    pub description: String,
}

/// `aws:glue:CatalogTable`: an external table over S3 objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogTable {
    pub name: String,
    pub database_name: String,
    pub description: String,
    pub table_type: String,
    /// Table properties: `classification`, partition projection (`projection.*`,
    /// `storage.location.template`).
    pub parameters: IndexMap<String, String>,
    pub partition_keys: Vec<Column>,
    pub storage_descriptor: StorageDescriptor,
}

/// A column or partition key: a name and a Hive type (`string`, `bigint`, `struct<…>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: Input<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `storageDescriptor`: where the objects are and how a line becomes a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageDescriptor {
    pub location: String,
    pub input_format: String,
    pub output_format: String,
    pub compressed: bool,
    pub columns: Vec<Column>,
    pub ser_de_info: SerDeInfo,
}

/// `serDeInfo`: the serializer/deserializer library and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SerDeInfo {
    pub serialization_library: String,
    pub parameters: IndexMap<String, String>,
}

super::tokens!(
    CatalogDatabase => "aws:glue:CatalogDatabase",
    CatalogTable => "aws:glue:CatalogTable",
);

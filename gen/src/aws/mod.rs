//! The program's resource types, typed: one struct per pulumi-aws resource type this stack
//! declares, spelled as the provider schema spells its inputs. `gen` serializes them into
//! `Pulumi.yaml`; the local stack deserializes the same structs from the resolved program,
//! so a property renamed here breaks the build or the schema check, never a deployment.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod athena;
pub mod cloudwatch;
pub mod dynamodb;
pub mod glue;
pub mod iam;
pub mod kinesis;
pub mod kms;
pub mod lambda;
pub mod s3;
pub mod sns;

/// The inputs of one pulumi-aws resource type.
pub trait Properties: Serialize + DeserializeOwned {
    /// The type token, e.g. `aws:kinesis:Stream`.
    const TYPE: &'static str;
}

/// Declares `impl Properties` for each `type => token`.
macro_rules! tokens {
    ($($ty:ty => $token:literal),* $(,)?) => {
        $(impl $crate::aws::Properties for $ty {
            const TYPE: &'static str = $token;
        })*
    };
}
pub(crate) use tokens;

/// `{ enabled: … }`, a block several resource types share.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enabled<T = bool> {
    pub enabled: T,
}

/// Parses `properties` as the type registered for the token `ty` and serializes it back:
/// what a deployment of that resource would read. An unknown token, an unknown or missing
/// property, or a value of another type is an error.
pub fn reparse(ty: &str, properties: serde_json::Value) -> Result<serde_json::Value, crate::Error> {
    fn via<P: Properties>(v: serde_json::Value) -> Result<serde_json::Value, crate::Error> {
        let bad = |source| crate::Error::Properties {
            ty: P::TYPE.to_owned(),
            source,
        };
        let typed: P = serde_json::from_value(v).map_err(bad)?;
        serde_json::to_value(&typed).map_err(bad)
    }
    macro_rules! table {
        ($($t:ty),* $(,)?) => {
            $(if ty == <$t as Properties>::TYPE {
                return via::<$t>(properties);
            })*
        };
    }
    table!(
        kms::Key,
        kms::Alias,
        kinesis::Stream,
        s3::Bucket,
        s3::BucketOwnershipControls,
        s3::BucketPublicAccessBlock,
        s3::BucketServerSideEncryptionConfiguration,
        s3::BucketPolicy,
        s3::BucketVersioning,
        s3::BucketLifecycleConfiguration,
        dynamodb::Table,
        sns::Topic,
        sns::TopicPolicy,
        iam::Role,
        iam::RolePolicy,
        iam::Policy,
        lambda::Function,
        lambda::EventSourceMapping,
        lambda::Permission,
        cloudwatch::EventRule,
        cloudwatch::EventTarget,
        cloudwatch::LogGroup,
        cloudwatch::MetricAlarm,
        cloudwatch::Dashboard,
        glue::CatalogDatabase,
        glue::CatalogTable,
        athena::Workgroup,
        athena::NamedQuery,
    );
    Err(crate::Error::UnknownType { ty: ty.to_owned() })
}

impl crate::program::Resource {
    /// A resource whose properties are the serialized typed `props` (their type token
    /// comes with them), pinned to [`crate::AWS_PROVIDER_VERSION`]. Here, not in `program`,
    /// so the document types do not depend on the resource types.
    pub fn of<P: Properties>(props: &P) -> Result<Self, crate::Error> {
        let properties = match serde_json::to_value(props).map_err(crate::Error::Serialize)? {
            serde_json::Value::Object(map) => map.into_iter().collect(),
            other => indexmap::IndexMap::from([("value".to_owned(), other)]),
        };
        Ok(Self {
            ty: P::TYPE.to_owned(),
            properties,
            options: crate::program::ResourceOptions::pinned(),
        })
    }
}

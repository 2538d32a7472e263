//! The one place Pulumi YAML expressions are spelled: `${…}` interpolations and `fn::` calls.

use serde::Serialize;
use serde_json::{Value, json};

/// A property value that is either a literal of type `T` or a Pulumi expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Input<T> {
    /// A literal value.
    Lit(T),
    /// An interpolation such as `${shardCount}` or `${stream.arn}`.
    Expr(String),
}

impl<T> From<T> for Input<T> {
    fn from(v: T) -> Self {
        Input::Lit(v)
    }
}

/// `${target}`: the only constructor of interpolation text.
fn interp(target: &str) -> String {
    format!("${{{target}}}")
}

/// `${resource.property}`: an output of a resource declared in the program.
pub fn out(resource: &str, property: &str) -> String {
    interp(&format!("{resource}.{property}"))
}

/// `${key}`: a config key or a variable.
pub fn var(name: &str) -> String {
    interp(name)
}

/// `${pulumi.stack}`.
pub fn stack() -> String {
    interp("pulumi.stack")
}

/// A typed expression input: `${key}` for a config key or variable.
pub fn cfg<T>(key: &str) -> Input<T> {
    Input::Expr(var(key))
}

/// `fn::toJSON` of a serializable document (IAM policies are built this way, never as strings).
pub fn to_json<T: Serialize>(doc: &T) -> Value {
    json!({ "fn::toJSON": doc })
}

/// `fn::fileArchive` of a path relative to the project directory.
pub fn file_archive(path: &str) -> Value {
    json!({ "fn::fileArchive": path })
}

/// `fn::join` of a list expression with a separator.
pub fn join(separator: &str, list: Value) -> Value {
    json!({ "fn::join": [separator, list] })
}

/// `fn::invoke` of a provider function, returning one output, pinned to the provider version.
pub fn invoke(function: &str, ret: &str) -> Value {
    json!({
        "fn::invoke": {
            "function": function,
            "arguments": {},
            "return": ret,
            "options": { "version": crate::AWS_PROVIDER_VERSION },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolations_are_well_formed() {
        assert_eq!(out("stream", "arn"), "${stream.arn}");
        assert_eq!(var("shardCount"), "${shardCount}");
        assert_eq!(stack(), "${pulumi.stack}");
    }
}

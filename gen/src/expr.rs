//! The one place Pulumi YAML expressions are spelled: `${…}` interpolations and `fn::` calls.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A property value that is either a literal of type `T` or a Pulumi expression. Once a
/// program is resolved for a stack (the local deployment), every input is a literal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Input<T> {
    /// A literal value.
    Lit(T),
    /// An interpolation such as `${shardCount}` or `${stream.arn}`.
    Expr(String),
    /// A built-in function call.
    Call(Call),
}

/// The `fn::` calls this program uses, as Pulumi YAML spells them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Call {
    /// `fn::toJSON` of a document.
    #[serde(rename = "fn::toJSON")]
    ToJson(Value),
    /// `fn::fileArchive` of a path relative to the project directory.
    #[serde(rename = "fn::fileArchive")]
    FileArchive(String),
    /// `fn::join` of a list with a separator.
    #[serde(rename = "fn::join")]
    Join(String, Value),
}

impl<T> Input<T> {
    /// The literal of a resolved input; an expression still left is an error naming it.
    pub fn resolved(&self) -> Result<&T, crate::Error> {
        match self {
            Input::Lit(v) => Ok(v),
            Input::Expr(e) => Err(crate::Error::Unresolved {
                expression: e.clone(),
            }),
            Input::Call(c) => Err(crate::Error::Unresolved {
                expression: format!("{c:?}"),
            }),
        }
    }
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
pub fn to_json<T: Serialize, U>(doc: &T) -> Result<Input<U>, crate::Error> {
    let doc = serde_json::to_value(doc).map_err(crate::Error::Serialize)?;
    Ok(Input::Call(Call::ToJson(doc)))
}

/// `fn::fileArchive` of a path relative to the project directory.
pub fn file_archive(path: &str) -> Input<String> {
    Input::Call(Call::FileArchive(path.to_owned()))
}

/// `fn::join` of a list expression with a separator.
pub fn join(separator: &str, list: &str) -> Input<String> {
    Input::Call(Call::Join(
        separator.to_owned(),
        Value::String(list.to_owned()),
    ))
}

/// `text` as a literal Pulumi YAML string: every `$` doubled, so a `${…}` in it (an Athena
/// storage template, say) reaches the provider as written instead of being interpolated.
pub fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

/// `fn::invoke` of a provider function, returning one output, pinned to the provider version.
pub fn invoke(function: &str, ret: &str) -> Value {
    let v = Variable::Invoke(Invoke {
        function: function.to_owned(),
        arguments: serde_json::Map::new(),
        ret: ret.to_owned(),
        options: InvokeOptions {
            version: crate::AWS_PROVIDER_VERSION.to_owned(),
        },
    });
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A program variable as this program writes them: `fn::invoke` of a provider function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Variable {
    #[serde(rename = "fn::invoke")]
    Invoke(Invoke),
}

/// The body of `fn::invoke`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invoke {
    /// The function token, e.g. `aws:getRegion`.
    pub function: String,
    pub arguments: serde_json::Map<String, Value>,
    /// The output of the function the variable takes.
    #[serde(rename = "return")]
    pub ret: String,
    pub options: InvokeOptions,
}

/// `fn::invoke`'s options: the provider version it is pinned to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvokeOptions {
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn interpolations_are_well_formed() {
        assert_eq!(out("stream", "arn"), "${stream.arn}");
        assert_eq!(var("shardCount"), "${shardCount}");
        assert_eq!(stack(), "${pulumi.stack}");
    }

    #[test]
    fn calls_are_spelled_as_pulumi_yaml_spells_them() {
        let v = |i: Input<String>| serde_json::to_value(i).expect("serializes");
        assert_eq!(
            v(file_archive("a.zip")),
            json!({ "fn::fileArchive": "a.zip" })
        );
        assert_eq!(
            v(join(",", "${idFields}")),
            json!({ "fn::join": [",", "${idFields}"] })
        );
        assert_eq!(
            v(to_json(&var("w")).expect("serializes")),
            json!({ "fn::toJSON": "${w}" })
        );
        let back: Input<String> =
            serde_json::from_value(json!({ "fn::join": [",", ["a"]] })).expect("parses");
        assert!(matches!(back, Input::Call(Call::Join(..))));
        assert_eq!(Input::<i64>::Lit(3).resolved().ok(), Some(&3));
        assert!(Input::<i64>::Expr(var("x")).resolved().is_err());
    }
}

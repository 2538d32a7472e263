//! The one reader of Pulumi YAML expressions: `${…}` interpolations and the `fn::` built-ins
//! this program uses. The schema check walks the references ([`whole`], [`references`]);
//! the local stack evaluates values ([`resolve`]) against what it deployed.

use serde_json::Value;

use crate::Error;

/// `${x}` → `x` when the whole string is one interpolation (its value keeps its type).
pub fn whole(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("${")?.strip_suffix('}')?;
    (!inner.contains("${") && !inner.contains('}')).then_some(inner)
}

/// Every `x` of `…${x}…` in a string, in order (`$${x}` is the literal text `${x}`).
pub fn references(s: &str) -> impl Iterator<Item = &str> {
    pieces(s).filter_map(|p| match p {
        Piece::Ref(r) => Some(r),
        Piece::Text(_) | Piece::Unterminated => None,
    })
}

/// A string's literal text and interpolations, in order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    /// `${r}`.
    Ref(&'a str),
    /// A `${` with no `}` after it.
    Unterminated,
}

/// Splits `s` as Pulumi YAML reads it: `$$` is a literal `$`, `${…}` an interpolation.
fn pieces(s: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if let Some(tail) = rest.strip_prefix("$$") {
            rest = tail;
            return Some(Piece::Text("$"));
        }
        if let Some(tail) = rest.strip_prefix("${") {
            let Some((r, after)) = tail.split_once('}') else {
                rest = "";
                return Some(Piece::Unterminated);
            };
            rest = after;
            return Some(Piece::Ref(r));
        }
        let end = rest[1..].find('$').map_or(rest.len(), |i| i + 1);
        let (text, tail) = rest.split_at(end);
        rest = tail;
        Some(Piece::Text(text))
    })
}

/// What an evaluation looks names up in.
pub trait Scope {
    /// The value of `pulumi.stack`, a config key, a variable or `resource.output`.
    fn lookup(&self, reference: &str) -> Result<Value, Error>;
    /// The path `fn::fileArchive` names, as the deployment reads it.
    fn file(&self, path: &str) -> String;
}

/// Evaluates `value`: interpolations, `fn::toJSON`, `fn::join` and `fn::fileArchive`
/// (`fn::invoke` is the caller's: its values are variables in `scope`).
pub fn resolve(value: &Value, scope: &impl Scope) -> Result<Value, Error> {
    let bad = |expression: &dyn std::fmt::Display, reason| Error::Evaluate {
        expression: expression.to_string(),
        reason,
    };
    Ok(match value {
        Value::String(s) => {
            if let Some(r) = whole(s) {
                return scope.lookup(r);
            }
            let mut out = String::new();
            for piece in pieces(s) {
                match piece {
                    Piece::Text(t) => out.push_str(t),
                    Piece::Unterminated => {
                        return Err(bad(&format!("{s:?}"), "an unterminated ${"));
                    }
                    Piece::Ref(r) => match scope.lookup(r)? {
                        Value::String(x) => out.push_str(&x),
                        other => out.push_str(&other.to_string()),
                    },
                }
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| resolve(x, scope))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) if m.len() == 1 && m.keys().all(|k| k.starts_with("fn::")) => {
            let (f, arg) = m.iter().next().ok_or_else(|| bad(value, "an empty call"))?;
            let arg = resolve(arg, scope)?;
            match f.as_str() {
                "fn::toJSON" => Value::String(arg.to_string()),
                "fn::fileArchive" => {
                    let p = arg
                        .as_str()
                        .ok_or_else(|| bad(value, "fn::fileArchive takes a path"))?;
                    Value::String(scope.file(p))
                }
                "fn::join" => {
                    let parts = arg
                        .as_array()
                        .ok_or_else(|| bad(value, "fn::join takes a list"))?;
                    let (Some(sep), Some(items)) = (
                        parts.first().and_then(Value::as_str),
                        parts.get(1).and_then(Value::as_array),
                    ) else {
                        return Err(bad(value, "fn::join takes [separator, list]"));
                    };
                    let strs: Vec<String> = items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect();
                    Value::String(strs.join(sep))
                }
                _ => return Err(bad(value, "this function cannot be evaluated here")),
            }
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), resolve(x, scope)?)))
                .collect::<Result<_, Error>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fixed;

    impl Scope for Fixed {
        fn lookup(&self, r: &str) -> Result<Value, Error> {
            match r {
                "pulumi.stack" => Ok(json!("dev")),
                "shardCount" => Ok(json!(2)),
                "idFields" => Ok(json!(["sensorId", "userId"])),
                "stream.arn" => Ok(json!("arn:aws:kinesis:us-east-1:1:stream/s")),
                other => Err(Error::Evaluate {
                    expression: other.to_owned(),
                    reason: "unknown",
                }),
            }
        }
        fn file(&self, path: &str) -> String {
            format!("/repo/{path}")
        }
    }

    #[test]
    fn references_are_read_in_order() {
        assert_eq!(whole("${a.b}"), Some("a.b"));
        assert_eq!(whole("x${a}"), None);
        assert_eq!(whole("${a}${b}"), None);
        let refs: Vec<&str> = references("p-${a}-${b.c}").collect();
        assert_eq!(refs, ["a", "b.c"]);
        let escaped: Vec<&str> = references("s3://${b}/x=$${year}/$$").collect();
        assert_eq!(escaped, ["b"], "$${{…}} is literal text");
    }

    #[test]
    fn values_evaluate_like_pulumi_yaml() {
        let cases = [
            (json!("${shardCount}"), json!(2)),
            (json!("n-${shardCount}-${pulumi.stack}"), json!("n-2-dev")),
            (
                json!("p/x=$${year}/${pulumi.stack}/$$5"),
                json!("p/x=${year}/dev/$5"),
            ),
            (
                json!({ "fn::join": ["", ["s<", { "fn::join": [":t,", "${idFields}"] }, ":t>"]] }),
                json!("s<sensorId:t,userId:t>"),
            ),
            (
                json!({ "fn::toJSON": { "a": "${shardCount}" } }),
                json!("{\"a\":2}"),
            ),
            (
                json!({ "fn::join": [",", "${idFields}"] }),
                json!("sensorId,userId"),
            ),
            (
                json!({ "fn::fileArchive": "target/${pulumi.stack}/b.zip" }),
                json!("/repo/target/dev/b.zip"),
            ),
            (
                json!({ "k": ["${stream.arn}", 1] }),
                json!({ "k": ["arn:aws:kinesis:us-east-1:1:stream/s", 1] }),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(resolve(&input, &Fixed).expect("evaluates"), want, "{input}");
        }
    }

    #[test]
    fn what_cannot_be_evaluated_is_an_error() {
        for bad in [
            json!("${nope}"),
            json!("a ${b"),
            json!({ "fn::invoke": {} }),
            json!({ "fn::join": "x" }),
            json!({ "fn::fileArchive": 3 }),
        ] {
            assert!(resolve(&bad, &Fixed).is_err(), "{bad}");
        }
    }
}

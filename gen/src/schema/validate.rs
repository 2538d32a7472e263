//! The validator behind [`validate`]: resource tokens, input names, required inputs, literal
//! types and `${…}` references, checked against the loaded [`Schema`].

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Schema, SchemaType};
use crate::Program;
use crate::program::ConfigType;

/// The type a `${…}` reference or `fn::` call evaluates to.
#[derive(Debug, Clone, PartialEq)]
enum Ty {
    Str,
    Int,
    Num,
    Bool,
    Array(Box<Ty>),
    Object,
    Archive,
    Resource,
    Any,
}

impl Ty {
    fn of_config(ty: ConfigType) -> Ty {
        match ty {
            ConfigType::String => Ty::Str,
            ConfigType::Integer => Ty::Int,
            ConfigType::Boolean => Ty::Bool,
            ConfigType::Array => Ty::Array(Box::new(Ty::Any)),
            ConfigType::Object => Ty::Object,
        }
    }

    fn of_schema(t: &SchemaType) -> Ty {
        match t {
            SchemaType::Prim(p) => match p.as_str() {
                "string" => Ty::Str,
                "integer" => Ty::Int,
                "number" => Ty::Num,
                "boolean" => Ty::Bool,
                "archive" | "asset" | "assetOrArchive" => Ty::Archive,
                _ => Ty::Any,
            },
            SchemaType::Array { array } => Ty::Array(Box::new(Ty::of_schema(array))),
            SchemaType::Map { .. } | SchemaType::Ref { .. } => Ty::Object,
            SchemaType::Union { .. } => Ty::Any,
            SchemaType::Enum { .. } => Ty::Str,
        }
    }
}

/// Checks `program` against `schema`; returns one line per problem (empty = valid).
///
/// With `config` (a stack's settings as a JSON object), whole-value `${key}` references
/// to config keys are replaced by that stack's values first, so literal types and enum
/// values are checked per stack.
pub fn validate(program: &Program, schema: &Schema, config: Option<&Value>) -> Vec<String> {
    let mut v = Validator {
        schema,
        program,
        config,
        findings: Vec::new(),
        used: BTreeSet::new(),
    };
    v.run();
    v.findings
}

struct Validator<'a> {
    schema: &'a Schema,
    program: &'a Program,
    config: Option<&'a Value>,
    findings: Vec<String>,
    used: BTreeSet<String>,
}

impl Validator<'_> {
    fn run(&mut self) {
        let program = self.program;
        for (name, value) in &program.variables {
            self.expr_type(&format!("variables.{name}"), value);
        }
        for (name, res) in &program.resources {
            let path = format!("resources.{name}");
            let Some(token) = self
                .schema
                .canonical_token(&res.ty, &self.schema.all_resource_tokens)
            else {
                self.findings
                    .push(format!("{path}: unknown resource type {}", res.ty));
                continue;
            };
            let Some(rs) = self.schema.resources.get(&token) else {
                self.findings.push(format!(
                    "{path}: {token} exists but is outside the bundled schema subset"
                ));
                continue;
            };
            for req in &rs.required_inputs {
                if !res.properties.contains_key(req) {
                    self.findings
                        .push(format!("{path}: required property {req} is missing"));
                }
            }
            for (prop, value) in &res.properties {
                match rs.inputs.get(prop) {
                    Some(p) => self.check(&format!("{path}.{prop}"), value, &p.ty),
                    None => self
                        .findings
                        .push(format!("{path}: {token} has no input {prop}")),
                }
            }
            for dep in &res.options.depends_on {
                let ok = crate::eval::whole(dep).is_some_and(|r| program.resources.contains_key(r));
                if !ok {
                    self.findings.push(format!(
                        "{path}.options.dependsOn: {dep} is not a resource of the program"
                    ));
                }
            }
            if res.options.version.as_deref() != Some(self.schema.version.as_str()) {
                self.findings.push(format!(
                    "{path}.options.version: not pinned to {}",
                    self.schema.version
                ));
            }
        }
        for (name, value) in &program.outputs {
            self.expr_type(&format!("outputs.{name}"), value);
        }
        for key in program.config.keys() {
            if !self.used.contains(key) {
                self.findings
                    .push(format!("config.{key}: declared but never used"));
            }
        }
    }

    /// Checks `value` where the schema expects `ty`.
    fn check(&mut self, path: &str, value: &Value, ty: &SchemaType) {
        if let Some(substituted) = self.substitute(value) {
            return self.check(path, &substituted, ty);
        }
        if is_expression(value) {
            if let Some(got) = self.expr_type(path, value)
                && !assignable(&got, ty)
            {
                self.findings.push(format!(
                    "{path}: expression of type {got:?} where {ty:?} is expected"
                ));
            }
            return;
        }
        match ty {
            SchemaType::Prim(p) => {
                let ok = match p.as_str() {
                    "string" => value.is_string(),
                    "integer" => value.is_i64() || value.is_u64(),
                    "number" => value.is_number(),
                    "boolean" => value.is_boolean(),
                    "any" => true,
                    _ => false,
                };
                if !ok {
                    self.findings
                        .push(format!("{path}: literal {value} is not a {p}"));
                }
            }
            SchemaType::Array { array } => match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(&format!("{path}[{i}]"), item, array);
                    }
                }
                None => self.findings.push(format!("{path}: {value} is not a list")),
            },
            SchemaType::Map { map } => match value.as_object() {
                Some(entries) => {
                    for (k, item) in entries {
                        self.check(&format!("{path}.{k}"), item, map);
                    }
                }
                None => self.findings.push(format!("{path}: {value} is not a map")),
            },
            SchemaType::Union { union } => {
                let before = self.findings.len();
                let fits = union.iter().any(|alt| {
                    let mut probe = Validator {
                        schema: self.schema,
                        program: self.program,
                        config: self.config,
                        findings: Vec::new(),
                        used: BTreeSet::new(),
                    };
                    probe.check(path, value, alt);
                    let ok = probe.findings.is_empty();
                    if ok {
                        self.used.extend(probe.used);
                    }
                    ok
                });
                if !fits {
                    self.findings.truncate(before);
                    self.findings
                        .push(format!("{path}: {value} fits none of {union:?}"));
                }
            }
            SchemaType::Ref { name } => self.check_object(path, value, name),
            SchemaType::Enum { name } => {
                let allowed = self.schema.enums.get(name).cloned().unwrap_or_default();
                if !allowed.contains(value) {
                    self.findings
                        .push(format!("{path}: {value} is not one of enum {name}"));
                }
            }
        }
    }

    fn check_object(&mut self, path: &str, value: &Value, type_name: &str) {
        let Some(obj_ty) = self.schema.input_types.get(type_name).cloned() else {
            self.findings.push(format!(
                "{path}: type {type_name} missing from the schema data"
            ));
            return;
        };
        let Some(obj) = value.as_object() else {
            self.findings
                .push(format!("{path}: {value} is not an object ({type_name})"));
            return;
        };
        for req in obj_ty.required.iter().flatten() {
            if !obj.contains_key(req) {
                self.findings.push(format!(
                    "{path}: required property {req} of {type_name} is missing"
                ));
            }
        }
        for (k, item) in obj {
            match obj_ty.properties.get(k) {
                Some(p) => self.check(&format!("{path}.{k}"), item, &p.ty),
                None => self
                    .findings
                    .push(format!("{path}: {type_name} has no property {k}")),
            }
        }
    }

    /// Replaces a whole-value `${configKey}` by the stack's value, when checking a stack.
    fn substitute(&mut self, value: &Value) -> Option<Value> {
        let key = crate::eval::whole(value.as_str()?)?;
        let v = self.config?.get(key)?.clone();
        self.used.insert(key.to_owned());
        Some(v)
    }

    /// The type an expression evaluates to, after checking every reference inside it.
    fn expr_type(&mut self, path: &str, value: &Value) -> Option<Ty> {
        match value {
            Value::String(s) => {
                if let Some(r) = crate::eval::whole(s) {
                    return self.reference(path, r);
                }
                for r in crate::eval::references(s) {
                    let t = self.reference(path, r)?;
                    if matches!(t, Ty::Array(_) | Ty::Object | Ty::Archive) {
                        self.findings
                            .push(format!("{path}: ${{{r}}} of type {t:?} inside a string"));
                    }
                }
                Some(Ty::Str)
            }
            Value::Object(map) if map.len() == 1 => {
                let (f, arg) = map.iter().next()?;
                match f.as_str() {
                    "fn::toJSON" => {
                        self.refs_within(path, arg);
                        Some(Ty::Str)
                    }
                    "fn::join" => {
                        let parts = arg.as_array().filter(|a| a.len() == 2);
                        match parts {
                            Some(parts) => {
                                let list = self.expr_type(path, &parts[1]);
                                if !matches!(list, Some(Ty::Array(_))) {
                                    self.findings.push(format!("{path}: fn::join needs a list"));
                                }
                            }
                            None => self
                                .findings
                                .push(format!("{path}: fn::join takes [separator, list]")),
                        }
                        Some(Ty::Str)
                    }
                    "fn::fileArchive" => {
                        // A path, which pulumi-yaml lets interpolate (pulumi-yaml#342).
                        if !arg.is_string() {
                            self.findings
                                .push(format!("{path}: fn::fileArchive takes a path"));
                        }
                        self.refs_within(path, arg);
                        Some(Ty::Archive)
                    }
                    "fn::invoke" => self.invoke(path, arg),
                    _ => {
                        self.refs_within(path, value);
                        Some(Ty::Object)
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.expr_type(&format!("{path}[{i}]"), item);
                }
                Some(Ty::Array(Box::new(Ty::Any)))
            }
            Value::Object(_) => {
                self.refs_within(path, value);
                Some(Ty::Object)
            }
            Value::Bool(_) => Some(Ty::Bool),
            Value::Number(n) if n.is_f64() => Some(Ty::Num),
            Value::Number(_) => Some(Ty::Int),
            Value::Null => Some(Ty::Any),
        }
    }

    fn refs_within(&mut self, path: &str, value: &Value) {
        match value {
            Value::String(_) => {
                self.expr_type(path, value);
            }
            Value::Array(items) => items.iter().for_each(|i| self.refs_within(path, i)),
            Value::Object(map) => {
                for (k, v) in map {
                    if k.starts_with("fn::") {
                        self.expr_type(path, value);
                    } else {
                        self.refs_within(&format!("{path}.{k}"), v);
                    }
                }
            }
            _ => {}
        }
    }

    fn invoke(&mut self, path: &str, arg: &Value) -> Option<Ty> {
        let token = arg.get("function").and_then(Value::as_str);
        let Some(token) = token.and_then(|t| {
            self.schema
                .canonical_token(t, &self.schema.all_function_tokens)
        }) else {
            self.findings
                .push(format!("{path}: fn::invoke of an unknown function"));
            return None;
        };
        let f = self.schema.functions.get(&token)?;
        if let Some(args) = arg.get("arguments").and_then(Value::as_object) {
            for k in args.keys() {
                if !f.inputs.contains_key(k) {
                    self.findings
                        .push(format!("{path}: {token} has no argument {k}"));
                }
            }
        }
        let ret = arg.get("return").and_then(Value::as_str)?;
        match f.outputs.get(ret) {
            Some(p) => Some(Ty::of_schema(&p.ty)),
            None => {
                self.findings
                    .push(format!("{path}: {token} has no output {ret}"));
                None
            }
        }
    }

    /// Resolves `root.prop…` and returns its type.
    fn reference(&mut self, path: &str, r: &str) -> Option<Ty> {
        let mut parts = r.split('.');
        let root = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        let program = self.program;
        if root == "pulumi" {
            return match rest.as_slice() {
                ["stack"] | ["project"] | ["organization"] | ["cwd"] => Some(Ty::Str),
                _ => self.dangling(path, r),
            };
        }
        if let Some(decl) = program.config.get(root) {
            self.used.insert(root.to_owned());
            return if rest.is_empty() {
                Some(Ty::of_config(decl.ty))
            } else {
                self.dangling(path, r)
            };
        }
        if let Some(var) = program.variables.get(root) {
            let ty = self.expr_type(path, var);
            return if rest.is_empty() { ty } else { Some(Ty::Any) };
        }
        if let Some(res) = program.resources.get(root) {
            let Some(first) = rest.first() else {
                return Some(Ty::Resource);
            };
            if matches!(*first, "id" | "urn") {
                return Some(Ty::Str);
            }
            let token = self
                .schema
                .canonical_token(&res.ty, &self.schema.all_resource_tokens)?;
            let out = self
                .schema
                .resources
                .get(&token)
                .and_then(|rs| rs.outputs.get(*first));
            return match out {
                Some(p) if rest.len() == 1 => Some(Ty::of_schema(&p.ty)),
                Some(_) => Some(Ty::Any),
                None => {
                    self.findings
                        .push(format!("{path}: ${{{r}}}: {token} has no output {first}"));
                    None
                }
            };
        }
        self.dangling(path, r)
    }

    fn dangling(&mut self, path: &str, r: &str) -> Option<Ty> {
        self.findings.push(format!(
            "{path}: ${{{r}}} names no config key, variable or resource output"
        ));
        None
    }
}

fn assignable(got: &Ty, want: &SchemaType) -> bool {
    match want {
        SchemaType::Prim(p) => match (p.as_str(), got) {
            (_, Ty::Any) | ("any", _) => true,
            ("string", t) => matches!(t, Ty::Str),
            ("integer", t) => matches!(t, Ty::Int),
            ("number", t) => matches!(t, Ty::Int | Ty::Num),
            ("boolean", t) => matches!(t, Ty::Bool),
            ("archive" | "assetOrArchive", t) => matches!(t, Ty::Archive),
            _ => false,
        },
        SchemaType::Array { array } => match got {
            Ty::Array(inner) => assignable(inner, array),
            Ty::Any => true,
            _ => false,
        },
        SchemaType::Map { .. } | SchemaType::Ref { .. } => matches!(got, Ty::Object | Ty::Any),
        SchemaType::Union { union } => union.iter().any(|alt| assignable(got, alt)),
        SchemaType::Enum { .. } => matches!(got, Ty::Str | Ty::Any),
    }
}

fn is_expression(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("${"),
        Value::Object(m) => m.len() == 1 && m.keys().all(|k| k.starts_with("fn::")),
        _ => false,
    }
}

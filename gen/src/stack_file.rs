//! `Pulumi.<stack>.yaml` as the Pulumi CLI writes it, read into typed [`Settings`].

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::program::ConfigType;
use crate::settings::Settings;

impl Settings {
    /// Loads `Pulumi.<stack>.yaml`: `aws:region` is required, every project key is typed.
    pub fn load_stack_file(path: &Path) -> Result<StackFile, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse_stack_file(path, &text)
    }

    /// Parses the text of a stack file (see [`Settings::load_stack_file`]) as the Pulumi CLI
    /// writes it: `pulumi config set` stores numbers and booleans as strings unless given
    /// `--type`, so a value is read by its key's declared type; the secrets provider's
    /// `encryptionsalt` / `secretsprovider` / `encryptedkey` and any `aws:*` provider key
    /// (`aws:profile`, …) are accepted. Unknown project keys and out-of-range values are
    /// errors that name the key.
    pub fn parse_stack_file(path: &Path, text: &str) -> Result<StackFile, Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            config: IndexMap<String, Value>,
            #[serde(default)]
            encryptionsalt: Option<String>,
            #[serde(default)]
            secretsprovider: Option<String>,
            #[serde(default)]
            encryptedkey: Option<String>,
        }
        let raw: Raw = yaml_serde::from_str(text).map_err(|source| Error::StackFile {
            path: path.to_owned(),
            source,
        })?;
        let bad = |reason: String| Error::StackFileContent {
            path: path.to_owned(),
            reason,
        };
        let declared = Self::declarations()?;
        let mut region = None;
        let mut provider = IndexMap::new();
        let mut project = serde_json::Map::new();
        for (key, value) in raw.config {
            match key.split_once(':') {
                Some(("aws", "region")) => {
                    region = Some(
                        value
                            .as_str()
                            .ok_or_else(|| bad("aws:region must be a string".into()))?
                            .to_owned(),
                    )
                }
                Some(("aws", k)) => {
                    provider.insert(k.to_owned(), value);
                }
                Some((crate::PROJECT, k)) => {
                    let Some(decl) = declared.get(k) else {
                        return Err(bad(format!("{key}: unknown setting")));
                    };
                    let value = coerce(&decl.ty, value)
                        .map_err(|reason| bad(format!("{key}: {reason}")))?;
                    // Each key alone first, so an error names the key it is about.
                    let one = Value::Object([(k.to_owned(), value.clone())].into_iter().collect());
                    serde_json::from_value::<Settings>(one)
                        .map_err(|e| bad(format!("{key}: {e}")))?;
                    project.insert(k.to_owned(), value);
                }
                _ => return Err(bad(format!("unexpected key {key}"))),
            }
        }
        let region = region.ok_or_else(|| bad("aws:region is required".into()))?;
        let settings: Settings = serde_json::from_value(Value::Object(project))
            .map_err(|e| bad(format!("invalid {} settings: {e}", crate::PROJECT)))?;
        settings.validate()?;
        // The secrets provider's keys are Pulumi's own; accepted, not used by the stack.
        let _ = (raw.encryptionsalt, raw.secretsprovider, raw.encryptedkey);
        Ok(StackFile {
            region,
            provider,
            settings,
        })
    }
}

/// A value as its declared config type, from what the CLI may have written: a string for
/// a number, boolean or (JSON) array, or the typed value itself. Secrets are refused:
/// none of these settings is secret.
fn coerce(ty: &ConfigType, value: Value) -> Result<Value, NotCoerced> {
    if value.get("secure").is_some() {
        return Err(NotCoerced::Secret);
    }
    let Value::String(text) = &value else {
        return Ok(value);
    };
    let t = text.trim();
    let wrong = |expected| NotCoerced::Text {
        text: text.clone(),
        expected,
    };
    match ty {
        ConfigType::Integer => t
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| wrong("a whole number")),
        ConfigType::Boolean => match t {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong("true or false")),
        },
        ConfigType::Array => serde_json::from_str::<Value>(t)
            .ok()
            .filter(Value::is_array)
            .ok_or_else(|| wrong("a JSON list")),
        _ => Ok(value),
    }
}

/// Why a stack file's value is not of its setting's declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum NotCoerced {
    #[error("is a secret; this setting is not secret")]
    Secret,
    #[error("{text:?} is not {expected}")]
    Text {
        text: String,
        expected: &'static str,
    },
}

/// A parsed stack file.
#[derive(Debug, Clone, PartialEq)]
pub struct StackFile {
    /// `aws:region`.
    pub region: String,
    /// Other `aws:*` provider keys (`profile`, …), as written; the stack does not read them.
    pub provider: IndexMap<String, Value>,
    /// The project settings, defaults filled in.
    pub settings: Settings,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &str) -> Result<StackFile, Error> {
        Settings::parse_stack_file(Path::new("Pulumi.test.yaml"), lines)
    }

    #[test]
    fn out_of_range_values_do_not_parse_and_the_error_names_the_key() {
        for (key, value) in [
            ("lambdaMemoryMb", "64"),
            ("lambdaMemoryMb", "\"64\""),
            ("lambdaMemoryMb", "\"lots\""),
            ("shardCount", "0"),
            ("retentionHours", "\"12\""),
            ("logRetentionDays", "8"),
            ("parallelizationFactor", "11"),
            ("lambdaArchitecture", "sparc"),
            ("forceDestroy", "\"yes\""),
            ("noSuchKey", "1"),
        ] {
            let text = format!(
                "config:\n  aws:region: eu-west-1\n  {}:{key}: {value}\n",
                crate::PROJECT
            );
            let err = parse(&text).expect_err(&format!("{key}: {value} was accepted"));
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }

    /// A stack file as `pulumi config set` (without `--type`) and the passphrase secrets
    /// provider write it.
    #[test]
    fn stack_files_as_the_cli_writes_them_parse() {
        let text = format!(
            "encryptionsalt: v1:AbCd:v1:EfGh:IjKl\nconfig:\n  aws:region: eu-west-1\n  aws:profile: ops\n  \
             {p}:lambdaMemoryMb: \"1024\"\n  {p}:forceDestroy: \"true\"\n  \
             {p}:idFields: '[\"deviceId\",\"userId\"]'\n  {p}:shardCount: 4\n",
            p = crate::PROJECT
        );
        let f = parse(&text).expect("parses");
        assert_eq!(f.settings.lambda_memory_mb.get(), 1024);
        assert!(f.settings.force_destroy);
        assert_eq!(f.settings.shard_count.get(), 4);
        assert_eq!(f.settings.id_fields.len(), 2);
        assert_eq!(
            f.provider.get("profile"),
            Some(&Value::String("ops".into()))
        );
        let managed = "secretsprovider: awskms://alias/x\nencryptedkey: AbCd\nconfig:\n  aws:region: us-east-1\n";
        assert!(parse(managed).is_ok());
    }
}

//! The physical names a stack derives from its name, checked against each service's
//! naming rules before anything is created (a bad bucket name otherwise surfaces halfway
//! through a deployment).

use crate::Error;
use crate::stack::{base_names, bucket_name, failed_bucket_name, physical_name, query};

/// An account id is always 12 digits; names are checked with the longest one.
const ACCOUNT: &str = "000000000000";

/// One service's rule for a name.
struct Rule {
    what: &'static str,
    min: usize,
    max: usize,
    allowed: fn(char) -> bool,
    /// Letters must be lower case (S3 bucket names).
    lower: bool,
}

fn s3_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
}

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn dotted_word_char(c: char) -> bool {
    word_char(c) || c == '.'
}

fn iam_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

fn alias_char(c: char) -> bool {
    word_char(c) || c == '/'
}

fn log_group_char(c: char) -> bool {
    dotted_word_char(c) || c == '/' || c == '#'
}

/// Every name the stack `stack` derives in `region`, with the rule it must follow.
fn derived(stack: &str, region: &str) -> Vec<(String, Rule)> {
    let bucket = |name: String| {
        let rule = Rule {
            what: "S3 bucket name",
            min: 3,
            max: 63,
            allowed: s3_char,
            lower: true,
        };
        (name, rule)
    };
    let function = physical_name(base_names::FUNCTION, stack);
    vec![
        bucket(bucket_name(ACCOUNT, region, stack)),
        bucket(failed_bucket_name(ACCOUNT, region, stack)),
        bucket(query::results_bucket_name(ACCOUNT, region, stack)),
        (
            format!("realtime-{stack}"),
            Rule {
                what: "Athena workgroup name",
                min: 1,
                max: 128,
                allowed: dotted_word_char,
                lower: false,
            },
        ),
        (
            query::database_name(stack),
            Rule {
                what: "Glue database name",
                min: 1,
                max: 255,
                allowed: dotted_word_char,
                lower: true,
            },
        ),
        (
            physical_name(base_names::STREAM, stack),
            Rule {
                what: "Kinesis stream name",
                min: 1,
                max: 128,
                allowed: dotted_word_char,
                lower: false,
            },
        ),
        (
            physical_name(base_names::TABLE, stack),
            Rule {
                what: "DynamoDB table name",
                min: 3,
                max: 255,
                allowed: dotted_word_char,
                lower: false,
            },
        ),
        (
            physical_name(base_names::TOPIC, stack),
            Rule {
                what: "SNS topic name",
                min: 1,
                max: 256,
                allowed: word_char,
                lower: false,
            },
        ),
        (
            physical_name(base_names::KEY_ALIAS, stack),
            Rule {
                what: "KMS alias",
                min: 1,
                max: 256,
                allowed: alias_char,
                lower: false,
            },
        ),
        (
            physical_name("realtime-data-processor-role", stack),
            Rule {
                what: "IAM role name",
                min: 1,
                max: 64,
                allowed: iam_char,
                lower: false,
            },
        ),
        (
            format!("/aws/lambda/{function}"),
            Rule {
                what: "log group name",
                min: 1,
                max: 512,
                allowed: log_group_char,
                lower: false,
            },
        ),
        (
            format!("{function}-rejected-records"),
            Rule {
                what: "alarm name",
                min: 1,
                max: 255,
                allowed: |c| !c.is_control(),
                lower: false,
            },
        ),
        (
            function,
            Rule {
                what: "Lambda function name",
                min: 1,
                max: 64,
                allowed: word_char,
                lower: false,
            },
        ),
    ]
}

/// Checks every derived name of `stack` in `region`; the error lists each violation with
/// the offending name.
pub fn check_stack(stack: &str, region: &str) -> Result<(), Error> {
    let mut problems = Vec::new();
    for (name, rule) in derived(stack, region) {
        let len = name.len();
        if len < rule.min || len > rule.max {
            problems.push(format!(
                "{} {name:?} is {len} characters ({}..={} allowed)",
                rule.what, rule.min, rule.max
            ));
        }
        if let Some(c) = name.chars().find(|c| !(rule.allowed)(*c)) {
            let case = if rule.lower && c.is_ascii_uppercase() {
                " (lower case only)"
            } else {
                ""
            };
            problems.push(format!(
                "{} {name:?} may not contain {c:?}{case}",
                rule.what
            ));
        }
        if rule.lower
            && (name.starts_with(['-', '.']) || name.ends_with(['-', '.']) || name.contains(".."))
        {
            problems.push(format!(
                "{} {name:?} must start and end with a letter or digit",
                rule.what
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidSetting {
            key: "stack name",
            reason: format!("stack {stack:?} in {region}: {}", problems.join("; ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(stack: &str, region: &str, ok: bool, mentions: &str) {
        let r = check_stack(stack, region);
        assert_eq!(r.is_ok(), ok, "{stack} in {region}: {r:?}");
        if let Err(e) = r {
            assert!(e.to_string().contains(mentions), "{e}");
        }
    }

    #[test]
    fn the_shipped_stacks_fit_every_region() {
        for region in [
            "us-east-1",
            "ap-southeast-5",
            "us-gov-west-1",
            "us-isof-south-1",
        ] {
            for stack in crate::STACKS {
                check(stack, region, true, "");
            }
        }
    }

    #[test]
    fn long_or_upper_case_stack_names_are_refused_with_the_offending_name() {
        // The failed-batches bucket is the longest name: 24 + 12 + 1 + region + 1 + stack.
        check("staging", "ap-southeast-5", true, "");
        check(
            "staging-blue",
            "ap-southeast-5",
            false,
            "realtime-failed-batches-000000000000-ap-southeast-5-staging-blue",
        );
        check("Prod", "us-east-1", false, "lower case only");
        check("qa_1", "us-east-1", false, "may not contain '_'");
        check("x-", "us-east-1", false, "must start and end");
        check(&"a".repeat(50), "us-east-1", false, "Lambda function name");
    }
}

//! DynamoDB items as the function writes them, with DynamoDB's size accounting and limits.
//!
//! [`Av`] is the subset of `AttributeValue` the metrics table uses. [`check`] applies the
//! limits DynamoDB enforces on a `PutItem` (key value lengths, 400 KB items counting
//! attribute names and map keys, 38 significant digits, 4 KB expressions), so the
//! in-memory table fails exactly where the service would.

use std::collections::BTreeMap;

pub use crate::limits::{
    MAX_EXPRESSION_BYTES, MAX_ITEM_BYTES, MAX_NUMBER_DIGITS, MAX_PARTITION_KEY_BYTES,
    MAX_SORT_KEY_BYTES,
};

/// An attribute value: string, number (decimal text), binary, boolean or map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Av {
    S(String),
    N(String),
    B(Vec<u8>),
    Bool(bool),
    M(BTreeMap<String, Av>),
}

/// An item: attribute name → value.
pub type Item = BTreeMap<String, Av>;

impl Av {
    /// The string, if this is one.
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Av::S(s) => Some(s),
            _ => None,
        }
    }

    /// The number text, if this is one.
    pub fn as_n(&self) -> Option<&str> {
        match self {
            Av::N(n) => Some(n),
            _ => None,
        }
    }

    /// The bytes, if this is a binary value.
    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            Av::B(b) => Some(b),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_m(&self) -> Option<&BTreeMap<String, Av>> {
        match self {
            Av::M(m) => Some(m),
            _ => None,
        }
    }

    /// Size as DynamoDB bills and limits it (see the developer guide's item size rules).
    pub fn size(&self) -> usize {
        match self {
            Av::S(s) => s.len(),
            Av::N(n) => number_size(n),
            Av::B(b) => b.len(),
            Av::Bool(_) => 1,
            Av::M(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + v.size()).sum::<usize>(),
        }
    }
}

/// Item size: attribute names plus values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

/// Bytes of a Number: base-100 digit pairs aligned on the decimal point, plus one, plus
/// one if negative (the emulator's and DynamoDB's accounting).
pub fn number_size(text: &str) -> usize {
    let negative = text.starts_with('-');
    let t = text.trim_start_matches(['+', '-']);
    let (mantissa, exp) = t.split_once(['e', 'E']).unwrap_or((t, "0"));
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let Ok(exp) = exp.parse::<i64>() else {
        return 1;
    };
    let lead_stripped = digits.trim_start_matches('0');
    let stripped = lead_stripped.trim_end_matches('0');
    if stripped.is_empty() {
        return 1;
    }
    let exponent = exp - fraction.len() as i64 + (lead_stripped.len() - stripped.len()) as i64;
    let mut n = stripped.len();
    if exponent.rem_euclid(2) == 1 {
        n += 1;
    }
    if n % 2 == 1 {
        n += 1;
    }
    1 + n / 2 + usize::from(negative)
}

/// Significant digits of a decimal number text.
pub fn significant_digits(text: &str) -> usize {
    let t = text.trim_start_matches(['+', '-']);
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').trim_end_matches('0').len()
}

/// DynamoDB's refusal of an item (a `ValidationException`), in the service's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Why DynamoDB would refuse an item (the service's own wording).
pub fn check(item: &Item, key_names: (&str, &str), condition: &str) -> Result<(), Refusal> {
    let refuse = |m: String| Err(Refusal(m));
    if condition.len() > MAX_EXPRESSION_BYTES {
        return refuse(format!(
            "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: {}",
            condition.len()
        ));
    }
    let key = |name: &str, max: usize, what: &str| -> Result<(), Refusal> {
        match item.get(name) {
            Some(Av::S(s)) if s.is_empty() => refuse(format!(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {name}"
            )),
            Some(Av::S(s)) if s.len() > max => refuse(format!(
                "One or more parameter values were invalid: Aggregated size of all {what} keys has exceeded the size limit of {max} bytes"
            )),
            Some(Av::S(_)) => Ok(()),
            _ => refuse(format!(
                "One or more parameter values were invalid: Missing the key {name} in the item"
            )),
        }
    };
    key(key_names.0, MAX_PARTITION_KEY_BYTES, "hash")?;
    key(key_names.1, MAX_SORT_KEY_BYTES, "range")?;
    fn numbers(v: &Av) -> Result<(), Refusal> {
        match v {
            Av::N(n) if significant_digits(n) > MAX_NUMBER_DIGITS => Err(Refusal(
                "Attempting to store more than 38 significant digits in a Number".to_owned(),
            )),
            Av::M(m) => m.iter().try_for_each(|(k, v)| {
                if k.is_empty() {
                    return Err(Refusal("One or more parameter values were invalid: An AttributeValue may not contain an empty map key".to_owned()));
                }
                numbers(v)
            }),
            _ => Ok(()),
        }
    }
    item.values().try_for_each(numbers)?;
    if item_size(item) > MAX_ITEM_BYTES {
        return refuse("Item size has exceeded the maximum allowed size".to_owned());
    }
    Ok(())
}

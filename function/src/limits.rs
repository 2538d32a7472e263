//! DynamoDB's limits the function works within (the developer guide's service quotas):
//! a leaf module, so extraction and the item layer share them without depending on each
//! other.

/// Largest partition key value, in UTF-8 bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// Largest sort key value, in UTF-8 bytes.
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// Largest item, counting attribute names, map keys and values.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Largest expression string (condition, update, projection …).
pub const MAX_EXPRESSION_BYTES: usize = 4096;
/// Most significant digits of a Number.
pub const MAX_NUMBER_DIGITS: usize = 38;

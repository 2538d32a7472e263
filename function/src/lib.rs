//! The Kinesis → S3/DynamoDB processor: a pure decode/extract/aggregate/plan core and thin
//! adapters for the AWS SDK and the Lambda runtime.
//!
//! * pure: [`decode`] (formats), [`kpl`], [`extract`], [`batch`] (a shard's records →
//!   lines and observations), [`window`] (which aggregate), [`store`] (pages, which
//!   aggregate records, plans, DynamoDB limits), [`archive`] (objects and keys),
//!   [`position`];
//! * recovery: [`recover`] (rebuild pages of given-up records from the archive);
//! * edges: [`handler`] (one batch, generic over [`archive::ArchiveStore`] and
//!   [`store::MetricsStore`]), [`aws`] (SDK adapters), [`telemetry`] (logs and EMF).

pub mod archive;
pub mod aws;
pub mod batch;
pub mod compact;
pub mod config;
pub mod decode;
pub mod error;
pub mod event;
pub mod extract;
pub mod handler;
pub mod kpl;
pub mod leb128;
pub mod limits;
pub mod position;
pub mod recover;
pub mod sketch;
pub mod store;
pub mod telemetry;
pub mod window;

pub use config::Config;
pub use error::{Error, ErrorKind};

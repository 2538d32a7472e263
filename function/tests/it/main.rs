//! The function's tests: the batch core, formats, extraction, aggregation, exactly-once, handler, requests.

mod aggregate;
mod arb;
mod batch;
mod compact;
mod config;
mod formats;
mod handler;
mod idempotency;
mod interleave;
mod invariants;
mod limits;
mod producer;
mod refusals;
mod requests;
mod sketch;
mod store;
mod support;

//! The function's tests: formats, extraction, aggregation, exactly-once, handler, requests.

mod aggregate;
mod config;
mod formats;
mod handler;
mod idempotency;
mod requests;
mod support;

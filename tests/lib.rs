//! Test-only crate: the integration tests live in `it/`.

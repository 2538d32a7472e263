//! Workspace integration tests: contracts between the stack program and the function.

mod contract;

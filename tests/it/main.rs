//! Workspace integration tests: contracts between the stack program and the function, and
//! end-to-end runs of the whole pipeline on the local stack (MiniStack on 127.0.0.1).

mod contract;
mod e2e;
mod e2e_arch;
mod e2e_compact;
mod e2e_outage;
mod e2e_quantiles;
mod e2e_sql;
mod e2e_stress;
mod inbox;
mod layers;
mod oracle;
mod readme_decoder;

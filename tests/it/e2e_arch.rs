//! The Graviton build end to end: the packaged arm64 `bootstrap` (cross-built by
//! `cargo xtask package --arch arm64`) answers the mapping's invocations on this machine,
//! under qemu-user when the host is x86_64, and aggregates exactly.

use local::producer;
use stackgen::settings::Architecture;

use crate::e2e::{assert_table, now_ms, send, up_as, wait_done};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn the_arm64_bootstrap_processes_batches() {
    let s = up_as("dev", "arm64", Some(Architecture::Arm64)).await;
    assert_eq!(s.deployed.function.architecture, Architecture::Arm64);
    assert!(
        s.deployed
            .function
            .archive
            .ends_with(stackgen::function_archive(Architecture::Arm64)),
        "deploys the arm64 zip: {}",
        s.deployed.function.archive.display()
    );
    let samples = producer::samples(120, 11, now_ms(), 120);
    send(&s, &samples).await;
    wait_done(&s, 120).await;
    assert_table(&s, &samples).await;
    assert_eq!(s.counters().function_errors, 0, "{:?}", s.counters());
    s.down().await;
}

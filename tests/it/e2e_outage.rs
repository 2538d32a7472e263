//! End to end through outages: every service at once (the emulator paused with SIGSTOP
//! for 90 s while the mapping is invoking), and a failed-batches bucket that cannot be
//! written. Nothing that watches or drives the pipeline stops: the mapping and the function
//! keep retrying, a batch Lambda gives up on is kept (its write retried until it lands,
//! with the delivery alarm raised meanwhile), and after a redrive every record is counted
//! exactly once.

use std::time::{Duration, Instant};

use crate::e2e::{now_ms, send, up, wait_done};

/// `kill -<signal> <pid>`.
fn signal(sig: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {pid}");
}

/// How long every service is unavailable.
const OUTAGE: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn a_90_second_outage_of_every_service_loses_and_doubles_nothing() {
    let mut s = up("dev", "outage").await;
    // Give-ups inside the outage: a 10 s function timeout, one retry and no bisection, so
    // a batch invoked in the outage is given up about 20 s into it (with the seed's 60 s,
    // three retries and bisection, the attempts of one batch outlast a 90 s outage).
    s.deployed.function.timeout_secs = 10;
    s.deployed.mapping.maximum_retry_attempts = 1;
    s.deployed.mapping.bisect_on_error = false;
    s.start_mapping().await.expect("mapping restarts");
    let samples = local::producer::samples(1000, 61, now_ms(), 60);
    send(&s, &samples).await;

    // The outage starts while the mapping is invoking (the deadline only bounds a hang).
    let started = Instant::now();
    while s.counters().invocations == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            s.counters()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let emulator = s.emulator.pid().expect("the emulator runs");
    signal("-STOP", emulator);
    let paused = Instant::now();
    let table = s
        .deployed
        .output(stackgen::stack::outputs::METRICS_TABLE_NAME)
        .to_owned();
    // Reads of the stack's state fail while it lasts (what a live view shows, and survives).
    let read = tokio::time::timeout(
        Duration::from_secs(60),
        local::status::scan(&s.clients, &table),
    )
    .await;
    assert!(
        !matches!(read, Ok(Ok(_))),
        "a read during the outage does not succeed"
    );
    tokio::time::sleep(OUTAGE.saturating_sub(paused.elapsed())).await;
    signal("-CONT", emulator);

    wait_done(&s, 1000).await;
    let c = s.counters();
    eprintln!("{c:?}");
    assert!(
        c.batches_failed > 0,
        "batches were given up in the outage: {c:?}"
    );
    s.stop_mapping().await;
    let r = s.redrive().await.expect("redrive");
    assert_eq!(r.waiting(), 0, "{r:?}");
    assert!(r.batches > 0, "{r:?}");
    crate::e2e::assert_table(&s, &samples).await;
    s.down().await;
}

/// Waits (the deadline only bounds a hang) until `check` holds.
async fn until<F: Fn() -> bool>(what: &str, check: F) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The state of the stack's alarm whose name ends with `suffix`.
async fn alarm_state(s: &local::LocalStack, suffix: &str) -> String {
    let states = local::status::alarms(&s.clients, &s.deployed.alarms)
        .await
        .expect("alarms");
    states
        .iter()
        .find(|(name, _)| name.ends_with(suffix))
        .map(|(_, state)| state.clone())
        .unwrap_or_else(|| panic!("no alarm ending with {suffix}: {states:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
async fn a_failed_batch_that_cannot_be_kept_holds_its_shard_until_it_lands() {
    let mut s = up("dev", "delivery").await;
    // Every invocation fails (the function's table is unreachable, as with revoked access)
    // and the failed-batches bucket does not exist yet: keeping a batch fails at once.
    let table = s.deployed.function.env["METRICS_TABLE"].clone();
    s.deployed
        .function
        .env
        .insert("METRICS_TABLE".into(), format!("{table}-unreachable"));
    let later = format!("{}-later", s.deployed.mapping.failure_bucket);
    s.deployed.mapping.failure_bucket = later.clone();
    s.start_mapping().await.expect("mapping restarts");
    let samples = local::producer::samples(20, 71, now_ms(), 60);
    send(&s, &samples).await;

    until("failed writes of the given-up batch", || {
        s.counters().failure_writes_failed >= 2
    })
    .await;
    let c = s.counters();
    assert_eq!(
        (c.batches_failed, c.records_done),
        (0, 0),
        "a batch not kept yet holds its shard: {c:?}"
    );
    // The delivery alarm fires (the mapping publishes DestinationDeliveryFailures).
    let started = Instant::now();
    while alarm_state(&s, "-failed-batch-delivery").await != "ALARM" {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the delivery alarm did not fire"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The bucket appears: the batch lands, and the shard moves on.
    s.clients
        .s3
        .create_bucket()
        .bucket(&later)
        .send()
        .await
        .expect("create the bucket");
    wait_done(&s, 20).await;
    let c = s.counters();
    assert!(c.batches_failed >= 1, "{c:?}");
    let kept = local::failure::list(&s.clients, &later)
        .await
        .expect("list");
    let mut records = 0;
    for key in &kept {
        let r = local::failure::get(&s.clients, &later, key)
            .await
            .expect("a kept batch");
        records += r.records().expect("its records").len();
    }
    assert_eq!(records, 20, "every record was kept, once: {kept:?}");
    s.down().await;
}

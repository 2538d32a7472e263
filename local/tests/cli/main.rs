//! The `local` binary as a user drives it: one `up` per stack, commands against a stack that
//! never ran or stopped, checked `query` times, `status --json`, the rejected listing, and
//! `watch` without a terminal, and (`terminal`) the binary under a pseudo-terminal. Each
//! test keeps its state in its own folder (`--state`).

mod deployed;
mod readme;
mod terminal;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn state(test: &str) -> PathBuf {
    local::test_state_dir("cli-tests", test)
}

fn local(state: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_realtime"));
    c.arg("--state").arg(state).args(args).stdin(Stdio::null());
    c
}

fn run(state: &Path, args: &[&str]) -> Output {
    output(local(state, args))
}

/// `c` run to its end, as `Command::output` does, but killed and the test failed (with
/// what it printed) if it runs past 300 s: a command that hangs fails its test in
/// minutes, naming itself, rather than holding CI until its time is up.
#[track_caller]
fn output(c: Command) -> Output {
    output_within(c, Duration::from_secs(300))
}

/// `output` with its own `limit`, which only bounds a hang.
#[track_caller]
fn output_within(mut c: Command, limit: Duration) -> Output {
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let pid = child.id().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("runs"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            let out = rx.recv().expect("ended").expect("runs");
            panic!(
                "{c:?} did not end within {limit:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                stderr(&out)
            );
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fails_with(o: &Output, needle: &str) {
    assert!(!o.status.success(), "expected a failure: {o:?}");
    assert!(
        stderr(o).contains(needle),
        "{needle:?} not in {}",
        stderr(o)
    );
}

#[test]
fn commands_against_a_stack_that_never_ran_or_stopped_say_so() {
    let dir = state("stopped");
    let commands: [&[&str]; 8] = [
        &["status"],
        &["watch"],
        &["query", "--entity", "x"],
        &["redrive"],
        &["send"],
        &["rejected"],
        &["env"],
        &["sql", "SELECT 1"],
    ];
    for cmd in commands {
        let o = run(&dir, cmd);
        fails_with(&o, "the local stack 'dev' is not running");
        // The hint names the stack and the state folder in use.
        fails_with(&o, &format!("-- --stack dev --state {} up", dir.display()));
    }
    let o = run(
        &dir,
        &["--stack", "nosuch", "up", "--release", "--skip-build"],
    );
    fails_with(&o, "there is no stack 'nosuch'");
    fails_with(&o, "dev, prod");
    assert!(
        !dir.join("nosuch").exists(),
        "nothing is created for an unknown stack"
    );
    assert_eq!(stderr(&o).lines().count(), 1, "said once: {}", stderr(&o));
}

#[test]
fn bad_query_times_and_bounds_are_refused_before_anything_else() {
    let dir = state("times");
    let cases: [(&[&str], &str); 4] = [
        (&["--from", "2026-11-30 05:56:00"], "no UTC offset"),
        (&["--from", "2026-13-45T99:00:00Z"], "not a time"),
        (&["--to", "yesterday"], "not a time"),
        (
            &[
                "--from",
                "2026-11-30T06:00:00Z",
                "--to",
                "2026-11-30T05:00:00Z",
            ],
            "--from is after --to",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["query", "--entity", "x"];
        all.extend_from_slice(args);
        fails_with(&run(&dir, &all), needle);
    }
    fails_with(&run(&dir, &["watch", "--interval", "0"]), "--interval");
    fails_with(&run(&dir, &["send", "--count", "0"]), "--count");
}

/// `send --aws-stream` with the local stack's exports (or a Kinesis-only endpoint) still
/// set would send to this machine: refused, before anything is sent, naming the endpoint.
#[test]
fn send_to_aws_refuses_an_emulator_endpoint_left_in_the_environment() {
    let dir = state("aws-stream");
    for (var, endpoint) in [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_KINESIS", "http://localhost:9"),
    ] {
        let mut c = local(&dir, &["send", "--aws-stream", "s", "--count", "1"]);
        c.env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ENDPOINT_URL_KINESIS")
            .env(var, endpoint)
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
        let out = output(c);
        fails_with(
            &out,
            &format!("--aws-stream sends to AWS, but the Kinesis endpoint is {endpoint}"),
        );
    }
}

/// A running `up` in the background, stopped with SIGINT like Ctrl-C.
struct Up(Child);

impl Up {
    fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("state dir");
        let out = std::fs::File::create(dir.join("up.out")).expect("up.out");
        let err = std::fs::File::create(dir.join("up.err")).expect("up.err");
        let child = local(dir, &["up", "--demo", "0", "--release", "--skip-build"])
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("up starts");
        let started = Instant::now();
        while !run(dir, &["status", "--json"]).status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "up never came up:\n{}",
                std::fs::read_to_string(dir.join("up.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        Self(child)
    }

    /// Ctrl-C, and the process ends (checked: within 60 s).
    fn interrupt(mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let started = Instant::now();
        while self.0.try_wait().ok().flatten().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "up ignored Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Up {
    /// A failing test does not leave its stack running.
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[track_caller]
fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("JSON output")
}

/// Puts one record that is not JSON on the stack's stream.
/// The running stack's endpoint, region and outputs, from its state file.
fn stack_of(dir: &Path) -> (String, String, serde_json::Value) {
    let text = std::fs::read_to_string(dir.join("dev/stack.json")).expect("state");
    let state: serde_json::Value = serde_json::from_str(&text).expect("state json");
    (
        state["endpoint"].as_str().expect("endpoint").to_owned(),
        state["deployed"]["region"]
            .as_str()
            .expect("region")
            .to_owned(),
        state["deployed"]["outputs"].clone(),
    )
}

fn put_garbage(dir: &Path) {
    let (endpoint, region, outputs) = stack_of(dir);
    let stream = outputs["DataStreamName"]
        .as_str()
        .expect("stream")
        .to_owned();
    tokio::runtime::Runtime::new().expect("rt").block_on(async {
        let c = local::clients::Clients::local(&endpoint, &region).await;
        c.kinesis
            .put_record()
            .stream_name(&stream)
            .partition_key("bad")
            .data(aws_sdk_kinesis::primitives::Blob::new(
                &b"not json at all"[..],
            ))
            .send()
            .await
            .expect("put");
    });
}

#[test]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
fn a_running_stack_is_one_per_name_scriptable_and_shows_its_rejects() {
    let dir = state("running");
    let up = Up::start(&dir);

    let second = run(&dir, &["up", "--release", "--skip-build"]);
    fails_with(&second, "is already running (pid");
    fails_with(&second, "http://127.0.0.1:");

    assert!(
        run(&dir, &["send", "--count", "40", "--rate", "0"])
            .status
            .success()
    );
    put_garbage(&dir);
    let started = Instant::now();
    let report = loop {
        let r = json(&run(&dir, &["status", "--json"]));
        if r["function"]["counted"] == 40 && r["function"]["rejected"] == 1 {
            break r;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{r:#}");
        std::thread::sleep(Duration::from_millis(500));
    };
    for key in [
        "mapping",
        "function",
        "failed_batches_waiting",
        "alarms",
        "latest",
    ] {
        assert!(
            !report[key].is_null(),
            "status --json has {key}: {report:#}"
        );
    }
    assert_eq!(report["failed_batches_waiting"], 0);

    let rejected = json(&run(&dir, &["rejected", "--json"]));
    assert_eq!(rejected.as_array().map(Vec::len), Some(1), "{rejected:#}");
    let reason = rejected[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("not valid JSON"), "{rejected:#}");
    assert_eq!(rejected[0]["data"], "not json at all");

    // Every window of one entity; then from and to a time inside the first window, as
    // epoch seconds and with an offset: that window only.
    let entity = report["latest"][0]["entity"]
        .as_str()
        .expect("entity")
        .to_owned();
    let all = json(&run(&dir, &["query", "--entity", &entity, "--json"]));
    let windows: Vec<String> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["window"].as_str().expect("window").to_owned())
        .collect();
    assert!(!windows.is_empty());
    let first = chrono::DateTime::parse_from_rfc3339(&windows[0]).expect("window time");
    let inside = first + chrono::Duration::seconds(30);
    let epoch = inside.timestamp().to_string();
    let offset = inside
        .with_timezone(&chrono::FixedOffset::east_opt(3600).expect("tz"))
        .to_rfc3339();
    for from in [epoch.as_str(), offset.as_str()] {
        let args = [
            "query", "--entity", &entity, "--from", from, "--to", from, "--json",
        ];
        let got = json(&run(&dir, &args));
        assert_eq!(
            got.as_array().map(Vec::len),
            Some(1),
            "from {from}: {got:#}"
        );
        assert_eq!(got[0]["window"], windows[0].as_str());
    }
    let none = run(&dir, &["query", "--entity", "nobody"]);
    assert!(String::from_utf8_lossy(&none.stdout).contains("no aggregates for entity"));

    // `watch` without a terminal: plain reports, no escape codes, not one per tick.
    // Waits for the first report (an event, however slow the machine), then lets three
    // ticks pass: a slower machine only means fewer ticks, never a failure.
    let mut watch = local(&dir, &["watch", "--interval", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("watch");
    let stdout = watch.stdout.take().expect("stdout");
    let (first, lines) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if line.contains("stack dev") {
                let _ = first.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    lines
        .recv_timeout(Duration::from_secs(120))
        .expect("a first report within two minutes");
    std::thread::sleep(Duration::from_secs(3));
    let _ = Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status();
    let _ = watch.wait();
    let text = reader.join().expect("reader");
    assert!(text.contains("stack dev"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "escape codes without a terminal: {text:?}"
    );
    assert!(
        text.matches("stack dev").count() < 4,
        "a report per tick: {text}"
    );

    readme::aws_cli_lines_work(&dir);

    // `env` prints the exports again (kept in the state folder) for `eval "$(… env)"`.
    let env = run(&dir, &["env"]);
    assert!(env.status.success(), "{}", stderr(&env));
    let printed = String::from_utf8_lossy(&env.stdout).into_owned();
    let kept = std::fs::read_to_string(dir.join("dev/exports.sh")).expect("exports.sh");
    assert!(printed.starts_with(&kept), "{printed}\n---\n{kept}");
    assert!(
        printed.contains("# DataStreamName realtime-data-stream-dev"),
        "{printed}"
    );
    let evaluated = Command::new("bash")
        .arg("-c")
        .arg("eval \"$(cat)\"; echo \"$AWS_ENDPOINT_URL\"")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(printed.as_bytes())?;
            c.wait_with_output()
        })
        .expect("bash");
    assert!(
        String::from_utf8_lossy(&evaluated.stdout).starts_with("http://127.0.0.1:"),
        "{evaluated:?}"
    );

    // `logs`: one line per event, EMF folded to its values, `--since` for the local stack.
    let logs = run(&dir, &["logs", "--since", "10m", "--lines", "500"]);
    let text = String::from_utf8_lossy(&logs.stdout);
    assert!(logs.status.success(), "{}", stderr(&logs));
    assert!(text.contains("batch processed"), "{text}");
    assert!(text.contains(" EMF RecordsProcessed="), "{text}");
    assert!(text.lines().all(|l| !l.contains("\"_aws\"")), "{text}");

    up.interrupt();
    fails_with(&run(&dir, &["status"]), "has stopped");
}

/// The process-level benchmark runs both handlers to the end on a tiny workload and reports
/// what each did: one archive object per batch, one table write per (entity, minute) item
/// (20 per batch of 100). No timing is asserted: the numbers go to BENCHMARKS.md.
#[test]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
fn bench_process_runs_the_bootstrap_and_the_python_reference() {
    let dir = state("bench-process");
    let o = run(
        &dir,
        &[
            "bench-process",
            "--batches",
            "2",
            "--runs",
            "1",
            "--skip-build",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = json(&o);
    let rows = rows.as_array().expect("a list of measurements");
    let by = |name: &str| {
        rows.iter()
            .find(|r| r["implementation"] == name)
            .unwrap_or_else(|| panic!("no {name} row in {rows:?}"))
    };
    for (name, write) in [
        ("Rust", "dynamodb:PutItem"),
        ("Python", "dynamodb:UpdateItem"),
    ] {
        let r = by(name);
        assert_eq!(r["records"], 200, "{name}");
        assert_eq!(r["requests_per_1000"]["s3:PutObject"], 10.0, "{name}");
        assert_eq!(r["requests_per_1000"][write], 200.0, "{name}");
        assert!(r["peak_rss_mib"].as_f64().unwrap_or(0.0) > 0.0, "{name}");
        assert!(
            r["s3_bytes_per_1000"].as_f64().unwrap_or(0.0) > 0.0,
            "{name}"
        );
        assert!(
            r["dynamodb_bytes_per_1000"].as_f64().unwrap_or(0.0) > 0.0,
            "{name}"
        );
    }
}

/// The end-to-end benchmark runs a short rate to the end: every record put is counted by
/// the function, and every probe (one a second) became visible. No timing is asserted.
#[test]
#[ignore = "end-to-end tier (emulator): `cargo xtask ci`, or `cargo test -- --ignored`"]
fn bench_counts_every_record_and_sees_every_probe() {
    let dir = state("bench");
    let o = run(
        &dir,
        &[
            "bench",
            "--rates",
            "100",
            "--secs",
            "3",
            "--skip-build",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = json(&o);
    let rows = rows.as_array().expect("a list of rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["offered"], 100);
    assert_eq!(r["records"], 300);
    assert_eq!(r["retried_entries"], 0);
    for key in ["latency_median", "latency_max"] {
        // An unseen probe is infinite, which JSON writes as null.
        assert!(r[key].as_f64().is_some_and(f64::is_finite), "{key}: {r}");
    }
    // A few probes: no 99th percentile is claimed.
    assert!(
        r["probes"].as_u64().is_some_and(|n| n > 0 && n < 100),
        "{r}"
    );
    assert!(r["latency_p99"].is_null(), "{r}");
}

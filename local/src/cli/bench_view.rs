//! `bench-process`'s table: one line per run and handler, then the ratios with their targets.

use crate::bench_process::{Implementation, Measurement, spread};

/// A figure compared between the handlers: name, how to read it, the target ratio.
type Figure = (&'static str, fn(&Measurement) -> f64, &'static str);

/// The measurements as a table: one line per run and implementation, then min / median /
/// max of each figure and of the Rust ÷ Python ratios (per run) with the targets.
pub fn table(rows: &[Measurement]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<4} {:<7} {:>8} {:>8} {:>10} {:>7} {:>9} {:>7}  requests / 1000 records; bytes / 1000 records",
        "run", "handler", "init ms", "init CPU", "CPU s/1k", "kernel", "RSS MiB", "wall s"
    );
    for m in rows {
        let reqs: Vec<String> = m
            .requests_per_1000
            .iter()
            .map(|(k, v)| format!("{k} {v:.1}"))
            .collect();
        let _ = writeln!(
            out,
            "{:<4} {:<7} {:>8.1} {:>8.0} {:>10.4} {:>6.0}% {:>9.1} {:>7.1}  {}; S3 {:.0} B, DynamoDB {:.0} B",
            m.run,
            format!("{:?}", m.implementation),
            m.init_ms,
            m.init_cpu_ms,
            m.cpu_s_per_1000,
            m.system_share * 100.0,
            m.peak_rss_mib,
            m.wall_s,
            reqs.join(", "),
            m.s3_bytes_per_1000,
            m.dynamodb_bytes_per_1000
        );
    }
    let of = |i: Implementation, f: fn(&Measurement) -> f64| -> Vec<f64> {
        rows.iter()
            .filter(|m| m.implementation == i)
            .map(f)
            .collect()
    };
    let ratio = |f: fn(&Measurement) -> f64| -> Vec<f64> {
        let rust = of(Implementation::Rust, f);
        let python = of(Implementation::Python, f);
        rust.iter()
            .zip(&python)
            .map(|(r, p)| if *p > 0.0 { r / p } else { f64::NAN })
            .collect()
    };
    let figures: [Figure; 3] = [
        ("CPU per record", |m| m.cpu_s_per_1000, "≤ 0.100"),
        ("peak RSS", |m| m.peak_rss_mib, "≤ 0.333"),
        ("init", |m| m.init_ms, "≤ 0.100"),
    ];
    let _ = writeln!(out, "\nRust ÷ Python, per run: min / median / max (target)");
    for (name, f, target) in figures {
        let (lo, mid, hi) = spread(ratio(f));
        let _ = writeln!(out, "{name:<15} {lo:.3} / {mid:.3} / {hi:.3}  ({target})");
    }
    out
}

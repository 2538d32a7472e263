//! README's Python decoder of a metric's quantile sketch reads what the function writes:
//! its quantiles equal `function::sketch`'s for a known and a signed, spread distribution.

use function::sketch::{Accuracy, Sketch};

/// The ```python block after README's `<!-- sketch-decoder -->` marker.
fn decoder() -> String {
    let readme = std::fs::read_to_string(local::repo_root().join("README.md")).expect("README");
    let (_, after) = readme
        .split_once("<!-- sketch-decoder -->\n```python\n")
        .expect("README has the decoder block");
    after
        .split_once("```")
        .expect("the block ends")
        .0
        .to_owned()
}

#[test]
fn readmes_python_decoder_reads_the_sketches_the_function_writes() {
    let mut known = Sketch::new(Accuracy::DEFAULT);
    (1..=1000).for_each(|v| known.add(f64::from(v)));
    let mut spread = Sketch::new(Accuracy::per_mille(2).expect("0.2 %"));
    for v in [-1e12, -3.25, -0.001, 0.0, 0.0, 1e-6, 2.5, 2.5, 19.75, 4e9] {
        spread.add(v);
    }
    let quantiles = [0.0, 0.1, 0.5, 0.95, 0.99, 1.0];
    for s in [known, spread] {
        let hex: String = s.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let script = format!(
            "{}\nfor q in {quantiles:?}:\n    print(repr(quantile(bytes.fromhex('{hex}'), q)))\n",
            decoder()
        );
        let out = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.parse().expect("a number"))
            .collect();
        let want: Vec<f64> = quantiles
            .iter()
            .map(|q| s.quantile(*q).expect("q"))
            .collect();
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
        assert_eq!(got.len(), want.len());
    }
}

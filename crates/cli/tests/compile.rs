//! `cryptflow compile`: the .cfp artifact runs like the ONNX model it came from, and
//! `--scale auto` sweeps scales on calibration data.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn models() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
}

fn cryptflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cryptflow"))
        .args(args)
        .output()
        .expect("cryptflow runs")
}

fn text(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

#[test]
fn a_compiled_model_runs_like_its_onnx() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfp = dir.path().join("lenet.cfp");
    let lenet = models().join("lenet.onnx");
    let report = json(&cryptflow(&[
        "compile",
        text(&lenet),
        "-o",
        text(&cfp),
        "--json",
    ]));
    assert_eq!(report["scale"], 12);
    assert_eq!(report["nodes"], 8);
    let peak = &report["peak_activation_mib"];
    assert!(peak["with_liveness"].as_f64() < peak["without_liveness"].as_f64());
    assert!(report["compile_s"].as_f64().expect("seconds") > 0.0);

    let digit = models().join("digits/digit_4.npy");
    let from_cfp = json(&cryptflow(&[
        "infer",
        text(&cfp),
        "--input",
        text(&digit),
        "--json",
    ]));
    let from_onnx = json(&cryptflow(&[
        "plain",
        text(&lenet),
        "--input",
        text(&digit),
        "--json",
    ]));
    assert_eq!(from_cfp["top1"], 4);
    assert_eq!(from_cfp["top1"], from_onnx["top1"]);
    let a = from_cfp["output"].as_array().expect("output");
    let b = from_onnx["output"].as_array().expect("output");
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.as_f64().expect("number"), y.as_f64().expect("number"));
        assert!((x - y).abs() < 1e-2, "{x} vs {y}");
    }
}

#[test]
fn a_corrupt_compiled_model_says_to_compile_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfp = dir.path().join("lenet.cfp");
    json(&cryptflow(&[
        "compile",
        text(&models().join("lenet.onnx")),
        "-o",
        text(&cfp),
        "--json",
    ]));
    let bytes = std::fs::read(&cfp).expect("written");
    std::fs::write(&cfp, &bytes[..bytes.len() / 2]).expect("rewritten");
    let out = cryptflow(&[
        "plain",
        text(&cfp),
        "--input",
        text(&models().join("digits/digit_4.npy")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("compile the model again"), "{stderr}");
}

#[test]
fn auto_scale_sweeps_on_calibration_inputs_and_rejects_overflow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let calibration = digits_calibration(dir.path());
    let cfp = dir.path().join("lenet.cfp");
    let out = cryptflow(&[
        "compile",
        text(&models().join("lenet.onnx")),
        "-o",
        text(&cfp),
        "--scale",
        "auto",
        "--calibrate",
        text(&calibration),
        "--json",
    ]);
    let report = json(&out);
    let table = String::from_utf8_lossy(&out.stderr);
    let chosen: Vec<&str> = table.lines().filter(|l| l.ends_with("<- chosen")).collect();
    assert_eq!(chosen.len(), 1, "{table}");
    let scale = report["scale"].as_u64().expect("scale");
    assert!(
        chosen[0].trim_start().starts_with(&scale.to_string()),
        "{table}"
    );
    // The largest scales put values too close to 2^64 for LeNet's activations.
    assert!(table.lines().any(|l| l.ends_with("overflows")), "{table}");
    assert!((8..=20).contains(&scale));
}

/// Copies six digits into `dir/calibration`.
fn digits_calibration(dir: &Path) -> PathBuf {
    let calibration = dir.join("calibration");
    std::fs::create_dir(&calibration).expect("mkdir");
    for d in [0, 1, 2, 3, 5, 8] {
        std::fs::copy(
            models().join(format!("digits/digit_{d}.npy")),
            calibration.join(format!("{d}.npy")),
        )
        .expect("copy");
    }
    calibration
}

/// The steps per comparison width of a compile report.
fn widths(report: &Value) -> Vec<(u64, u64)> {
    report["comparison_bits"]
        .as_array()
        .expect("comparison_bits")
        .iter()
        .map(|c| {
            (
                c["bits"].as_u64().expect("bits"),
                c["steps"].as_u64().expect("steps"),
            )
        })
        .collect()
}

#[test]
fn calibration_narrows_the_comparisons_and_the_run_agrees_with_fewer_rounds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let calibration = digits_calibration(dir.path());
    let lenet = models().join("lenet.onnx");
    let compile = |out: &Path, extra: &[&str]| {
        let mut args = vec!["compile", text(&lenet), "-o", text(out), "--json"];
        args.extend_from_slice(extra);
        json(&cryptflow(&args))
    };
    let (exact, narrow) = (dir.path().join("exact.cfp"), dir.path().join("narrow.cfp"));
    // LeNet as exported here compares in three steps.
    assert_eq!(widths(&compile(&exact, &[])), [(64, 3)]);
    let opted_out = compile(
        &exact,
        &["--calibrate", text(&calibration), "--exact-comparisons"],
    );
    assert_eq!(widths(&opted_out), [(64, 3)]);
    let narrowed = widths(&compile(&narrow, &["--calibrate", text(&calibration)]));
    assert_eq!(
        narrowed.iter().map(|(_, n)| n).sum::<u64>(),
        3,
        "{narrowed:?}"
    );
    assert!(narrowed.iter().all(|(bits, _)| *bits < 64), "{narrowed:?}");

    let digit = models().join("digits/digit_4.npy");
    let infer = |model: &Path| {
        json(&cryptflow(&[
            "infer",
            text(model),
            "--input",
            text(&digit),
            "--json",
        ]))
    };
    let (wide, thin) = (infer(&exact), infer(&narrow));
    assert_eq!(wide["top1"], thin["top1"]);
    assert!(
        thin["rounds"].as_u64() < wide["rounds"].as_u64(),
        "{thin} vs {wide}"
    );
    let total = |r: &Value| -> u64 {
        r["bytes_sent"]
            .as_array()
            .expect("bytes")
            .iter()
            .filter_map(Value::as_u64)
            .sum()
    };
    assert!(total(&thin) < total(&wide), "{thin} vs {wide}");
}

#[test]
fn comparison_widths_need_the_onnx_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let calibration = digits_calibration(dir.path());
    let cfp = dir.path().join("lenet.cfp");
    let lenet = models().join("lenet.onnx");
    json(&cryptflow(&[
        "compile",
        text(&lenet),
        "-o",
        text(&cfp),
        "--json",
    ]));
    let out = cryptflow(&[
        "compile",
        text(&cfp),
        "-o",
        text(&dir.path().join("again.cfp")),
        "--calibrate",
        text(&calibration),
    ]);
    assert!(!out.status.success());
}

//! The ONNX backend test data shipped in the `onnx` wheel, replayed through the real
//! `cryptflow` binary: `cryptflow plain` for every case and `cryptflow infer` (three
//! parties over TCP) for the cases marked secure, each compared with onnxruntime.
//!
//! `scripts/backend_suite.py` (run by `scripts/prepare_test_models.sh`) prepares the
//! cases in `target/backend/<case>/`: `model.onnx`, `input.npy`, `expected.npy`
//! (onnxruntime's output) and `case.json` (`source`, `secure`, `tolerance`).
//!
//! A case passes when the output has the expected shape, when
//! max |ours − expected| / max(max |expected|, 1) is within the case's tolerance, and,
//! for classifier-like outputs (last non-unit dimension ≥ 10), when every row has the
//! expected arg max (unless that row's top two expected values are closer than the
//! tolerance, where either answer is within the accepted error).
//!
//! The lists below keep the suite honest: a case that cryptflow rejects must be in
//! [`SKIPS`] (documented in `crates/cli/tests/backend_skips.md`), a case that gives wrong
//! numbers or crashes must be in [`KNOWN_BUGS`], and an entry of either list that now
//! works fails the test so that it gets removed.

mod common;

use common::{Finished, Running};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Cases that cryptflow rejects (exit code 2), with a fragment of the error message
/// that says why. The fragment must appear in the error, so a case rejected for a new
/// reason fails. Grouped and explained in `backend_skips.md`.
#[rustfmt::skip]
const SKIPS: &[(&str, &str)] = &[
    // A batch of several inputs: cryptflow compiles for batch 1. The `_batch1` variant of
    // each of these cases runs its first item.
    ("test_AvgPool1d", "batch size 2 is not supported"),
    ("test_AvgPool1d_stride", "batch size 2 is not supported"),
    ("test_AvgPool2d", "batch size 2 is not supported"),
    ("test_AvgPool2d_stride", "batch size 2 is not supported"),
    ("test_BatchNorm1d_3d_input_eval", "batch size 4 is not supported"),
    ("test_BatchNorm2d_eval", "batch size 2 is not supported"),
    ("test_BatchNorm2d_momentum_eval", "batch size 2 is not supported"),
    ("test_BatchNorm3d_eval", "batch size 2 is not supported"),
    ("test_BatchNorm3d_momentum_eval", "batch size 2 is not supported"),
    ("test_ConstantPad2d", "batch size 2 is not supported"),
    ("test_Conv1d", "batch size 2 is not supported"),
    ("test_Conv1d_dilated", "batch size 2 is not supported"),
    ("test_Conv1d_groups", "batch size 2 is not supported"),
    ("test_Conv1d_pad1", "batch size 2 is not supported"),
    ("test_Conv1d_pad2", "batch size 2 is not supported"),
    ("test_Conv1d_stride", "batch size 2 is not supported"),
    ("test_Conv2d", "batch size 2 is not supported"),
    ("test_Conv2d_depthwise", "batch size 2 is not supported"),
    ("test_Conv2d_depthwise_padded", "batch size 2 is not supported"),
    ("test_Conv2d_depthwise_strided", "batch size 2 is not supported"),
    ("test_Conv2d_depthwise_with_multiplier", "batch size 2 is not supported"),
    ("test_Conv2d_dilated", "batch size 2 is not supported"),
    ("test_Conv2d_groups", "batch size 2 is not supported"),
    ("test_Conv2d_groups_thnn", "batch size 2 is not supported"),
    ("test_Conv2d_no_bias", "batch size 2 is not supported"),
    ("test_Conv2d_padding", "batch size 2 is not supported"),
    ("test_Conv2d_strided", "batch size 2 is not supported"),
    ("test_LeakyReLU", "batch size 3 is not supported"),
    ("test_LeakyReLU_with_negval", "batch size 3 is not supported"),
    ("test_Linear", "batch size 4 is not supported"),
    ("test_Linear_no_bias", "batch size 4 is not supported"),
    ("test_MaxPool1d", "batch size 2 is not supported"),
    ("test_MaxPool1d_stride", "batch size 2 is not supported"),
    ("test_PReLU_1d", "batch size 2 is not supported"),
    ("test_PReLU_2d", "batch size 2 is not supported"),
    ("test_PReLU_3d", "batch size 2 is not supported"),
    ("test_ReLU", "batch size 2 is not supported"),
    ("test_Softmax", "batch size 10 is not supported"),
    ("test_Softmin", "batch size 10 is not supported"),
    ("test_ZeroPad2d", "batch size 2 is not supported"),
    ("test_operator_clip", "batch size 3 is not supported"),
    ("test_operator_conv", "batch size 20 is not supported"),
    ("test_operator_maxpool", "batch size 20 is not supported"),
    ("test_softmax_functional_dim3", "batch size 2 is not supported"),
    ("test_softmax_lastdim", "batch size 2 is not supported"),
    // Operators the importer has no builder for.
    ("test_Softsign", "uses operator `Abs`"),
    ("test_Softsign_batch1", "uses operator `Abs`"),
    ("test_ConvTranspose2d", "uses operator `ConvTranspose`"),
    ("test_ConvTranspose2d_no_bias", "uses operator `ConvTranspose`"),
    ("test_operator_convtranspose", "uses operator `ConvTranspose`"),
    ("test_operator_convtranspose_batch1", "uses operator `ConvTranspose`"),
    ("test_ELU", "uses operator `Elu`"),
    ("test_ELU_batch1", "uses operator `Elu`"),
    ("test_PoissonNLLLLoss_no_reduce", "uses operator `Exp`"),
    ("test_operator_exp", "uses operator `Exp`"),
    ("test_operator_exp_batch1", "uses operator `Exp`"),
    ("test_operator_symbolic_override", "uses operator `InstanceNormalization`"),
    ("test_operator_symbolic_override_batch1", "uses operator `InstanceNormalization`"),
    ("test_LogSoftmax", "uses operator `LogSoftmax`"),
    ("test_LogSoftmax_batch1", "uses operator `LogSoftmax`"),
    ("test_log_softmax_dim3", "uses operator `LogSoftmax`"),
    ("test_log_softmax_dim3_batch1", "uses operator `LogSoftmax`"),
    ("test_log_softmax_lastdim", "uses operator `LogSoftmax`"),
    ("test_log_softmax_lastdim_batch1", "uses operator `LogSoftmax`"),
    ("test_SELU", "uses operator `Selu`"),
    ("test_SELU_batch1", "uses operator `Selu`"),
    ("test_operator_selu", "uses operator `Selu`"),
    ("test_shrink", "uses operator `Shrink`"),
    ("test_sign_model", "uses operator `Sign`"),
    ("test_GLU", "uses operator `Split`"),
    ("test_GLU_batch1", "uses operator `Split`"),
    ("test_GLU_dim", "uses operator `Split`"),
    ("test_GLU_dim_batch1", "uses operator `Split`"),
    ("test_operator_repeat", "uses operator `Tile`"),
    ("test_operator_repeat_dim_overflow", "uses operator `Tile`"),
    // 3-D convolutions: 1-D and 2-D ones are supported.
    ("test_Conv3d", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_batch1", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_dilated", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_dilated_batch1", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_dilated_strided", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_dilated_strided_batch1", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_groups", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_groups_batch1", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_no_bias", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_no_bias_batch1", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_stride", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_stride_batch1", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_stride_padding", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_Conv3d_stride_padding_batch1", "only 1-D and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"),
    // 3-D pooling.
    ("test_AvgPool3d", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_AvgPool3d_batch1", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_AvgPool3d_stride", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_AvgPool3d_stride1_pad0_gpu_input", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_AvgPool3d_stride1_pad0_gpu_input_batch1", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_AvgPool3d_stride_batch1", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_MaxPool3d", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_MaxPool3d_batch1", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_MaxPool3d_stride", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_MaxPool3d_stride_batch1", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_MaxPool3d_stride_padding", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    ("test_MaxPool3d_stride_padding_batch1", "only 1-D and 2-D pooling over NCL / NCHW inputs is supported (this one is 3-D)"),
    // Pooling with dilations.
    ("test_MaxPool1d_stride_padding_dilation", "pooling with dilations other than 1 is not supported"),
    ("test_MaxPool2d_stride_padding_dilation", "pooling with dilations other than 1 is not supported"),
    // Reflect and edge padding: only constant padding is supported.
    ("test_ReplicationPad2d", "attribute `mode` = edge is not supported"),
    ("test_ReplicationPad2d_batch1", "attribute `mode` = edge is not supported"),
    ("test_ReflectionPad2d", "attribute `mode` = reflect is not supported"),
    ("test_ReflectionPad2d_batch1", "attribute `mode` = reflect is not supported"),
    ("test_operator_pad", "attribute `mode` = reflect is not supported"),
    // -sigmoid(tanh(x · (x + w))): every operator is supported; its input is a batch.
    ("test_operator_params", "batch size 2 is not supported"),
    ("test_Sigmoid", "batch size 2 is not supported"),
    ("test_Softplus", "batch size 10 is not supported"),
    ("test_Tanh", "batch size 2 is not supported"),
    // nn.Linear without bias exports Transpose(W) -> MatMul; the constant Transpose is
    // not folded (fold.rs evaluates only Identity, Cast, Shape, ConstantOfShape, the
    // arithmetic ops, Squeeze/Unsqueeze, Gather and Concat), so lowering finds a constant
    // where it expects an activation.
];

/// Cases that import and compile but give wrong numbers, crash, or fail to run; each
/// with a short diagnosis (the full reports are in `backend_skips.md`).
const KNOWN_BUGS: &[(&str, &str)] = &[];

/// Longest a single `cryptflow plain` or `cryptflow infer` may take (vgg19 in the clear,
/// 20 GMACs over 64-bit integers, takes about 20 s on the 2-core machine).
const TIME_LIMIT: Duration = Duration::from_secs(120);

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[derive(Debug)]
struct Case {
    name: String,
    source: String,
    secure: bool,
    tolerance: f64,
}

fn load_index(dir: &Path) -> Vec<Case> {
    let path = dir.join("index.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run scripts/prepare_test_models.sh",
            path.display()
        )
    });
    let index: Value = serde_json::from_str(&text).expect("index.json is JSON");
    index["cases"]
        .as_array()
        .expect("index.json lists cases")
        .iter()
        .map(|case| Case {
            name: case["name"].as_str().expect("case name").to_owned(),
            source: case["source"].as_str().expect("case source").to_owned(),
            secure: case["secure"].as_bool().expect("case secure flag"),
            tolerance: case["tolerance"].as_f64().expect("case tolerance"),
        })
        .collect()
}

/// What one backend did with one case.
#[derive(Debug)]
enum Outcome {
    /// Within tolerance; the relative error.
    Passed(f64),
    /// Exit code 2 with a clean error: the model is not supported.
    Rejected(String),
    /// Wrong numbers, a wrong shape, a panic or a failed run.
    Failed(String),
}

#[derive(Debug)]
struct Report {
    plain: Outcome,
    secure: Option<Outcome>,
    elapsed: Duration,
}

impl Report {
    fn rejection(&self) -> Option<&str> {
        match (&self.plain, &self.secure) {
            (Outcome::Rejected(why), _) | (_, Some(Outcome::Rejected(why))) => Some(why),
            _ => None,
        }
    }

    fn failure(&self) -> Option<String> {
        let mut failures = Vec::new();
        if let Outcome::Failed(why) = &self.plain {
            failures.push(format!("plain: {why}"));
        }
        if let Some(Outcome::Failed(why)) = &self.secure {
            failures.push(format!("secure: {why}"));
        }
        (!failures.is_empty()).then(|| failures.join("; "))
    }
}

struct Expected {
    shape: Vec<usize>,
    values: Vec<f32>,
}

fn read_expected(path: &Path) -> Expected {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("expected.npy is a .npy file");
    let shape = npy.shape().iter().map(|&d| d as usize).collect();
    let values = npy.into_vec::<f32>().expect("expected.npy holds float32");
    Expected { shape, values }
}

fn run(args: &[&str]) -> Finished {
    Running::start(&format!("cryptflow {}", args.join(" ")), args).finish_within(TIME_LIMIT)
}

/// Runs `cryptflow COMMAND model --input x --json` and compares with the expectation.
fn check(command: &str, dir: &Path, case: &Case, expected: &Expected) -> Outcome {
    let model = dir.join("model.onnx");
    let input = dir.join("input.npy");
    let outcome = run(&[
        command,
        model.to_str().expect("utf-8 path"),
        "--input",
        input.to_str().expect("utf-8 path"),
        "--json",
    ]);
    let first_line = |text: &str| text.lines().next().unwrap_or("").to_owned();
    if outcome.stderr.contains("panicked") {
        return Outcome::Failed(format!("panicked: {}", outcome.stderr.trim()));
    }
    match outcome.code() {
        Some(0) => {}
        Some(2) if outcome.stderr.starts_with("error: ") => {
            return Outcome::Rejected(first_line(&outcome.stderr))
        }
        code => {
            return Outcome::Failed(format!(
                "exit code {code:?}: {}",
                first_line(&outcome.stderr)
            ))
        }
    }
    let json: Value = match serde_json::from_str(outcome.stdout.trim()) {
        Ok(json) => json,
        Err(e) => return Outcome::Failed(format!("stdout is not one JSON object ({e})")),
    };
    let shape: Vec<usize> = json["shape"]
        .as_array()
        .map(|dims| {
            dims.iter()
                .filter_map(Value::as_u64)
                .map(|d| d as usize)
                .collect()
        })
        .unwrap_or_default();
    let ours: Vec<f64> = json["output"]
        .as_array()
        .map(|values| values.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    compare(&shape, &ours, expected, case.tolerance)
}

/// The comparison described in the module documentation.
fn compare(shape: &[usize], ours: &[f64], expected: &Expected, tolerance: f64) -> Outcome {
    if shape != expected.shape.as_slice() || ours.len() != expected.values.len() {
        return Outcome::Failed(format!(
            "shape {shape:?} with {} values, expected {:?}",
            ours.len(),
            expected.shape
        ));
    }
    let theirs: Vec<f64> = expected.values.iter().map(|&v| f64::from(v)).collect();
    let scale = theirs.iter().fold(1f64, |m, v| m.max(v.abs()));
    let (worst, at) =
        ours.iter()
            .zip(&theirs)
            .enumerate()
            .fold((0f64, 0), |(worst, at), (i, (a, b))| {
                let d = (a - b).abs();
                // A NaN must not hide behind max().
                if d > worst || d.is_nan() {
                    (if d.is_nan() { f64::INFINITY } else { d }, i)
                } else {
                    (worst, at)
                }
            });
    let error = worst / scale;
    if error > tolerance {
        return Outcome::Failed(format!(
            "relative error {error:.3e} > {tolerance:.0e}: element {at} is {} instead of {}",
            ours[at], theirs[at]
        ));
    }
    // Classifier-like: the last dimension that is not 1 has at least 10 entries.
    let trimmed: Vec<usize> = {
        let mut dims = shape.to_vec();
        while dims.len() > 1 && dims.last() == Some(&1) {
            dims.pop();
        }
        dims
    };
    let classes = trimmed.last().copied().unwrap_or(0);
    if classes >= 10 {
        for (row, (a, b)) in ours.chunks(classes).zip(theirs.chunks(classes)).enumerate() {
            let (ours_top, theirs_top) = (arg_max(a), arg_max(b));
            let runner_up = b
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != theirs_top)
                .fold(f64::NEG_INFINITY, |m, (_, &v)| m.max(v));
            let margin = (b[theirs_top] - runner_up) / scale;
            if ours_top != theirs_top && margin > tolerance {
                return Outcome::Failed(format!(
                    "row {row}: top-1 {ours_top} instead of {theirs_top} (relative margin {margin:.3e})"
                ));
            }
        }
    }
    Outcome::Passed(error)
}

fn arg_max(values: &[f64]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

fn run_case(root: &Path, case: &Case) -> Report {
    let started = Instant::now();
    let dir = root.join(&case.name);
    let expected = read_expected(&dir.join("expected.npy"));
    let plain = check("plain", &dir, case, &expected);
    let secure = (case.secure && matches!(plain, Outcome::Passed(_) | Outcome::Failed(_)))
        .then(|| check("infer", &dir, case, &expected));
    Report {
        plain,
        secure,
        elapsed: started.elapsed(),
    }
}

/// Runs every case on two worker threads, the slowest (largest model) first.
fn run_all(root: &Path, cases: &[Case]) -> BTreeMap<String, Report> {
    let mut order: Vec<&Case> = cases.iter().collect();
    let size = |case: &Case| {
        std::fs::metadata(root.join(&case.name).join("model.onnx")).map_or(0, |m| m.len())
    };
    order.sort_by_key(|case| std::cmp::Reverse(size(case)));
    let next = AtomicUsize::new(0);
    let reports = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(case) = order.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let report = run_case(root, case);
                    reports
                        .lock()
                        .expect("no worker panicked")
                        .insert(case.name.clone(), report);
                }
            });
        }
    });
    reports.into_inner().expect("no worker panicked")
}

fn show(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Passed(error) => format!("ok {error:.1e}"),
        Outcome::Rejected(_) => "rejected".to_owned(),
        Outcome::Failed(_) => "FAILED".to_owned(),
    }
}

#[test]
fn onnx_backend_cases_match_onnxruntime() {
    let started = Instant::now();
    let root = repo().join("target/backend");
    let cases = load_index(&root);
    assert!(!cases.is_empty(), "index.json lists no cases");
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let skips: BTreeMap<&str, &str> = SKIPS.iter().copied().collect();
    let bugs: BTreeMap<&str, &str> = KNOWN_BUGS.iter().copied().collect();
    assert_eq!(skips.len(), SKIPS.len(), "SKIPS lists a case twice");
    assert_eq!(
        bugs.len(),
        KNOWN_BUGS.len(),
        "KNOWN_BUGS lists a case twice"
    );

    let mut problems = Vec::new();
    for name in skips.keys().chain(bugs.keys()) {
        if !names.contains(name) {
            problems.push(format!("{name}: listed, but not a case in index.json"));
        }
        if skips.contains_key(name) && bugs.contains_key(name) {
            problems.push(format!("{name}: in both SKIPS and KNOWN_BUGS"));
        }
    }

    let reports = run_all(&root, &cases);
    let (mut plain_runs, mut secure_runs) = (0, 0);
    for case in &cases {
        let report = &reports[&case.name];
        println!(
            "{:<48} plain {:<12} secure {:<12} {:>6.2} s  ({})",
            case.name,
            show(&report.plain),
            report.secure.as_ref().map_or("-".to_owned(), show),
            report.elapsed.as_secs_f64(),
            case.source
        );
        plain_runs += usize::from(matches!(report.plain, Outcome::Passed(_)));
        secure_runs += usize::from(matches!(report.secure, Some(Outcome::Passed(_))));
        let name = case.name.as_str();
        match (
            skips.get(name),
            bugs.get(name),
            report.rejection(),
            report.failure(),
        ) {
            (Some(reason), _, Some(error), None) if error.contains(reason) => {}
            (Some(reason), _, Some(error), _) => problems.push(format!(
                "{name}: in SKIPS for {reason:?}, but rejected with: {error}"
            )),
            (Some(reason), _, None, _) => problems.push(format!(
                "{name}: in SKIPS ({reason:?}) but cryptflow now accepts it; remove it from \
                 SKIPS and backend_skips.md ({})",
                report
                    .failure()
                    .unwrap_or_else(|| "and it passes".to_owned())
            )),
            (None, Some(_), None, Some(_)) => {}
            (None, Some(bug), rejected, _) => problems.push(format!(
                "{name}: in KNOWN_BUGS ({bug}) but it {}; update the list and backend_skips.md",
                rejected.map_or("now passes".to_owned(), |e| format!("is now rejected: {e}"))
            )),
            (None, None, Some(error), _) => {
                problems.push(format!("{name}: rejected but not in SKIPS: {error}"))
            }
            (None, None, None, Some(failure)) => problems.push(format!("{name}: {failure}")),
            (None, None, None, None) => {}
        }
    }
    println!(
        "{} cases: {plain_runs} pass in the clear, {secure_runs} pass securely, {} skipped, {} \
         known bugs, in {:.1} s",
        cases.len(),
        skips.len(),
        bugs.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_comparison_catches_wrong_values_a_wrong_top1_and_nan() {
    let tolerance = 2e-2;
    let expected = Expected {
        shape: vec![1, 10],
        values: vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.97, 1.0],
    };
    let exact: Vec<f64> = expected.values.iter().map(|&v| f64::from(v)).collect();
    let passes = |ours: &[f64], shape: &[usize]| {
        matches!(
            compare(shape, ours, &expected, tolerance),
            Outcome::Passed(_)
        )
    };
    assert!(passes(&exact, &[1, 10]));
    assert!(!passes(&exact, &[10]), "a wrong shape");
    let mut off = exact.clone();
    off[2] += 0.03;
    assert!(!passes(&off, &[1, 10]), "an error above the tolerance");
    // Within the tolerance everywhere, but the top-1 moves while the expected margin
    // (0.03) exceeds the tolerance.
    let mut flipped = exact.clone();
    flipped[8] = 0.985;
    flipped[9] = 0.984;
    assert!(!passes(&flipped, &[1, 10]), "a wrong top-1");
    let mut nan = exact.clone();
    nan[3] = f64::NAN;
    assert!(!passes(&nan, &[1, 10]), "a NaN");
}

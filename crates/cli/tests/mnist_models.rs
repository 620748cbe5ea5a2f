//! The four networks of the paper's Table V, trained on real MNIST digits, run
//! securely and compared with onnxruntime (the float reference, via
//! scripts/ort_reference.py; `pip install -r scripts/requirements.txt`).

use cryptflow_ring::Tensor;
use cryptflow_runtime::loopback::run_on_loopback;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const NETS: [&str; 4] = ["logreg", "secureml", "minionn", "lenet"];

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Runs the onnxruntime reference script and parses its JSON.
fn onnxruntime(args: &[&Path]) -> Value {
    let output = Command::new("python3")
        .arg(repo().join("scripts/ort_reference.py"))
        .args(args)
        .output()
        .expect("python3 must be installed");
    assert!(
        output.status.success(),
        "onnxruntime reference failed (pip install -r scripts/requirements.txt): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the reference prints JSON")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

fn load_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).expect("readable");
    npyz::NpyFile::new(&bytes[..])
        .expect("npy")
        .into_vec::<f32>()
        .expect("f32")
}

fn save_f32(path: &Path, shape: &[usize], data: &[f32]) {
    use npyz::WriterBuilder;
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut bytes = Vec::new();
    let mut w = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut bytes)
        .begin_nd()
        .expect("header");
    w.extend(data.iter().copied()).expect("data");
    w.finish().expect("finish");
    std::fs::write(path, bytes).expect("writable temp dir");
}

fn input_shape(net: &str) -> Vec<usize> {
    if net == "logreg" || net == "secureml" {
        vec![1, 784]
    } else {
        vec![1, 1, 28, 28]
    }
}

/// ‖a − b‖∞ / ‖b‖∞: per-element relative error is meaningless for logits near zero.
fn relative_error(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn table_v_nets_over_tcp_match_onnxruntime() {
    let scratch = std::env::temp_dir().join(format!("cryptflow-mnist-test-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("temp dir");
    for net in NETS {
        let model = repo().join(format!("models/{net}.onnx"));
        for digit in [0, 3, 7] {
            let pixels = load_f32(&repo().join(format!("models/digits/digit_{digit}.npy")));
            let input = scratch.join(format!("{net}-{digit}.npy"));
            save_f32(&input, &input_shape(net), &pixels);
            // Three OS processes over TCP on 127.0.0.1.
            let run = Command::new(env!("CARGO_BIN_EXE_cryptflow"))
                .arg("infer")
                .arg(&model)
                .arg("--input")
                .arg(&input)
                .arg("--json")
                .output()
                .expect("cryptflow runs");
            assert!(
                run.status.success(),
                "{net} on digit {digit}: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            let secure: Value =
                serde_json::from_slice(&run.stdout).expect("one JSON object on stdout");
            let reference = onnxruntime(&[&model, &input]);
            assert_eq!(secure["top1"], reference["top1"], "{net} on digit {digit}");
            assert_eq!(secure["shape"], reference["shape"]);
            let err = relative_error(&floats(&secure["output"]), &floats(&reference["output"]));
            assert!(err < 1e-2, "{net} on digit {digit}: relative error {err}");
            let sent = secure["bytes_sent"].as_array().expect("three counters");
            assert!(sent.iter().all(|b| b.as_u64().is_some()));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn lenet_secure_accuracy_matches_float_on_500_real_digits() {
    const N: usize = 500;
    let models = repo().join("models");
    let images_path = models.join("mnist_test_images.npy");
    let bytes = std::fs::read(&images_path).expect("bundled test digits");
    let images = npyz::NpyFile::new(&bytes[..])
        .expect("npy")
        .into_vec::<u8>()
        .expect("uint8 images");
    let bytes = std::fs::read(models.join("mnist_test_labels.npy")).expect("bundled labels");
    let labels = npyz::NpyFile::new(&bytes[..])
        .expect("npy")
        .into_vec::<u8>()
        .expect("uint8 labels");
    assert!(labels.len() >= N);

    let graph = cryptflow_onnx::import_file(&models.join("lenet.onnx")).expect("imports");
    let compiled = cryptflow_compiler::compile(graph, 12).expect("compiles");
    let float_top1: Vec<u64> = onnxruntime(&[
        &models.join("lenet.onnx"),
        Path::new("--batch"),
        &images_path,
    ])["top1"]
        .as_array()
        .expect("top1 list")
        .iter()
        .map(|v| v.as_u64().expect("class"))
        .collect();

    let (mut secure_correct, mut float_correct, mut agree) = (0, 0, 0);
    for i in 0..N {
        let pixels: Vec<f32> = images[i * 784..(i + 1) * 784]
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect();
        let input = Tensor::new(vec![1, 1, 28, 28], pixels).expect("784 pixels");
        let run =
            run_on_loopback(&compiled.program, &compiled.weights, &input).expect("secure run");
        let output = run.prediction.output.data();
        let top1 = output
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |b, (j, &v)| if v > b.1 { (j, v) } else { b })
            .0 as u64;
        secure_correct += usize::from(top1 == u64::from(labels[i]));
        float_correct += usize::from(float_top1[i] == u64::from(labels[i]));
        agree += usize::from(top1 == float_top1[i]);
    }
    let (secure, float) = (
        secure_correct as f64 / N as f64,
        float_correct as f64 / N as f64,
    );
    println!("LeNet on {N} real digits: secure {secure:.3}, float {float:.3}, top-1 agreement {agree}/{N}");
    assert!(
        (secure - float).abs() <= 0.005,
        "secure {secure} vs float {float}"
    );
    assert!(
        float > 0.95,
        "the bundled LeNet should be a trained model, got {float}"
    );
}

//! Imports the ONNX backend test models shipped in the Python `onnx` wheel (folder
//! `backend/test/data`, or `$CRYPTFLOW_ONNX_BACKEND_DATA`). Skipped with a note when
//! neither is there.
//!
//! `cargo test -p cryptflow-onnx --test backend_models -- --ignored --nocapture` prints
//! the whole table: every model and the error of those that do not import.

use cryptflow_ir::Op;
use cryptflow_onnx::{import_file, ImportError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The backend test data folder, if there is one.
fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CRYPTFLOW_ONNX_BACKEND_DATA") {
        return Some(dir.into());
    }
    let output = Command::new("python3")
        .args([
            "-c",
            "import onnx, os; print(os.path.dirname(onnx.__file__))",
        ])
        .output()
        .ok()?;
    let package = String::from_utf8(output.stdout).ok()?;
    let dir = Path::new(package.trim()).join("backend/test/data");
    (output.status.success() && dir.is_dir()).then_some(dir)
}

/// (table name, path) of every model: `light/*.onnx` and `<suite>/<test>/model.onnx`.
fn models(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let light = std::fs::read_dir(dir.join("light")).into_iter().flatten();
    for entry in light.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "onnx") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            found.push((format!("light/{stem}"), path));
        }
    }
    for suite in ["pytorch-converted", "pytorch-operator", "simple", "node"] {
        let tests = std::fs::read_dir(dir.join(suite)).into_iter().flatten();
        for entry in tests.flatten() {
            let path = entry.path().join("model.onnx");
            if path.is_file() {
                let test = entry.file_name().to_string_lossy().into_owned();
                found.push((format!("{suite}/{test}"), path));
            }
        }
    }
    found.sort();
    found
}

fn import(path: &Path) -> Result<usize, ImportError> {
    let graph = import_file(path)?;
    graph.validate()?;
    Ok(graph.nodes.len())
}

/// The models that must import, by name prefix (pytorch-converted names are prefixes
/// of whole families, e.g. `test_Conv2d` covers `test_Conv2d_strided`).
const MUST_IMPORT: &[&str] = &[
    "light/light_resnet50",
    "light/light_densenet121",
    "light/light_squeezenet",
    "light/light_shufflenet",
    "light/light_vgg19",
    "light/light_inception_v2",
    "pytorch-converted/test_Conv2d",
    "pytorch-converted/test_AvgPool2d",
    "pytorch-converted/test_MaxPool2d",
    "pytorch-converted/test_BatchNorm2d",
    "pytorch-converted/test_Linear",
    "pytorch-converted/test_ReLU",
    "pytorch-converted/test_LeakyReLU",
    "pytorch-converted/test_ConstantPad2d",
    "pytorch-converted/test_ZeroPad2d",
    "pytorch-converted/test_Softmax",
];

/// Within [`MUST_IMPORT`], the ones that must fail, with the attribute or op why.
const EXPECTED_FAILURES: &[(&str, &str)] = &[(
    "pytorch-converted/test_MaxPool2d_stride_padding_dilation",
    "dilations",
)];

#[test]
fn imagenet_and_pytorch_layer_models_import() {
    let Some(dir) = data_dir() else {
        println!("note: no ONNX backend test data (pip install onnx); skipping");
        return;
    };
    let mut checked = 0;
    for (name, path) in models(&dir) {
        if !MUST_IMPORT.iter().any(|prefix| name.starts_with(prefix)) {
            continue;
        }
        checked += 1;
        let result = import(&path);
        match EXPECTED_FAILURES
            .iter()
            .find(|(failing, _)| *failing == name)
        {
            Some((_, attribute)) => assert!(
                matches!(&result, Err(ImportError::UnsupportedAttribute { attribute: a, .. }) if a == attribute),
                "{name}: {result:?}"
            ),
            None => {
                result.unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }
    assert!(checked >= MUST_IMPORT.len(), "only {checked} models found");
}

#[test]
fn light_models_keep_their_input_softmax_and_folded_weights() {
    let Some(dir) = data_dir() else {
        println!("note: no ONNX backend test data (pip install onnx); skipping");
        return;
    };
    // Opset 9, IR 3: every weight comes from a ConstantOfShape of an int64 initializer;
    // the initializers are listed among the graph inputs.
    let graph = import_file(&dir.join("light/light_squeezenet.onnx")).unwrap();
    assert_eq!(graph.name(graph.input), "data_0");
    assert_eq!(graph.shape(graph.input), Some(&[1, 3, 224, 224][..]));
    let last = graph.nodes.last().unwrap();
    // Softmax over [1, 1000, 1, 1] from axis 1 (opset 9): one axis, 1.
    assert_eq!(last.op, Op::Softmax { axis: 1 });
    let weights = graph
        .nodes
        .iter()
        .filter(|node| matches!(node.op, Op::ConstantOfShape { value } if value == 0.02))
        .count();
    assert_eq!(weights, 39);
    assert!(graph
        .constants
        .values()
        .all(|shape| shape.shape().len() == 1));
}

#[test]
fn models_with_lrn_are_unsupported() {
    let Some(dir) = data_dir() else {
        println!("note: no ONNX backend test data (pip install onnx); skipping");
        return;
    };
    for name in ["light_bvlc_alexnet", "light_inception_v1", "light_zfnet512"] {
        let path = dir.join("light").join(format!("{name}.onnx"));
        let err = import(&path).unwrap_err();
        assert!(
            matches!(&err, ImportError::UnsupportedOp { op, .. } if op == "LRN"),
            "{name}: {err}"
        );
    }
}

#[test]
#[ignore = "prints a table of all backend test models; run with --ignored --nocapture"]
fn table_of_all_backend_models() {
    let Some(dir) = data_dir() else {
        println!("note: no ONNX backend test data (pip install onnx); skipping");
        return;
    };
    let (mut imported, mut failed) = (0, 0);
    for (name, path) in models(&dir) {
        match import(&path) {
            Ok(nodes) => {
                imported += 1;
                println!("| {name} | ok | {nodes} nodes |");
            }
            Err(err) => {
                failed += 1;
                let message = err.to_string();
                let short = message.split("; supported operators").next().unwrap_or("");
                println!("| {name} | FAIL | {} |", short.replace('|', "/"));
            }
        }
    }
    println!("{imported} imported, {failed} failed");
}

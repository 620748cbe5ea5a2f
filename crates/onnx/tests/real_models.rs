//! Imports the trained models in `models/` (written by scripts/train_mnist_models.py).
//! A model that is not there yet is skipped with a note, not failed.

use cryptflow_ir::Graph;
use std::path::{Path, PathBuf};

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// The graph of `models/<name>.onnx`, or `None` (with a note) when the file is absent.
fn load(name: &str) -> Option<Graph> {
    let path = models_dir().join(format!("{name}.onnx"));
    if !path.exists() {
        println!(
            "note: {} is absent; skipping (run scripts/train_mnist_models.py)",
            path.display()
        );
        return None;
    }
    let graph =
        cryptflow_onnx::import_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    graph.validate().unwrap();
    Some(graph)
}

fn check(name: &str, input: &[usize], ops: &[&str]) {
    let Some(graph) = load(name) else { return };
    let found: Vec<&str> = graph.nodes.iter().map(|node| node.op.name()).collect();
    assert_eq!(found, ops, "{name}");
    assert_eq!(graph.shape(graph.input), Some(input), "{name}");
    assert_eq!(graph.name(graph.output), "logits", "{name}");
    // Every weight input is a constant with data.
    assert!(graph.constants.values().all(|t| !t.is_empty()), "{name}");
}

#[test]
fn lenet() {
    check(
        "lenet",
        &[1, 1, 28, 28],
        &[
            "Conv", "MaxPool", "Conv", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm",
        ],
    );
}

#[test]
fn minionn() {
    check(
        "minionn",
        &[1, 1, 28, 28],
        &[
            "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm",
        ],
    );
}

#[test]
fn secureml() {
    check(
        "secureml",
        &[1, 784],
        &["Gemm", "Relu", "Gemm", "Relu", "Gemm"],
    );
}

#[test]
fn logreg() {
    check("logreg", &[1, 784], &["Gemm"]);
}

#[test]
fn every_model_in_the_folder_imports() {
    let Ok(entries) = std::fs::read_dir(models_dir()) else {
        println!("note: no models/ folder; skipping");
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "onnx") {
            let graph = cryptflow_onnx::import_file(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            graph.validate().unwrap();
            println!(
                "{}: {} nodes, {} constants",
                path.display(),
                graph.nodes.len(),
                graph.constants.len()
            );
        }
    }
}

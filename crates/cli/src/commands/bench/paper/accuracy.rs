//! Table VI: fixed- against floating-point accuracy, with the scale the sweep chooses
//! on calibration inputs (as Athos does, §III-B). The paper's rows are ResNet50 and
//! DenseNet121 with ImageNet weights on ImageNet's validation set; what this repository
//! bundles as real data is the four MNIST nets (trained) with 1000 test digits and
//! labels, and torchvision's trained MobileNetV2 with a few real photos (no labels:
//! there the fixed point is held to the float's top-1 and top-5).
//!
//! Both columns run in the clear: the float one is the compiled graph over reals
//! (`reference::run`), the fixed one the very program the parties run, on the ring
//! (`plain::run`; the tests check secure runs against it, which differ from it by the
//! share truncation's one unit in the last place).

use crate::report::argmax;
use crate::{inputs, sweep};
use anyhow::{Context, Result};
use cryptflow_ring::{fixed, Tensor};
use cryptflow_runtime::{plain, reference};
use indicatif::ProgressBar;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Serialize)]
pub struct AccuracyRow {
    pub net: String,
    pub data: &'static str,
    pub inputs: usize,
    /// The scale the sweep chose.
    pub scale: u32,
    /// Against the labels, where the data has them.
    pub float_top1: Option<f64>,
    pub fixed_top1: Option<f64>,
    pub float_top5: Option<f64>,
    pub fixed_top5: Option<f64>,
    /// Fraction of inputs whose fixed-point top-1 is the float's.
    pub top1_agreement: f64,
    /// Fraction of inputs whose fixed-point top-5 set is the float's.
    pub top5_agreement: f64,
    /// The largest ‖fixed − float‖∞ / ‖float‖∞ of the outputs (before any Softmax).
    pub max_relative_error: f64,
}

#[derive(Debug, Serialize)]
pub struct PaperAccuracy {
    pub net: &'static str,
    pub float_top1: f64,
    pub fixed_top1: f64,
    pub float_top5: f64,
    pub fixed_top5: f64,
    pub scale: u32,
}

/// The paper's Table VI (ImageNet validation, %).
pub const PAPER_TABLE_VI: [PaperAccuracy; 2] = [
    PaperAccuracy {
        net: "ResNet50",
        float_top1: 76.47,
        fixed_top1: 76.45,
        float_top5: 93.21,
        fixed_top5: 93.23,
        scale: 12,
    },
    PaperAccuracy {
        net: "DenseNet121",
        float_top1: 74.25,
        fixed_top1: 74.33,
        float_top5: 91.88,
        fixed_top5: 91.90,
        scale: 11,
    },
];

/// Digits of the bundled test set that Table VI runs.
const MNIST_TEST_DIGITS: usize = 1000;
const PHOTOS: [&str; 7] = [
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "grace_hopper",
    "motorcycle_left",
    "rocket",
];

pub fn table_vi(target: &Path, progress: &ProgressBar) -> Result<Vec<AccuracyRow>> {
    let models = crate::commands::demo::models_dir()?;
    progress.inc_length(super::MNIST_NETS.len() as u64 + 1);
    let (digits, labels) = mnist_test_set(&models)?;
    let calibration: Vec<Tensor<f32>> = (0..10)
        .map(|d| inputs::load_input(&models.join("digits").join(format!("digit_{d}.npy"))))
        .collect::<Result<_>>()?;
    let mut rows = Vec::new();
    for net in super::MNIST_NETS {
        progress.set_message(format!("Table VI: {net} on {} digits", digits.len()));
        let row = evaluate(
            &models.join(format!("{net}.onnx")),
            "MNIST test digits",
            &calibration,
            &digits,
            Some(&labels),
        )?;
        rows.push(row);
        progress.inc(1);
    }
    let mobilenet = target.join("models").join("mobilenet_v2.onnx");
    progress.set_message("Table VI: MobileNetV2 on photos");
    let photos: Vec<Tensor<f32>> = PHOTOS
        .iter()
        .map(|p| inputs::load_input(&target.join("photos").join(format!("{p}.npy"))))
        .collect::<Result<_>>()?;
    rows.push(evaluate(
        &mobilenet,
        "photos (no labels)",
        &photos[..3],
        &photos,
        None,
    )?);
    progress.inc(1);
    Ok(rows)
}

/// The bundled test digits as [1, 1, 28, 28] inputs (pixel / 255) and their labels.
fn mnist_test_set(models: &Path) -> Result<(Vec<Tensor<f32>>, Vec<usize>)> {
    let read = |name: &str| -> Result<Vec<u8>> {
        let path = models.join(name);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        npyz::NpyFile::new(&bytes[..])
            .and_then(|npy| npy.into_vec::<u8>())
            .with_context(|| format!("{} is not a uint8 .npy", path.display()))
    };
    let pixels = read("mnist_test_images.npy")?;
    let labels = read("mnist_test_labels.npy")?;
    let n = MNIST_TEST_DIGITS.min(labels.len()).min(pixels.len() / 784);
    let digits = (0..n)
        .map(|i| {
            let data = pixels[i * 784..(i + 1) * 784]
                .iter()
                .map(|&p| f32::from(p) / 255.0)
                .collect();
            Ok(Tensor::new(vec![1, 1, 28, 28], data)?)
        })
        .collect::<Result<_>>()?;
    Ok((
        digits,
        labels[..n].iter().map(|&l| usize::from(l)).collect(),
    ))
}

fn evaluate(
    model: &Path,
    data: &'static str,
    calibration: &[Tensor<f32>],
    test: &[Tensor<f32>],
    labels: Option<&[usize]>,
) -> Result<AccuracyRow> {
    let bytes = std::fs::read(model).with_context(|| {
        format!(
            "cannot read {}; run bash scripts/prepare_test_models.sh",
            model.display()
        )
    })?;
    let graph = inputs::import(model, &bytes)?;
    let compiled =
        cryptflow_compiler::compile(graph.clone(), cryptflow_compiler::DEFAULT_SCALE.into())
            .map_err(|e| inputs::usage(e.into()))?;
    let shape = compiled.program.input_shape().to_vec();
    let fit = |x: &Tensor<f32>| x.clone().reshaped(shape.clone());
    let calibration = calibration.iter().map(fit).collect::<Result<Vec<_>, _>>()?;
    let (scale, _) = sweep::sweep(&graph, &calibration)?;
    let compiled =
        cryptflow_compiler::compile(graph, scale).map_err(|e| inputs::usage(e.into()))?;
    let program = &compiled.program;
    let (mut float_right, mut fixed_right, mut float_right5, mut fixed_right5) = (0, 0, 0, 0);
    let (mut agree, mut agree5, mut worst) = (0, 0, 0f64);
    for (i, x) in test.iter().enumerate() {
        let x = fit(x)?;
        let float: Vec<f32> = reference::run(program, &compiled.real_weights, x.data())
            .output
            .iter()
            .map(|&v| v as f32)
            .collect();
        let encoded = cryptflow_runtime::encode_input(program, &x)?;
        let fixed: Vec<f32> = plain::run(program, &compiled.weights, encoded)
            .iter()
            .map(|&v| fixed::decode(v, program.scale) as f32)
            .collect();
        let (float_top5, fixed_top5) = (top5(&float), top5(&fixed));
        agree += usize::from(argmax(&float) == argmax(&fixed));
        agree5 += usize::from(float_top5 == fixed_top5);
        if let Some(labels) = labels {
            float_right += usize::from(argmax(&float) == labels[i]);
            fixed_right += usize::from(argmax(&fixed) == labels[i]);
            float_right5 += usize::from(float_top5.contains(&labels[i]));
            fixed_right5 += usize::from(fixed_top5.contains(&labels[i]));
        }
        let norm = float
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()))
            .max(f32::MIN_POSITIVE);
        let diff = float
            .iter()
            .zip(&fixed)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        worst = worst.max(f64::from(diff / norm));
    }
    let n = test.len().max(1) as f64;
    let share = |count: usize| labels.map(|_| count as f64 / n);
    Ok(AccuracyRow {
        net: model
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
        data,
        inputs: test.len(),
        scale,
        float_top1: share(float_right),
        fixed_top1: share(fixed_right),
        float_top5: share(float_right5),
        fixed_top5: share(fixed_right5),
        top1_agreement: agree as f64 / n,
        top5_agreement: agree5 as f64 / n,
        max_relative_error: worst,
    })
}

/// The five largest outputs' classes, as a sorted set.
fn top5(values: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order.truncate(5);
    order.sort_unstable();
    order
}

pub fn print(rows: &[AccuracyRow]) {
    let percent =
        |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{:.2}", v * 100.0));
    println!("\nTable VI: fixed- vs floating-point accuracy (%), in the clear, at the swept scale");
    println!(
        "{:<14} {:<20} {:>6} {:>5} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "net",
        "data",
        "inputs",
        "scale",
        "float@1",
        "fixed@1",
        "float@5",
        "fixed@5",
        "agree@1",
        "agree@5",
        "max err"
    );
    for r in rows {
        println!(
            "{:<14} {:<20} {:>6} {:>5} {:>8} {:>8} {:>8} {:>8} {:>9.2} {:>9.2} {:>9.2e}",
            r.net,
            r.data,
            r.inputs,
            r.scale,
            percent(r.float_top1),
            percent(r.fixed_top1),
            percent(r.float_top5),
            percent(r.fixed_top5),
            r.top1_agreement * 100.0,
            r.top5_agreement * 100.0,
            r.max_relative_error,
        );
    }
    println!("the paper's Table VI (ImageNet validation; not run here, since no ImageNet weights or data are bundled):");
    for p in &PAPER_TABLE_VI {
        println!(
            "  {:<12} float {:.2} / {:.2}   fixed {:.2} / {:.2}   (top-1 / top-5), scale {}",
            p.net, p.float_top1, p.float_top5, p.fixed_top1, p.fixed_top5, p.scale
        );
    }
}

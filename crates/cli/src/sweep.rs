//! Automatic choice of the fixed-point scale (the paper's Table VI sweep): compile at
//! each candidate scale, run the fixed-point program in the clear on calibration inputs,
//! reject scales whose values would not fit the ring, and keep the one that agrees best
//! with the float reference (top-1 agreement first, then error).

use crate::inputs;
use crate::report::argmax;
use anyhow::Result;
use cryptflow_ir::Graph;
use cryptflow_ring::{fixed, Tensor};
use cryptflow_runtime::{plain, reference};
use serde::Serialize;
use std::ops::RangeInclusive;

/// Scales tried by `--scale auto`.
pub const CANDIDATES: RangeInclusive<u32> = 6..=20;
/// Bits kept free at the top of the ring at scale 2s: no value may come near 2^63.
const HEADROOM_BITS: f64 = 8.0;
/// Local truncation of a value v at scale 2s fails with probability about
/// |v|·2^(2s)/2^63 (DESIGN.md); a scale is rejected when the expected number of failures
/// in one inference exceeds this.
const MAX_EXPECTED_FAILURES: f64 = 1e-3;

#[derive(Clone, Debug, Serialize)]
pub struct SweepRow {
    pub scale: u32,
    /// Fraction of calibration inputs whose top-1 equals float's.
    pub top1_agreement: f64,
    /// Mean over inputs of ‖fixed − float‖∞ / ‖float‖∞.
    pub mean_relative_error: f64,
    /// log2 of the largest value at scale 2s; must stay ≤ 63 − HEADROOM_BITS.
    pub magnitude_bits: f64,
    /// Expected number of local-truncation failures in one inference (worst input).
    pub expected_failures: f64,
    pub overflows: bool,
}

/// Runs the sweep; returns the chosen scale and every row.
pub fn sweep(graph: &Graph, calibration: &[Tensor<f32>]) -> Result<(u32, Vec<SweepRow>)> {
    if calibration.is_empty() {
        return Err(inputs::usage(anyhow::anyhow!(
            "the calibration folder holds no .npy inputs"
        )));
    }
    let first = cryptflow_compiler::compile(graph.clone(), *CANDIDATES.start())
        .map_err(|e| inputs::usage(anyhow::Error::new(e)))?;
    let floats: Vec<reference::RealRun> = calibration
        .iter()
        .map(|x| reference::run(&first.program, &first.real_weights, x.data()))
        .collect();
    let max_abs = floats
        .iter()
        .fold(0f64, |m, r| m.max(r.max_abs))
        .max(f64::MIN_POSITIVE);
    let truncated = floats.iter().fold(0f64, |m, r| m.max(r.truncated_abs_sum));
    let mut rows = Vec::new();
    for scale in CANDIDATES {
        let magnitude_bits = max_abs.log2() + 2.0 * f64::from(scale);
        let expected_failures = truncated * 2f64.powi(2 * scale as i32) / 2f64.powi(63);
        let overflows =
            magnitude_bits > 63.0 - HEADROOM_BITS || expected_failures > MAX_EXPECTED_FAILURES;
        let compiled = match cryptflow_compiler::compile(graph.clone(), scale) {
            Ok(c) if !overflows => c,
            _ => {
                rows.push(SweepRow {
                    scale,
                    top1_agreement: 0.0,
                    mean_relative_error: f64::INFINITY,
                    magnitude_bits,
                    expected_failures,
                    overflows: true,
                });
                continue;
            }
        };
        let (mut agree, mut error) = (0usize, 0f64);
        for (x, float) in calibration.iter().zip(&floats) {
            let encoded = cryptflow_runtime::encode_input(&compiled.program, x)
                .map_err(|e| inputs::usage(e.into()))?;
            let out = plain::run(&compiled.program, &compiled.weights, encoded);
            let fixed: Vec<f64> = out
                .iter()
                .map(|&v| fixed::decode(v, compiled.program.scale))
                .collect();
            let as_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
            agree += usize::from(argmax(&as_f32(&fixed)) == argmax(&as_f32(&float.output)));
            let norm = float
                .output
                .iter()
                .fold(0f64, |m, v| m.max(v.abs()))
                .max(f64::MIN_POSITIVE);
            error += fixed
                .iter()
                .zip(&float.output)
                .fold(0f64, |m, (a, b)| m.max((a - b).abs()))
                / norm;
        }
        let n = calibration.len() as f64;
        rows.push(SweepRow {
            scale,
            top1_agreement: agree as f64 / n,
            mean_relative_error: error / n,
            magnitude_bits,
            expected_failures,
            overflows,
        });
    }
    let best = rows
        .iter()
        .filter(|r| !r.overflows)
        .max_by(|a, b| {
            a.top1_agreement
                .total_cmp(&b.top1_agreement)
                .then(b.mean_relative_error.total_cmp(&a.mean_relative_error))
        })
        .map(|r| r.scale)
        .ok_or_else(|| {
            inputs::usage(anyhow::anyhow!(
                "every scale overflows: the model's values are too large for 64-bit fixed point"
            ))
        })?;
    Ok((best, rows))
}

/// The sweep as a table, the chosen scale marked.
pub fn print_table(rows: &[SweepRow], chosen: u32) {
    eprintln!("scale  top-1 agreement  mean rel. error  magnitude bits  trunc. failures/inference");
    for r in rows {
        let status = if r.overflows {
            "overflows"
        } else if r.scale == chosen {
            "<- chosen"
        } else {
            ""
        };
        let agreement = if r.overflows {
            "-".to_owned()
        } else {
            format!("{:.3}", r.top1_agreement)
        };
        let error = if r.overflows {
            "-".to_owned()
        } else {
            format!("{:.2e}", r.mean_relative_error)
        };
        eprintln!(
            "{:>5}  {agreement:>15}  {error:>15}  {:>14.1}  {:>25.1e}  {status}",
            r.scale, r.magnitude_bits, r.expected_failures
        );
    }
}

/// Loads every `.npy` file of a folder (sorted by name) as a calibration input.
pub fn load_calibration(dir: &std::path::Path) -> Result<Vec<Tensor<f32>>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| {
            inputs::usage(anyhow::anyhow!(
                "cannot read calibration folder {}: {e}",
                dir.display()
            ))
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    paths.sort();
    paths.iter().map(|p| inputs::load_input(p)).collect()
}

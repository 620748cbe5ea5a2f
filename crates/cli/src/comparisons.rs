//! Comparison widths from calibration data (compiler `passes::comparisons`): the float
//! reference runs each calibration input, each comparing step gets the narrowest width
//! that holds what it compared with a margin, and the narrowed program is then checked
//! against the exact one on every calibration input, bit for bit, in the clear.

use crate::inputs;
use anyhow::{bail, Result};
use cryptflow_compiler::passes::comparisons;
use cryptflow_compiler::Compiled;
use cryptflow_ring::Tensor;
use cryptflow_runtime::{plain, reference};
use serde::Serialize;

/// How many comparing steps run at one width.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WidthCount {
    pub bits: u32,
    pub steps: usize,
}

/// Narrows `compiled`'s comparisons from `calibration`; returns the steps per width.
/// If the narrowed program computed anything other than the exact one on a
/// calibration input (the margin should make that impossible), every width goes back
/// to 64 and the count says so.
pub fn narrow(compiled: &mut Compiled, calibration: &[Tensor<f32>]) -> Result<Vec<WidthCount>> {
    let program = &compiled.program;
    if compiled.real_weights.len() != program.weight_shapes.len() {
        bail!(inputs::usage(anyhow::anyhow!(
            "comparison widths need the model's real weights: calibrate an ONNX model, not a compiled one"
        )));
    }
    let expected = program.slot_len(program.input);
    if let Some(x) = calibration.iter().find(|x| x.data().len() != expected) {
        bail!(inputs::usage(anyhow::anyhow!(
            "a calibration input of shape {:?} does not fit the model's input {:?}",
            x.shape(),
            program.input_shape()
        )));
    }
    let mut compared = vec![0f64; program.instructions.len()];
    for x in calibration {
        let run = reference::run(program, &compiled.real_weights, x.data());
        for (worst, m) in compared.iter_mut().zip(run.compared_abs) {
            *worst = worst.max(m);
        }
    }
    let exact = compiled.program.clone();
    let counts = comparisons::narrow(&mut compiled.program, &compared);
    for x in calibration {
        let encoded = cryptflow_runtime::encode_input(&exact, x)?;
        let wide = plain::run(&exact, &compiled.weights, encoded.clone());
        if plain::run(&compiled.program, &compiled.weights, encoded) != wide {
            let counts = full_width(&exact);
            compiled.program = exact;
            return Ok(counts);
        }
    }
    Ok(counts
        .into_iter()
        .map(|(bits, steps)| WidthCount { bits, steps })
        .collect())
}

/// The counts of a program whose comparisons are all exact.
pub fn full_width(program: &cryptflow_ir::Program) -> Vec<WidthCount> {
    let steps = program
        .instructions
        .iter()
        .filter(|i| i.kernel.compares())
        .count();
    if steps == 0 {
        return Vec::new();
    }
    vec![WidthCount { bits: 64, steps }]
}

/// "41 at 32 bits, 2 at 64 bits".
pub fn describe(counts: &[WidthCount]) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|c| format!("{} at {} bits", c.steps, c.bits))
        .collect::<Vec<_>>()
        .join(", ")
}

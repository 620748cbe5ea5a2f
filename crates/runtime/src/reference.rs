//! The float reference of a program: the same steps over reals (f64) with the real
//! weights. Fixed-point effects (rounding, truncation, reciprocals, overflow) are
//! absent, so comparing with [`crate::plain::run`] measures exactly what the choice of
//! scale costs. Used by the scale sweep.

use crate::{local, slots};
use cryptflow_ir::{Kernel, Program};
use cryptflow_ring::conv;
use cryptflow_ring::Tensor;
use std::convert::Infallible;

/// The output of a float run and the largest magnitude any step produced.
#[derive(Clone, Debug)]
pub struct RealRun {
    pub output: Vec<f64>,
    /// max |v| over every value of every step (real units): how many integer bits the
    /// fixed-point encoding must hold.
    pub max_abs: f64,
    /// Σ |v| over the values that are truncated (the inputs of `Truncate` steps): at
    /// scale s each fails with probability about |v|·2^(2s)/2^63, so this bounds the
    /// expected number of truncation failures per inference.
    pub truncated_abs_sum: f64,
    /// Per step, max |v| over the values its comparisons compare (the ReLU input, the
    /// max tree's differences, x minus a clip bound); 0 for steps that do not compare.
    /// The compiler sizes each step's comparison width from it.
    pub compared_abs: Vec<f64>,
}

/// Runs `program` over reals; `weights` are the compiler's real weights.
///
/// # Panics
/// If the weights do not belong to the program.
pub fn run(program: &Program, weights: &[Tensor<f32>], input: &[f32]) -> RealRun {
    let mut max_abs = input.iter().fold(0f64, |m, v| m.max(f64::from(v.abs())));
    let mut truncated_abs_sum = 0.0;
    let mut compared_abs = Vec::with_capacity(program.instructions.len());
    let input = input.iter().map(|&v| f64::from(v)).collect();
    let real =
        |id: usize| -> Vec<f64> { weights[id].data().iter().map(|&v| f64::from(v)).collect() };
    let result = slots::execute(program, input, |_, instruction, operands| {
        let arg = |i: usize| operands[i].0;
        let shape = |i: usize| operands[i].1;
        let zip = |a: &[f64], b: &[f64], f: fn(f64, f64) -> f64| {
            a.iter()
                .zip(b)
                .map(|(a, b)| f(*a, *b))
                .collect::<Vec<f64>>()
        };
        let relu = |x: &[f64]| x.iter().map(|v| v.max(0.0)).collect::<Vec<f64>>();
        let out: Vec<f64> = match &instruction.kernel {
            Kernel::Conv {
                geometry,
                weight,
                bias,
            } => {
                let mut z = conv::conv2d_real(geometry, arg(0), &real(*weight));
                if let Some(b) = bias {
                    let b = real(*b);
                    let plane = z.len() / b.len().max(1);
                    z.iter_mut()
                        .enumerate()
                        .for_each(|(i, v)| *v += b[i / plane.max(1)]);
                }
                z
            }
            Kernel::MatMul {
                rows,
                inner,
                out,
                weight,
                bias,
            } => {
                let (w, x) = (real(*weight), arg(0));
                let b = bias.map(real).unwrap_or_else(|| vec![0.0; *out]);
                (0..rows * out)
                    .map(|idx| {
                        let (r, o) = (idx / out, idx % out);
                        b[o] + (0..*inner)
                            .map(|i| x[r * inner + i] * w[o * inner + i])
                            .sum::<f64>()
                    })
                    .collect()
            }
            Kernel::Truncate { .. } | Kernel::Reshape => arg(0).to_vec(),
            Kernel::Relu => relu(arg(0)),
            Kernel::LeakyRelu { alpha } => arg(0)
                .iter()
                .map(|&v| if v < 0.0 { f64::from(*alpha) * v } else { v })
                .collect(),
            Kernel::Clip { min, max } => arg(0)
                .iter()
                .map(|&v| {
                    let v = min.map_or(v, |m| v.max(f64::from(m)));
                    max.map_or(v, |m| v.min(f64::from(m)))
                })
                .collect(),
            Kernel::MaxPool(g) => g
                .windows()
                .iter()
                .map(|w| {
                    w.iter()
                        .map(|&i| arg(0)[i])
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect(),
            Kernel::AvgPool { geometry, divisors } => {
                let plane = geometry.out_height() * geometry.out_width();
                geometry
                    .windows()
                    .iter()
                    .enumerate()
                    .map(|(j, w)| {
                        w.iter().map(|&i| arg(0)[i]).sum::<f64>() / f64::from(divisors[j % plane])
                    })
                    .collect()
            }
            Kernel::Add => zip(arg(0), arg(1), |a, b| a + b),
            Kernel::Sub => zip(arg(0), arg(1), |a, b| a - b),
            Kernel::AddConstant { weight } => zip(arg(0), &real(*weight), |a, b| a + b),
            Kernel::Scale { weight } => zip(arg(0), &real(*weight), |a, b| a * b),
            Kernel::Concat { axis } => {
                let parts: Vec<(&[f64], &[usize])> = (0..instruction.inputs.len())
                    .map(|i| (arg(i), shape(i)))
                    .collect();
                local::concat(&parts, *axis)
            }
            Kernel::Transpose { perm } => local::transpose(arg(0), shape(0), perm),
            Kernel::Pad { pads, value } => local::pad(arg(0), shape(0), pads, f64::from(*value)),
            Kernel::Slice { axes } => local::slice(arg(0), shape(0), axes),
            Kernel::Neg => arg(0).iter().map(|v| -v).collect(),
            Kernel::Mul => {
                local::broadcast_mul(arg(0), arg(1), &local::product_map(shape(0), shape(1)))
            }
            other => unreachable!("kernel {} has no float rule", other.name()),
        };
        max_abs = out.iter().fold(max_abs, |m, v| m.max(v.abs()));
        compared_abs.push(compared_magnitude(&instruction.kernel, arg(0)));
        if let Kernel::Truncate { .. } = instruction.kernel {
            truncated_abs_sum += out.iter().map(|v| v.abs()).sum::<f64>();
        }
        Ok::<_, Infallible>(out)
    });
    let Ok(output) = result;
    RealRun {
        output,
        max_abs,
        truncated_abs_sum,
        compared_abs,
    }
}

/// The largest |v| a comparing kernel compares on input `x`: a bound on the max tree's
/// differences (|a − b| ≤ 2 max |x|) and on x minus a clip bound.
fn compared_magnitude(kernel: &Kernel, x: &[f64]) -> f64 {
    let largest = x.iter().fold(0f64, |m, v| m.max(v.abs()));
    match kernel {
        Kernel::Relu | Kernel::LeakyRelu { .. } => largest,
        Kernel::MaxPool(_) => 2.0 * largest,
        Kernel::Clip { min, max } => {
            let bound = [*min, *max]
                .iter()
                .flatten()
                .fold(0f64, |m, b| m.max(f64::from(b.abs())));
            largest + bound
        }
        _ => 0.0,
    }
}

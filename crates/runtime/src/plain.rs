//! The cleartext twin of the whole program: the same fixed-point arithmetic as the
//! three-party run, without secrets. `cryptflow plain` runs this; the secure run must
//! agree with it up to the documented truncation error.

use crate::shareholder::comparison_width;
use crate::{local, slots};
use cryptflow_ir::{Kernel, Program, Weights};
use cryptflow_protocol::linear::{Bilinear, MatMulShape};
use cryptflow_protocol::pool::{self, MaxTree};
use cryptflow_protocol::{division, relu, truncation};
use cryptflow_ring::{fixed, Scale};
use std::convert::Infallible;

/// Runs `program` on an encoded input; returns the encoded output.
///
/// # Panics
/// If `weights` or `input` do not fit the program (callers check with
/// [`Program::matches`], [`Program::validate`] and the input shape first).
pub fn run(program: &Program, weights: &Weights, input: Vec<u64>) -> Vec<u64> {
    let scale = program.scale;
    let result = slots::execute(program, input, |_, instruction, operands| {
        let width = comparison_width(instruction);
        let relu = |x: &[u64]| relu::ideal_select_at(x, x, width);
        let arg = |i: usize| operands[i].0;
        let shape = |i: usize| operands[i].1;
        let w = |id: usize| weights.tensors[id].data();
        let out = match &instruction.kernel {
            Kernel::Conv {
                geometry,
                weight,
                bias,
            } => {
                let mut z = geometry.apply(w(*weight), arg(0));
                if let Some(b) = bias {
                    local::add_channel_bias(&mut z, w(*b));
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
                let shape = MatMulShape {
                    rows: *rows,
                    inner: *inner,
                    out: *out,
                };
                let mut z = shape.apply(w(*weight), arg(0));
                if let Some(b) = bias {
                    local::add_row_bias(&mut z, w(*b));
                }
                z
            }
            Kernel::Truncate { bits } => {
                let mut z = arg(0).to_vec();
                truncation::ideal_truncate(&mut z, *bits);
                z
            }
            Kernel::Relu => relu(arg(0)),
            Kernel::MaxPool(geometry) => {
                // The share-holders' tree, max(a, b) = b + ReLU(a − b), at the step's
                // width (the signed maximum while the values are within it).
                let mut tree = MaxTree::new(arg(0), &geometry.windows());
                while let Some(differences) = tree.differences() {
                    tree.combine(&relu(&differences));
                }
                tree.output()
            }
            Kernel::AvgPool { geometry, divisors } => {
                let mut z = pool::window_sums(arg(0), geometry);
                division::ideal_divide(&mut z, &widen(divisors));
                z
            }
            Kernel::Add => local::add(arg(0), arg(1)),
            Kernel::Sub => local::sub(arg(0), arg(1)),
            Kernel::AddConstant { weight } => local::add(arg(0), w(*weight)),
            Kernel::Scale { weight } => local::mul(arg(0), w(*weight)),
            Kernel::Concat { axis } => {
                let parts: Vec<(&[u64], &[usize])> = (0..instruction.inputs.len())
                    .map(|i| (arg(i), shape(i)))
                    .collect();
                local::concat(&parts, *axis)
            }
            Kernel::Transpose { perm } => local::transpose(arg(0), shape(0), perm),
            Kernel::Pad { pads, value } => {
                local::pad(arg(0), shape(0), pads, encode(*value, scale))
            }
            Kernel::Clip { min, max } => clip(arg(0), *min, *max, scale, relu),
            Kernel::LeakyRelu { alpha } => leaky_combine(arg(0), &relu(arg(0)), *alpha, scale),
            Kernel::Reshape => arg(0).to_vec(),
            Kernel::Slice { axes } => local::slice(arg(0), shape(0), axes),
            Kernel::Neg => arg(0).iter().map(|v| v.wrapping_neg()).collect(),
            Kernel::Mul => {
                let map = local::product_map(shape(0), shape(1));
                cryptflow_protocol::product::ideal_product(arg(0), arg(1), &map)
            }
            other => unreachable!("kernel {} has no cleartext rule", other.name()),
        };
        Ok::<_, Infallible>(out)
    });
    let Ok(output) = result;
    output
}

/// A public real constant of the program, encoded at its scale. The compiler only emits
/// constants that fit (Clip drops bounds beyond the ring, Pad refuses such values).
pub(crate) fn encode(value: f32, scale: Scale) -> u64 {
    fixed::encode(f64::from(value), scale).unwrap_or(0)
}

/// Average pooling's divisors as ring elements.
pub(crate) fn widen(divisors: &[u32]) -> Vec<u64> {
    divisors.iter().map(|&d| u64::from(d)).collect()
}

/// `min(max(x, lo), hi)` as the share-holders compute it: `lo + ReLU(x − lo) −
/// ReLU(x − hi)`, with the step's ReLU.
fn clip(
    x: &[u64],
    min: Option<f32>,
    max: Option<f32>,
    scale: Scale,
    relu: impl Fn(&[u64]) -> Vec<u64>,
) -> Vec<u64> {
    let minus = |b: f32| {
        let b = encode(b, scale);
        (
            b,
            relu(&x.iter().map(|v| v.wrapping_sub(b)).collect::<Vec<_>>()),
        )
    };
    let mut z = x.to_vec();
    if let Some((lo, above)) = min.map(minus) {
        z = above.iter().map(|r| lo.wrapping_add(*r)).collect();
    }
    if let Some((_, over)) = max.map(minus) {
        z = local::sub(&z, &over);
    }
    z
}

/// `alpha·x + (1 − alpha)·relu` at scale 2s. Both terms have public coefficients, so
/// each share-holder applies the same formula to its shares.
pub(crate) fn leaky_combine(x: &[u64], relu: &[u64], alpha: f32, scale: Scale) -> Vec<u64> {
    let a = encode(alpha, scale);
    let rest = (1u64 << scale.bits()).wrapping_sub(a);
    x.iter()
        .zip(relu)
        .map(|(x, r)| a.wrapping_mul(*x).wrapping_add(rest.wrapping_mul(*r)))
        .collect()
}

//! The cleartext twin of the whole program: the same fixed-point arithmetic as the
//! three-party run, without secrets. `cryptflow plain` runs this; the secure run must
//! agree with it up to the documented truncation error.

use crate::local;
use cryptflow_ir::{Kernel, Program, Weights};
use cryptflow_protocol::linear::{Bilinear, MatMulShape};
use cryptflow_protocol::{pool, relu, truncation};

/// Runs `program` on an encoded input; returns the encoded output.
///
/// # Panics
/// If `weights` or `input` do not fit the program (callers check with
/// [`Program::matches`] and the input shape first).
pub fn run(program: &Program, weights: &Weights, input: Vec<u64>) -> Vec<u64> {
    let mut slots: Vec<Option<Vec<u64>>> = vec![None; program.slot_shapes.len()];
    slots[program.input] = Some(input);
    for instruction in &program.instructions {
        let arg = |i: usize| {
            slots[instruction.inputs[i]]
                .as_deref()
                .expect("liveness keeps inputs alive")
        };
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
            Kernel::Relu => relu::ideal_select(arg(0), arg(0)),
            Kernel::MaxPool(geometry) => pool::ideal_max_pool(arg(0), &geometry.windows()),
            Kernel::SumPool { geometry, factors } => pool::sum_pool(arg(0), geometry, factors),
            Kernel::Add => local::add(arg(0), arg(1)),
            Kernel::AddConstant { weight } => local::add(arg(0), w(*weight)),
            Kernel::Reshape => arg(0).to_vec(),
            other => unreachable!("kernel {} has no cleartext rule", other.name()),
        };
        slots[instruction.output] = Some(out);
        for &slot in &instruction.free {
            slots[slot] = None;
        }
    }
    slots[program.output]
        .take()
        .expect("the program computes its output")
}

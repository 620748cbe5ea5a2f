//! The compiler (the paper's Athos): from a float graph to the fixed-point program.
//!
//! [`compile`] runs the pipeline: shape inference with constant folding → BatchNorm
//! folding → lowering with scale and truncation placement → liveness. Each pass is one file in [`passes`].

mod error;
mod geometry;
pub mod passes;

pub use error::CompileError;

use cryptflow_ir::{Graph, Program, Weights};
use cryptflow_ring::Scale;

/// The default fixed-point scale: 12 fractional bits, CrypTFlow's choice for ResNet50.
pub const DEFAULT_SCALE: u8 = 12;

/// A compiled model: the public program and the model owner's encoded weights.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub program: Program,
    pub weights: Weights,
    /// The weights as reals, for running the float reference of the same program
    /// (empty for a program loaded from a `.cfp` file).
    pub real_weights: Vec<cryptflow_ring::Tensor<f32>>,
}

/// Compiles `graph` at `scale` fractional bits.
pub fn compile(mut graph: Graph, scale: u32) -> Result<Compiled, CompileError> {
    let scale = u8::try_from(scale)
        .ok()
        .and_then(Scale::new)
        .ok_or(CompileError::BadScale {
            scale,
            max: Scale::MAX,
        })?;
    passes::shapes::infer_shapes(&mut graph)?;
    passes::batchnorm::fold_batchnorms(&mut graph)?;
    let lowered = passes::lower::lower(&graph, scale)?;
    let mut program = lowered.program;
    passes::liveness::plan_frees(&mut program);
    // The program must pass the check every peer applies to it; a failure here is a
    // model the runtime cannot run (say, an empty tensor), reported at compile time.
    program.validate().map_err(|e| CompileError::Invalid {
        node: program
            .instructions
            .get(e.step)
            .map_or_else(|| "(program)".to_owned(), |i| i.source.clone()),
        reason: e.to_string(),
    })?;
    Ok(Compiled {
        program,
        weights: lowered.weights,
        real_weights: lowered.real_weights,
    })
}

//! The two representations at the boundary between compiler and runtime.
//!
//! * [`Graph`]: a float dataflow graph as imported from a model file (ONNX), with
//!   constant tensors (weights) attached. Passes rewrite it.
//! * [`Program`]: the lowered fixed-point program over Z_2^64 that every backend
//!   executes: a straight-line list of [`Instruction`]s over numbered slots, with the
//!   scale recorded and the slots to free after each step (liveness). It holds only
//!   public facts (shapes, geometry, the scale); the weights travel separately in
//!   [`Weights`], which only the model owner has.

pub mod artifact;
mod graph;
mod op;
mod program;
mod source;
mod validate;

pub use graph::{Graph, GraphError, Node, Value, ValueId};
pub use op::{ConvAttrs, GemmAttrs, Op, PoolAttrs, ReduceKind};
pub use program::{Instruction, Kernel, Program, SlotId, WeightId, Weights};
pub use source::{Runs, WeightSource};
pub use validate::InvalidProgram;

//! Imports ONNX model files into the cryptflow float graph ([`cryptflow_ir::Graph`]).
//!
//! ```no_run
//! let graph = cryptflow_onnx::import_file(std::path::Path::new("models/lenet.onnx"))?;
//! println!("{} nodes", graph.nodes.len());
//! # Ok::<(), cryptflow_onnx::ImportError>(())
//! ```
//!
//! The protobuf types ([`proto`]) are generated at build time from the vendored
//! `proto/onnx.proto` by `protox` and `prost-build`; no `protoc` is needed.
//!
//! # What is imported
//! * Operators of domain ai.onnx, opsets [`SUPPORTED_OPSETS`], through an op-builder
//!   table ([`supported_operators`]): convolution, pooling and linear layers (Conv,
//!   MaxPool, AveragePool, GlobalAveragePool, Gemm, MatMul), activations (Relu,
//!   LeakyRelu, Clip, Softmax), BatchNormalization, arithmetic (Add, Sub, Mul, Div,
//!   Sum), tensor rearrangement (Flatten, Reshape, Squeeze, Unsqueeze, Transpose,
//!   Concat, Pad), shape arithmetic (Shape, Gather, Cast, ConstantOfShape), Identity,
//!   Dropout (the identity at inference) and Constant (which becomes a graph constant,
//!   not a node). Anything else is [`ImportError::UnsupportedOp`]; attribute values the
//!   graph cannot express (3-D convolutions, pooling dilations, reflect padding,
//!   training mode, ...) are [`ImportError::UnsupportedAttribute`]. Opset 6 is
//!   supported with its own meanings (`is_test`, `broadcast` / `axis`); each builder
//!   documents the opset versions of its operator.
//! * The graph must have exactly one input besides its initializers and exactly one
//!   output. Old writers (IR < 4) list initializers among the graph inputs, and may list
//!   values that nodes produce: neither counts as the input. The input's shape comes
//!   from its type; a symbolic or unknown **batch dimension (index 0) is imported as
//!   1**, any other unknown dimension is an error. Every other value's shape is left
//!   `None` for the compiler's shape inference.
//! * Initializers that nodes use become [`Graph::constants`](cryptflow_ir::Graph), from
//!   the typed fields or little-endian `raw_data`, as float32: float32 as it is; integer
//!   and bool tensors (shapes, indices, axes) when every value is exactly representable;
//!   float16 and bfloat16 exactly; float64 rounded. Unused initializers are ignored.
//!   Weights in external files are rejected with the fix ([`ImportError::ExternalData`]).
//! * Inputs that a builder needs as numbers (Clip bounds, Pad pads, Squeeze/Unsqueeze
//!   axes, ...) must be constants: initializers or Constant outputs
//!   ([`ImportError::NotConstant`] otherwise). Inputs that must only be known before
//!   the run (weights of MatMul and BatchNormalization, Reshape shapes, Gather indices,
//!   divisors) may also be computed from constants and tensor shapes (ConstantOfShape,
//!   Shape -> Gather -> Concat, a Transpose of a weight, ...): the compiler folds those
//!   nodes. Only a dependence on the graph input's values is rejected there.
//! * `auto_pad` is resolved to explicit pads. SAME padding with strides above 1 needs the
//!   input's spatial size: the graph input's shape or a static shape in `value_info`
//!   (e.g. after `onnx.shape_inference.infer_shapes`). Softmax before opset 13 needs a
//!   known shape too (or the graph output's), to express it over one axis.
//! * Reshape keeps its shape tensor (with any 0 and -1) as an input; shape inference
//!   resolves them. Nodes without a name are named `<OpType>_<index>`. Only a node's
//!   first output is imported; using another one (a Dropout mask, MaxPool indices,
//!   BatchNormalization statistics) is [`ImportError::UnsupportedOutput`].

mod attributes;
mod builders;
mod context;
mod error;
mod import;
pub mod proto;
mod signature;
mod tensor;

pub use builders::supported_operators;
pub use error::ImportError;
pub use import::{import_bytes, import_file, import_model};

/// The ai.onnx opset versions the builders are written for.
pub const SUPPORTED_OPSETS: std::ops::RangeInclusive<i64> = 6..=21;

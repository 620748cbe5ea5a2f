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
//!   table ([`supported_operators`]): Conv, Gemm, MatMul, Relu, MaxPool, AveragePool,
//!   GlobalAveragePool, Add, Flatten, Reshape, Identity, Dropout (the identity at
//!   inference) and Constant (which becomes a graph constant, not a node). Anything else
//!   is [`ImportError::UnsupportedOp`]; attribute values the graph cannot express (3-D
//!   convolutions, pooling dilations, ...) are [`ImportError::UnsupportedAttribute`].
//! * The graph must have exactly one input besides its initializers and exactly one
//!   output. The input's shape comes from its type; a symbolic or unknown **batch
//!   dimension (index 0) is imported as 1**, any other unknown dimension is an error.
//!   Every other value's shape is left `None` for the compiler's shape inference.
//! * Initializers that nodes use become [`Graph::constants`](cryptflow_ir::Graph), from
//!   `float_data` or little-endian `raw_data`. float32 is the weight type; int64 and
//!   int32 tensors (Reshape shapes) become float32 when every value is exactly
//!   representable and are rejected otherwise. Unused initializers are ignored. Weights
//!   in external files are rejected with the fix ([`ImportError::ExternalData`]).
//! * `auto_pad` is resolved to explicit pads. SAME padding with strides above 1 needs the
//!   input's spatial size: the graph input's shape or a static shape in `value_info`
//!   (e.g. after `onnx.shape_inference.infer_shapes`).
//! * Reshape keeps its shape tensor (with any 0 and -1) as a constant input; shape
//!   inference resolves them. Nodes without a name are named `<OpType>_<index>`. Only a
//!   node's first output is imported; using another one (a Dropout mask, MaxPool
//!   indices) is [`ImportError::UnsupportedOutput`].

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
pub const SUPPORTED_OPSETS: std::ops::RangeInclusive<i64> = 7..=18;

//! The one error type of the importer.

use cryptflow_ir::GraphError;
use std::path::PathBuf;
use thiserror::Error;

/// Why a model could not be imported. Every message says what is wrong and what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImportError {
    #[error("model file `{}` does not exist: check the path (a relative path is resolved from the current directory)", path.display())]
    FileNotFound { path: PathBuf },

    #[error("cannot read model file `{}`; check that it is a readable file", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the bytes do not decode as an ONNX ModelProto; is this an ONNX model file? A truncated copy or another format (e.g. a PyTorch .pt checkpoint) fails this way: export the model with torch.onnx.export or tf2onnx and copy it whole")]
    Decode {
        #[source]
        source: prost::DecodeError,
    },

    #[error("the model has no graph; is this an ONNX model file? (an empty file decodes as an empty model): export the model again")]
    NoGraph,

    #[error("the model imports no opset for the default domain (ai.onnx); re-export it, or add one with onnx.helper.make_opsetid(\"\", 13)")]
    MissingOpset,

    #[error("the model uses ai.onnx opset {version}, but cryptflow imports opsets {min}..={max}; convert it with onnx.version_converter.convert_version(model, {max}) or re-export it with an opset_version in that range", min = crate::SUPPORTED_OPSETS.start(), max = crate::SUPPORTED_OPSETS.end())]
    UnsupportedOpset { version: i64 },

    #[error("the graph has {} inputs besides its initializers ({names:?}); cryptflow needs exactly one: export the model with a single input tensor (weights must be initializers)", names.len())]
    InputCount { names: Vec<String> },

    #[error("the graph has {} outputs ({names:?}); cryptflow needs exactly one: export the model with a single output tensor", names.len())]
    OutputCount { names: Vec<String> },

    #[error("graph input `{input}` has no tensor shape in the model; export it with a fixed shape (or set one with onnx.tools.update_model_dims)")]
    MissingInputShape { input: String },

    #[error("graph input `{input}` has shape {shape:?}, {}: a party holds its input as 64-bit ring elements, at most {max} of them; export the model with its real input size", elements.map_or_else(|| "whose element count overflows".to_owned(), |n| format!("{n} elements")))]
    InputTooLarge {
        input: String,
        shape: Vec<usize>,
        /// `None` when the count overflows `usize`.
        elements: Option<usize>,
        max: usize,
    },

    #[error("graph input `{input}` has an unknown dimension {index} (`{dim}`); only the batch dimension (0) may be symbolic (it is imported as 1): export with a fixed size for that dimension (no dynamic_axes for it) or set it with onnx.tools.update_model_dims")]
    UnknownInputDimension {
        input: String,
        index: usize,
        dim: String,
    },

    #[error("node `{node}` uses operator `{op}` (domain `{domain}`, opset {opset}), which cryptflow cannot import; supported operators (domain ai.onnx): {supported}. Replace the operator before export, or add a builder for it to crates/onnx/src/builders", supported = crate::supported_operators().join(", "))]
    UnsupportedOp {
        op: String,
        node: String,
        opset: i64,
        domain: String,
    },

    #[error("node `{node}` ({op}): attribute `{attribute}` = {value} is not supported: {reason}")]
    UnsupportedAttribute {
        node: String,
        op: String,
        attribute: String,
        value: String,
        reason: String,
    },

    #[error("node `{node}` ({op}): attribute `{attribute}` is invalid: {reason}; the model is malformed: check it with onnx.checker.check_model and export it again")]
    InvalidAttribute {
        node: String,
        op: String,
        attribute: String,
        reason: String,
    },

    #[error("node `{node}` ({op}) has no output; the model is malformed: check it with onnx.checker.check_model")]
    NoOutput { node: String, op: String },

    #[error("node `{node}` ({op}) lacks its required input {index} ({role}); the model is malformed: check it with onnx.checker.check_model")]
    MissingInput {
        node: String,
        op: String,
        index: usize,
        role: &'static str,
    },

    #[error("node `{node}` ({op}): input `{input}` ({role}) must be a constant (an initializer or a Constant node) but is computed at run time; fold constants first (e.g. onnxsim, or torch.onnx.export with do_constant_folding=True)")]
    NotConstant {
        node: String,
        op: String,
        input: String,
        role: &'static str,
    },

    #[error("node `{node}` uses value `{value}`, which is neither the graph input, an initializer nor the output of an earlier node; the nodes must be in topological order: check the model with onnx.checker.check_model")]
    UnknownValue { node: String, value: String },

    #[error("node `{consumer}` uses `{output}`, an extra output of node `{node}` ({op}); cryptflow imports only the first output of a node: remove that use (e.g. export for inference, without Dropout masks or MaxPool indices)")]
    UnsupportedOutput {
        node: String,
        op: String,
        output: String,
        consumer: String,
    },

    #[error("tensor `{tensor}` has element type {data_type}, but cryptflow imports {supported} only: convert it to float32 before export")]
    UnsupportedDataType {
        tensor: String,
        data_type: String,
        /// What the importer accepts there.
        supported: &'static str,
    },

    #[error("tensor `{tensor}` keeps its data in an external file (`{location}`), which is not supported: load the model with onnx.load (which reads the external file) and save it with onnx.save_model(model, path, save_as_external_data=False)")]
    ExternalData { tensor: String, location: String },

    #[error("tensor `{tensor}` is malformed: {reason}; check the model with onnx.checker.check_model and export it again")]
    InvalidTensor { tensor: String, reason: String },

    #[error("integer tensor `{tensor}` holds {value}, which float32 cannot represent exactly (cryptflow stores integer constants such as Reshape shapes as float32); use smaller values")]
    NotRepresentable {
        tensor: String,
        /// The integer, in decimal (up to 128 bits wide).
        value: String,
    },

    #[error("float64 tensor `{tensor}` holds {value}, beyond the float32 range (cryptflow stores tensors as float32); scale the values down or convert the tensor to float32 before export")]
    FloatOverflow { tensor: String, value: f64 },

    #[error(
        "the imported graph is inconsistent: {0}; check the model with onnx.checker.check_model"
    )]
    Graph(#[from] GraphError),
}

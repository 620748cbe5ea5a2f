use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum CompileError {
    #[error("node `{node}` ({op}): {reason}")]
    Unsupported {
        node: String,
        op: &'static str,
        reason: String,
    },
    #[error("node `{node}` ({op}): {detail}")]
    Shape {
        node: String,
        op: &'static str,
        detail: String,
    },
    #[error(
        "the model input `{name}` has no known shape; export the model with a fixed input shape"
    )]
    UnknownInputShape { name: String },
    #[error("the model input `{name}` cannot be run: {detail}")]
    InputShape { name: String, detail: String },
    #[error("batch size {batch} is not supported: run one input at a time (batch 1)")]
    Batch { batch: usize },
    #[error("weight `{name}` of node `{node}` has a value that does not fit the fixed-point ring at scale {scale} (|x| too large or not finite)")]
    WeightOutOfRange {
        node: String,
        name: String,
        scale: u32,
    },
    #[error("scale {scale} is out of range: choose 0..={max}")]
    BadScale { scale: u32, max: u8 },
    #[error("invalid graph: {0}")]
    Graph(#[from] cryptflow_ir::GraphError),
    /// The lowered program failed the same check a peer applies to it (e.g. a tensor
    /// that is empty or beyond the size limit).
    #[error("the model cannot be run: node `{node}`: {reason}")]
    Invalid { node: String, reason: String },
}

impl CompileError {
    pub(crate) fn shape(node: &cryptflow_ir::Node, detail: impl Into<String>) -> CompileError {
        CompileError::Shape {
            node: node.name.clone(),
            op: node.op.name(),
            detail: detail.into(),
        }
    }

    pub(crate) fn unsupported(
        node: &cryptflow_ir::Node,
        reason: impl Into<String>,
    ) -> CompileError {
        CompileError::Unsupported {
            node: node.name.clone(),
            op: node.op.name(),
            reason: reason.into(),
        }
    }
}

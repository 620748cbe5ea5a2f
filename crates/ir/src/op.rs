use serde::{Deserialize, Serialize};

/// A float-graph operator. Inputs are the node's input values in ONNX order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Op {
    /// Inputs: X `[N, C, H, W]`, W `[M, C/groups, kh, kw]`, optional bias `[M]`.
    Conv(ConvAttrs),
    /// Inputs: A, B, optional C. Y = alpha·A'·B' + beta·C.
    Gemm(GemmAttrs),
    /// Inputs: A, B (B constant).
    MatMul,
    Relu,
    MaxPool(PoolAttrs),
    AveragePool {
        attrs: PoolAttrs,
        count_include_pad: bool,
    },
    GlobalAveragePool,
    /// Elementwise addition with ONNX broadcasting of a constant, or of two tensors of
    /// one shape.
    Add,
    /// Flattens to 2-D at `axis`.
    Flatten {
        axis: i64,
    },
    /// Input 1 is a constant shape tensor.
    Reshape,
    Identity,
}

impl Op {
    /// The ONNX name of the operator, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv(_) => "Conv",
            Op::Gemm(_) => "Gemm",
            Op::MatMul => "MatMul",
            Op::Relu => "Relu",
            Op::MaxPool(_) => "MaxPool",
            Op::AveragePool { .. } => "AveragePool",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::Add => "Add",
            Op::Flatten { .. } => "Flatten",
            Op::Reshape => "Reshape",
            Op::Identity => "Identity",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvAttrs {
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    /// Top, left, bottom, right (resolved from `auto_pad` by the importer).
    pub pads: [usize; 4],
    pub dilations: [usize; 2],
    pub groups: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GemmAttrs {
    pub alpha: f32,
    pub beta: f32,
    pub trans_a: bool,
    pub trans_b: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolAttrs {
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    /// Top, left, bottom, right.
    pub pads: [usize; 4],
    pub ceil_mode: bool,
}

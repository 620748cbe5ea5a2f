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
    /// Inputs: X, scale, bias, mean, var (all but X constant).
    BatchNormalization {
        epsilon: f32,
    },
    /// Bounds resolved from attributes or constant inputs by the importer.
    Clip {
        min: Option<f32>,
        max: Option<f32>,
    },
    LeakyRelu {
        alpha: f32,
    },
    /// N-ary elementwise sum (broadcasting like Add).
    Sum,
    Sub,
    /// Elementwise product; at most one side may be an activation.
    Mul,
    /// Elementwise quotient by a constant.
    Div,
    Concat {
        axis: i64,
    },
    /// An empty `perm` reverses the axes.
    Transpose {
        perm: Vec<usize>,
    },
    /// Axes resolved from the attribute or the constant input; empty = all 1-dims.
    Squeeze {
        axes: Vec<i64>,
    },
    Unsqueeze {
        axes: Vec<i64>,
    },
    /// Input 0 is the (constant) shape.
    ConstantOfShape {
        value: f32,
    },
    /// Constant-mode padding; `pads` in ONNX order (all begins, then all ends).
    Pad {
        pads: Vec<i64>,
        value: f32,
    },
    /// The shape of input 0 as a 1-D tensor (folded to a constant by the compiler).
    Shape,
    /// Input 1 holds the (constant) indices.
    Gather {
        axis: i64,
    },
    /// Only on constants (shape arithmetic) or as the identity on floats.
    Cast,
    Softmax {
        axis: i64,
    },
    /// Inputs: X, slope (a constant broadcasting to X): `max(x, 0) + slope·min(x, 0)`.
    PRelu,
    /// `max(0, min(1, alpha·x + beta))`.
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// `x · max(0, min(1, x/6 + 1/2))`.
    HardSwish,
    /// `1 / (1 + e^−x)`, approximated by a spline (compiler lower/spline.rs).
    Sigmoid,
    /// `tanh x`, approximated by a spline.
    Tanh,
    /// `ln(1 + eˣ)`, approximated by a spline.
    Softplus,
    /// The mean or the sum over `axes` (resolved from the attribute or the constant
    /// input; empty: every axis, unless `noop_with_empty_axes`).
    Reduce {
        kind: ReduceKind,
        axes: Vec<i64>,
        keep_dims: bool,
        noop_with_empty_axes: bool,
    },
    /// ONNX Slice with its constants resolved: per entry of `axes` (empty: 0, 1, …),
    /// `starts`, `ends` and `steps` (empty: all 1), clamped to the input by shape
    /// inference.
    Slice {
        starts: Vec<i64>,
        ends: Vec<i64>,
        axes: Vec<i64>,
        steps: Vec<i64>,
    },
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReduceKind {
    Mean,
    Sum,
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
            Op::BatchNormalization { .. } => "BatchNormalization",
            Op::Clip { .. } => "Clip",
            Op::LeakyRelu { .. } => "LeakyRelu",
            Op::Sum => "Sum",
            Op::Sub => "Sub",
            Op::Mul => "Mul",
            Op::Div => "Div",
            Op::Concat { .. } => "Concat",
            Op::Transpose { .. } => "Transpose",
            Op::Squeeze { .. } => "Squeeze",
            Op::Unsqueeze { .. } => "Unsqueeze",
            Op::ConstantOfShape { .. } => "ConstantOfShape",
            Op::Pad { .. } => "Pad",
            Op::Shape => "Shape",
            Op::Gather { .. } => "Gather",
            Op::Cast => "Cast",
            Op::Softmax { .. } => "Softmax",
            Op::PRelu => "PRelu",
            Op::Slice { .. } => "Slice",
            Op::Neg => "Neg",
            Op::HardSigmoid { .. } => "HardSigmoid",
            Op::HardSwish => "HardSwish",
            Op::Sigmoid => "Sigmoid",
            Op::Tanh => "Tanh",
            Op::Softplus => "Softplus",
            Op::Reduce {
                kind: ReduceKind::Mean,
                ..
            } => "ReduceMean",
            Op::Reduce {
                kind: ReduceKind::Sum,
                ..
            } => "ReduceSum",
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

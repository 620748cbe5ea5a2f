use cryptflow_ring::conv::ConvGeometry;
use cryptflow_ring::pool::PoolGeometry;
use cryptflow_ring::{Scale, Tensor};
use serde::{Deserialize, Serialize};

/// Index of a runtime tensor slot in [`Program::slot_shapes`].
pub type SlotId = usize;
/// Index of a weight tensor in [`Program::weight_shapes`] and [`Weights::tensors`].
pub type WeightId = usize;

/// One step of the fixed-point program. Values are ring elements at the program's scale
/// `s` unless a kernel says otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Kernel {
    /// 2-D convolution of one image with the model owner's weights
    /// (`[out_channels, in_channels / groups, kh, kw]`, scale s). The output is at scale
    /// 2s: the bias (if any) is encoded at 2s; a `Truncate` follows.
    Conv {
        geometry: ConvGeometry,
        weight: WeightId,
        bias: Option<WeightId>,
    },
    /// `Y[rows, out] = X[rows, inner] · Wᵀ + bias` with the model owner's weight
    /// `W[out, inner]` at scale s; output at scale 2s like `Conv`.
    MatMul {
        rows: usize,
        inner: usize,
        out: usize,
        weight: WeightId,
        bias: Option<WeightId>,
    },
    /// Divides by 2^bits (arithmetic shift): brings a product back to scale s.
    Truncate {
        bits: u32,
    },
    Relu,
    MaxPool(PoolGeometry),
    /// Sum of each window times a public factor at scale s (the reciprocal of the
    /// window's divisor, one per output element of a channel): output at scale 2s.
    SumPool {
        geometry: PoolGeometry,
        factors: Vec<u64>,
    },
    /// Elementwise sum of two slots of one shape.
    Add,
    /// Adds a model-owner constant of the slot's shape (at scale s).
    AddConstant {
        weight: WeightId,
    },
    /// The same elements under the output slot's shape.
    Reshape,
}

impl Kernel {
    pub fn name(&self) -> &'static str {
        match self {
            Kernel::Conv { .. } => "Conv",
            Kernel::MatMul { .. } => "MatMul",
            Kernel::Truncate { .. } => "Truncate",
            Kernel::Relu => "Relu",
            Kernel::MaxPool(_) => "MaxPool",
            Kernel::SumPool { .. } => "SumPool",
            Kernel::Add => "Add",
            Kernel::AddConstant { .. } => "AddConstant",
            Kernel::Reshape => "Reshape",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instruction {
    pub kernel: Kernel,
    pub inputs: Vec<SlotId>,
    pub output: SlotId,
    /// Slots whose last use is this instruction: freed right after it (liveness).
    pub free: Vec<SlotId>,
    /// The model node this step comes from, for errors and per-layer reports.
    pub source: String,
}

/// The lowered program: public, shared by all three parties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub scale: Scale,
    pub slot_shapes: Vec<Vec<usize>>,
    pub input: SlotId,
    pub output: SlotId,
    pub weight_shapes: Vec<Vec<usize>>,
    pub instructions: Vec<Instruction>,
}

impl Program {
    pub fn input_shape(&self) -> &[usize] {
        &self.slot_shapes[self.input]
    }

    pub fn output_shape(&self) -> &[usize] {
        &self.slot_shapes[self.output]
    }

    pub fn slot_len(&self, slot: SlotId) -> usize {
        self.slot_shapes[slot].iter().product()
    }

    /// Checks that `weights` has exactly the tensors this program expects.
    pub fn matches(&self, weights: &Weights) -> bool {
        weights.tensors.len() == self.weight_shapes.len()
            && weights
                .tensors
                .iter()
                .zip(&self.weight_shapes)
                .all(|(t, s)| t.shape() == s.as_slice())
    }
}

/// The model owner's private weights, encoded in the ring.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Weights {
    pub tensors: Vec<Tensor<u64>>,
}

use crate::WeightSource;
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// Sum of each window divided by its divisor (one per output position of a channel
    /// plane), by local division of the shares: output at scale s, exact to one unit.
    AvgPool {
        geometry: PoolGeometry,
        divisors: Vec<u32>,
    },
    /// Elementwise sum of two slots of one shape.
    Add,
    /// Elementwise difference of two slots of one shape.
    Sub,
    /// Elementwise product with a model-owner constant of the slot's shape (at scale s):
    /// output at scale 2s.
    Scale {
        weight: WeightId,
    },
    /// Concatenation of the input slots along `axis`.
    Concat {
        axis: usize,
    },
    /// Axis permutation of the input slot.
    Transpose {
        perm: Vec<usize>,
    },
    /// Constant padding: `pads` holds all begins, then all ends, per axis.
    Pad {
        pads: Vec<usize>,
        value: f32,
    },
    /// `min(max(x, min), max)` with public bounds.
    Clip {
        min: Option<f32>,
        max: Option<f32>,
    },
    /// `alpha·x + (1 − alpha)·ReLU(x)`, output at scale 2s.
    LeakyRelu {
        alpha: f32,
    },
    /// Adds a model-owner constant of the slot's shape (at scale s).
    AddConstant {
        weight: WeightId,
    },
    /// The same elements under the output slot's shape.
    Reshape,
    /// A strided slice, one axis description per input axis (the output slot's shape is
    /// the counts).
    Slice {
        axes: Vec<cryptflow_ring::layout::SliceAxis>,
    },
    /// `−x`, elementwise.
    Neg,
    /// Elementwise product of two activations (Beaver triples from the helper); the
    /// second broadcasts to the first's shape, which is the output's. Output at scale
    /// 2s: a `Truncate` follows.
    Mul,
}

impl Kernel {
    pub fn name(&self) -> &'static str {
        match self {
            Kernel::Conv { .. } => "Conv",
            Kernel::MatMul { .. } => "MatMul",
            Kernel::Truncate { .. } => "Truncate",
            Kernel::Relu => "Relu",
            Kernel::MaxPool(_) => "MaxPool",
            Kernel::AvgPool { .. } => "AvgPool",
            Kernel::Add => "Add",
            Kernel::Sub => "Sub",
            Kernel::Scale { .. } => "Scale",
            Kernel::Concat { .. } => "Concat",
            Kernel::Transpose { .. } => "Transpose",
            Kernel::Pad { .. } => "Pad",
            Kernel::Clip { .. } => "Clip",
            Kernel::LeakyRelu { .. } => "LeakyRelu",
            Kernel::AddConstant { .. } => "AddConstant",
            Kernel::Reshape => "Reshape",
            Kernel::Slice { .. } => "Slice",
            Kernel::Neg => "Neg",
            Kernel::Mul => "Mul",
        }
    }

    /// Whether the step runs secure comparisons (whose width
    /// [`Instruction::comparison_bits`] sets).
    pub fn compares(&self) -> bool {
        matches!(
            self,
            Kernel::Relu | Kernel::MaxPool(_) | Kernel::Clip { .. } | Kernel::LeakyRelu { .. }
        )
    }

    /// The weight of a linear layer (the one a share-holder multiplies by, which P0
    /// masks for P1 at its first use); `None` for every other kernel. A bias added by
    /// `AddConstant` is not one: it is added in the clear by P0.
    pub fn linear_weight(&self) -> Option<WeightId> {
        match self {
            Kernel::Conv { weight, .. }
            | Kernel::MatMul { weight, .. }
            | Kernel::Scale { weight } => Some(*weight),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instruction {
    pub kernel: Kernel,
    pub inputs: Vec<SlotId>,
    pub output: SlotId,
    /// Slots whose last use is this instruction: freed right after it (liveness).
    pub free: Vec<SlotId>,
    /// The bits this step's comparisons (ReLU, max, clip) run on: 8, 16, 32 or 64.
    /// 64 is exact for every value; a narrower width w is exact while every compared
    /// value has |x| < 2^(w−1), which the compiler chooses from calibration with a
    /// margin (DESIGN.md, "Comparison width"). Public, like the rest of the program:
    /// it sets the message sizes all three parties expect. Ignored by other kernels.
    pub comparison_bits: u32,
    /// The model node this step comes from, for errors and per-layer reports.
    pub source: String,
}

/// The lowered program: public, shared by all three parties.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub scale: Scale,
    /// A trailing Softmax over this axis, applied by the client to the revealed output:
    /// the client learns the logits either way, so computing it in the clear reveals
    /// nothing more and saves the costly secure exponentials.
    pub softmax: Option<usize>,
    pub slot_shapes: Vec<Vec<usize>>,
    pub input: SlotId,
    pub output: SlotId,
    pub weight_shapes: Vec<Vec<usize>>,
    pub instructions: Vec<Instruction>,
}

impl Program {
    /// How many instructions use each weight of a linear layer (the model owner masks
    /// a weight at its first use, the client drops it after its last, and the memory
    /// plan blocks only a weight used once).
    pub fn linear_weight_uses(&self) -> std::collections::HashMap<WeightId, usize> {
        let mut uses = std::collections::HashMap::new();
        for weight in self
            .instructions
            .iter()
            .filter_map(|i| i.kernel.linear_weight())
        {
            *uses.entry(weight).or_insert(0) += 1;
        }
        uses
    }

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
    pub fn matches(&self, weights: &(impl WeightSource + ?Sized)) -> bool {
        weights.count() == self.weight_shapes.len()
            && self
                .weight_shapes
                .iter()
                .enumerate()
                .all(|(id, s)| weights.shape(id) == Some(s.as_slice()))
    }
}

/// The model owner's private weights, encoded in the ring.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Weights {
    pub tensors: Vec<Tensor<u64>>,
}

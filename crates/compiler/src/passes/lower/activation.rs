//! Piecewise-linear activations made of the kernels the protocols have: PRelu,
//! HardSigmoid and HardSwish, exact up to the encoding of their constants (and, for
//! HardSwish, the truncation of one product).

use super::Lowering;
use crate::CompileError;
use cryptflow_ir::{Kernel, Node, SlotId};
use cryptflow_ring::Tensor;

impl Lowering<'_> {
    /// `PRelu(x) = ReLU(x) + slope·(x − ReLU(x))`: one comparison, then the model
    /// owner's slope (a learned weight, kept secret like the others) times min(x, 0).
    pub(super) fn prelu(&mut self, node: &Node, shape: Vec<usize>) -> Result<SlotId, CompileError> {
        let x = self.activation(node, 0)?;
        self.constant_fits(node, x, &shape)?;
        let slope = self.constant(node, 1)?.clone();
        let slope = self.broadcast_weight(node, &slope, &shape, 1.0, self.scale.bits())?;
        let positive = self.emit(node, Kernel::Relu, vec![x], shape.clone());
        let negative = self.emit(node, Kernel::Sub, vec![x, positive], shape.clone());
        let sloped = self.emit_rescaled(
            node,
            Kernel::Scale { weight: slope },
            vec![negative],
            shape.clone(),
        );
        Ok(self.emit(node, Kernel::Add, vec![positive, sloped], shape))
    }

    /// `HardSwish(x) = x · HardSigmoid(x; 1/6, 1/2)`: a product of two activations.
    pub(super) fn hard_swish(
        &mut self,
        node: &Node,
        shape: Vec<usize>,
    ) -> Result<SlotId, CompileError> {
        let x = self.activation(node, 0)?;
        let gate = self.hard_sigmoid(node, x, (1.0 / 6.0, 0.5), shape.clone())?;
        Ok(self.emit_rescaled(node, Kernel::Mul, vec![x, gate], shape))
    }

    /// `HardSigmoid(x) = clip(alpha·x + beta, 0, 1)` of activation slot `x`.
    pub(super) fn hard_sigmoid(
        &mut self,
        node: &Node,
        x: SlotId,
        (alpha, beta): (f32, f32),
        shape: Vec<usize>,
    ) -> Result<SlotId, CompileError> {
        let scalar = |v: f32| {
            Tensor::new(vec![1], vec![v]).map_err(|e| CompileError::shape(node, e.to_string()))
        };
        let s = self.scale.bits();
        let alpha = self.broadcast_weight(node, &scalar(alpha)?, &shape, 1.0, s)?;
        let beta = self.broadcast_weight(node, &scalar(beta)?, &shape, 1.0, s)?;
        let scaled = self.emit_rescaled(
            node,
            Kernel::Scale { weight: alpha },
            vec![x],
            shape.clone(),
        );
        let shifted = self.emit(
            node,
            Kernel::AddConstant { weight: beta },
            vec![scaled],
            shape.clone(),
        );
        Ok(self.emit(
            node,
            Kernel::Clip {
                min: Some(0.0),
                max: Some(1.0),
            },
            vec![shifted],
            shape,
        ))
    }
}

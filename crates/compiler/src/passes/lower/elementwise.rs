//! Elementwise steps with constants and between activations: sums, differences,
//! products and quotients by constants (the model owner's weights, broadcast).

use super::Lowering;
use crate::CompileError;
use cryptflow_ir::{Kernel, Node, Op, SlotId, WeightId};
use cryptflow_ring::Tensor;

impl Lowering<'_> {
    /// N-ary sum: activations added pairwise, constants added by the model owner.
    pub(super) fn sum(
        &mut self,
        node: &Node,
        out_shape: Vec<usize>,
    ) -> Result<SlotId, CompileError> {
        let (constants, activations): (Vec<usize>, Vec<usize>) =
            (0..node.inputs.len()).partition(|&i| self.graph.constant(node.inputs[i]).is_some());
        let mut acc = self.activation(
            node,
            *activations.first().ok_or_else(|| {
                CompileError::unsupported(node, "a sum of constants only should have been folded")
            })?,
        )?;
        for &i in &activations[1..] {
            let next = self.activation(node, i)?;
            if self.slot_shapes[next] != self.slot_shapes[acc] {
                return Err(CompileError::unsupported(
                    node,
                    "broadcasting between two activations is not supported",
                ));
            }
            acc = self.emit(node, Kernel::Add, vec![acc, next], out_shape.clone());
        }
        for &i in &constants {
            self.constant_fits(node, acc, &out_shape)?;
            let c = self.constant(node, i)?.clone();
            let weight = self.broadcast_weight(node, &c, &out_shape, 1.0, self.scale.bits())?;
            acc = self.emit(
                node,
                Kernel::AddConstant { weight },
                vec![acc],
                out_shape.clone(),
            );
        }
        Ok(acc)
    }

    pub(super) fn sub(
        &mut self,
        node: &Node,
        out_shape: Vec<usize>,
    ) -> Result<SlotId, CompileError> {
        match (
            self.graph.constant(node.inputs[0]),
            self.graph.constant(node.inputs[1]),
        ) {
            (None, None) => {
                let (a, b) = (self.activation(node, 0)?, self.activation(node, 1)?);
                if self.slot_shapes[a] != self.slot_shapes[b] {
                    return Err(CompileError::unsupported(
                        node,
                        "broadcasting between two activations is not supported",
                    ));
                }
                Ok(self.emit(node, Kernel::Sub, vec![a, b], out_shape))
            }
            (None, Some(c)) => {
                let c = c.clone();
                let x = self.activation(node, 0)?;
                self.constant_fits(node, x, &out_shape)?;
                let weight =
                    self.broadcast_weight(node, &c, &out_shape, -1.0, self.scale.bits())?;
                Ok(self.emit(node, Kernel::AddConstant { weight }, vec![x], out_shape))
            }
            (Some(c), None) => {
                // c − x = (−x) + c: the negation is local on shares.
                let c = c.clone();
                let x = self.activation(node, 1)?;
                self.constant_fits(node, x, &out_shape)?;
                let negated = self.emit(node, Kernel::Neg, vec![x], out_shape.clone());
                let weight = self.broadcast_weight(node, &c, &out_shape, 1.0, self.scale.bits())?;
                Ok(self.emit(
                    node,
                    Kernel::AddConstant { weight },
                    vec![negated],
                    out_shape,
                ))
            }
            (Some(_), Some(_)) => Err(CompileError::unsupported(
                node,
                "a difference of constants only should have been folded",
            )),
        }
    }

    /// Multiplication or division by a model constant: the linear protocol with an
    /// elementwise weight, then truncation.
    pub(super) fn multiply(
        &mut self,
        node: &Node,
        out_shape: Vec<usize>,
    ) -> Result<SlotId, CompileError> {
        let divide = matches!(node.op, Op::Div);
        let side = (0..2).find(|&i| self.graph.constant(node.inputs[i]).is_some());
        if side.is_none() && !divide {
            return self.product(node, out_shape);
        }
        let side =
            match side {
                Some(1) => 1,
                Some(0) if !divide => 0,
                _ => return Err(CompileError::unsupported(
                    node,
                    "only multiplication or division of an activation by a constant is supported",
                )),
            };
        let x = self.activation(node, 1 - side)?;
        self.constant_fits(node, x, &out_shape)?;
        let mut c = self.constant(node, side)?.clone();
        if divide {
            if c.data().contains(&0.0) {
                return Err(CompileError::unsupported(node, "division by zero"));
            }
            c = c.map(|v| 1.0 / v);
        }
        let weight = self.broadcast_weight(node, &c, &out_shape, 1.0, self.scale.bits())?;
        Ok(self.emit_rescaled(node, Kernel::Scale { weight }, vec![x], out_shape))
    }

    /// The product of two activations (Beaver triples, protocol/src/product.rs), the
    /// factor in the output's shape first and the other broadcast to it, then truncation.
    fn product(&mut self, node: &Node, out_shape: Vec<usize>) -> Result<SlotId, CompileError> {
        let (a, b) = (self.activation(node, 0)?, self.activation(node, 1)?);
        let (x, y) = if self.slot_shapes[a] == out_shape {
            (a, b)
        } else {
            (b, a)
        };
        if self.slot_shapes[x] != out_shape
            || !cryptflow_ring::layout::broadcasts(&self.slot_shapes[y], &out_shape)
        {
            return Err(CompileError::unsupported(
                node,
                format!(
                    "a product of activations of shapes {:?} and {:?}: one must broadcast to the other",
                    self.slot_shapes[a], self.slot_shapes[b]
                ),
            ));
        }
        Ok(self.emit_rescaled(node, Kernel::Mul, vec![x, y], out_shape))
    }

    /// A constant combined elementwise with activation `x` may broadcast to `x`'s shape,
    /// not widen it (that would need the activation copied per constant element).
    pub(super) fn constant_fits(
        &self,
        node: &Node,
        x: SlotId,
        out_shape: &[usize],
    ) -> Result<(), CompileError> {
        if self.slot_shapes[x] == out_shape {
            Ok(())
        } else {
            Err(CompileError::unsupported(
                node,
                format!(
                    "the constant must broadcast to the activation's shape {:?}, not widen it to {out_shape:?}",
                    self.slot_shapes[x]
                ),
            ))
        }
    }

    /// A constant broadcast to `shape`, times `factor`, encoded at `bits`.
    pub(super) fn broadcast_weight(
        &mut self,
        node: &Node,
        c: &Tensor<f32>,
        shape: &[usize],
        factor: f32,
        bits: u32,
    ) -> Result<WeightId, CompileError> {
        if c.shape().len() > shape.len()
            || c.shape()
                .iter()
                .rev()
                .zip(shape.iter().rev())
                .any(|(&a, &b)| a != 1 && a != b)
        {
            return Err(CompileError::unsupported(
                node,
                format!(
                    "constant of shape {:?} does not broadcast to {shape:?}",
                    c.shape()
                ),
            ));
        }
        let expanded: Vec<f32> = broadcast_to(c.data(), c.shape(), shape)
            .iter()
            .map(|v| v * factor)
            .collect();
        self.weight(node, "constant", &expanded, shape.to_vec(), bits)
    }
}

/// Expands `data` of shape `from` to `to` by numpy broadcasting (shapes already checked).
pub(super) fn broadcast_to(data: &[f32], from: &[usize], to: &[usize]) -> Vec<f32> {
    let offset = to.len() - from.len();
    let total: usize = to.iter().product();
    (0..total)
        .map(|flat| {
            let (mut rest, mut src, mut stride) = (flat, 0, 1);
            for axis in (0..to.len()).rev() {
                let coord = rest % to[axis];
                rest /= to[axis];
                if axis >= offset {
                    let dim = from[axis - offset];
                    if dim != 1 {
                        src += coord * stride;
                    }
                    stride *= dim;
                }
            }
            data[src]
        })
        .collect()
}

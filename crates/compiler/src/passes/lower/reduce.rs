//! ReduceMean and ReduceSum over constant axes, from kernels the protocols have: the
//! reduced axes are moved last (a local transpose), so each output element reduces one
//! contiguous run of `inner` values. The mean is an average pool over that run (a local
//! division of the shares, exact to one unit like AveragePool); the sum is a product
//! with a row of ones (exact: 1 is encoded exactly at every scale).

use super::Lowering;
use crate::CompileError;
use cryptflow_ir::{Kernel, Node, ReduceKind, SlotId};
use cryptflow_ring::pool::PoolGeometry;

/// The axes of a tensor of rank `rank` that `axes` reduces (ONNX: negative axes count
/// from the end; none means all unless `noop_with_empty_axes`); `None` if an axis is
/// out of range or repeated.
pub(crate) fn reduced_axes(
    rank: usize,
    axes: &[i64],
    noop_with_empty_axes: bool,
) -> Option<Vec<bool>> {
    if axes.is_empty() {
        return Some(vec![!noop_with_empty_axes; rank]);
    }
    let mut reduced = vec![false; rank];
    for &axis in axes {
        let resolved = if axis < 0 { axis + rank as i64 } else { axis };
        let slot = reduced.get_mut(usize::try_from(resolved).ok()?)?;
        if std::mem::replace(slot, true) {
            return None;
        }
    }
    Some(reduced)
}

/// The output shape of a reduction of `input`.
pub(crate) fn reduced_shape(input: &[usize], reduced: &[bool], keep_dims: bool) -> Vec<usize> {
    input
        .iter()
        .zip(reduced)
        .filter_map(|(&d, &r)| match (r, keep_dims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

impl Lowering<'_> {
    pub(super) fn reduce(
        &mut self,
        node: &Node,
        kind: ReduceKind,
        axes: &[i64],
        noop_with_empty_axes: bool,
        shape: Vec<usize>,
    ) -> Result<SlotId, CompileError> {
        let x = self.activation(node, 0)?;
        let input = self.shape(node.inputs[0]);
        let reduced = reduced_axes(input.len(), axes, noop_with_empty_axes).ok_or_else(|| {
            CompileError::shape(
                node,
                format!("axes {axes:?} are not distinct axes of {input:?}"),
            )
        })?;
        let inner: usize = input
            .iter()
            .zip(&reduced)
            .filter(|p| *p.1)
            .map(|p| *p.0)
            .product();
        let outer: usize = input
            .iter()
            .zip(&reduced)
            .filter(|p| !*p.1)
            .map(|p| *p.0)
            .product();
        if inner == 1 {
            // Nothing is summed: the same elements under the output's shape.
            return Ok(self.emit(node, Kernel::Reshape, vec![x], shape));
        }
        let perm: Vec<usize> = (0..input.len())
            .filter(|&a| !reduced[a])
            .chain((0..input.len()).filter(|&a| reduced[a]))
            .collect();
        let x = if perm.windows(2).all(|w| w[0] < w[1]) {
            x
        } else {
            let moved = perm.iter().map(|&a| input[a]).collect();
            self.emit(node, Kernel::Transpose { perm }, vec![x], moved)
        };
        Ok(match kind {
            ReduceKind::Mean => {
                let divisor = u32::try_from(inner).map_err(|_| {
                    CompileError::unsupported(node, format!("a mean over {inner} elements"))
                })?;
                let geometry = PoolGeometry {
                    channels: 1,
                    in_height: outer,
                    in_width: inner,
                    kernel: [1, inner],
                    strides: [1, inner],
                    pads: [0; 4],
                    ceil_mode: false,
                };
                let divisors = vec![divisor; outer];
                self.emit(node, Kernel::AvgPool { geometry, divisors }, vec![x], shape)
            }
            ReduceKind::Sum => {
                let ones = vec![1.0; inner];
                let weight = self.weight(node, "ones", &ones, vec![1, inner], self.scale.bits())?;
                let product = Kernel::MatMul {
                    rows: outer,
                    inner,
                    out: 1,
                    weight,
                    bias: None,
                };
                self.emit_rescaled(node, product, vec![x], shape)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_resolve_like_onnx() {
        assert_eq!(
            reduced_axes(3, &[-1], false),
            Some(vec![false, false, true])
        );
        assert_eq!(reduced_axes(3, &[], false), Some(vec![true; 3]));
        assert_eq!(reduced_axes(3, &[], true), Some(vec![false; 3]));
        assert_eq!(reduced_axes(3, &[1, -2], false), None, "axis 1 twice");
        assert_eq!(reduced_axes(3, &[3], false), None);
        assert_eq!(reduced_axes(3, &[-4], false), None);
        let reduced = [false, true, true];
        assert_eq!(reduced_shape(&[2, 3, 4], &reduced, true), vec![2, 1, 1]);
        assert_eq!(reduced_shape(&[2, 3, 4], &reduced, false), vec![2]);
    }
}

//! Slice: ONNX's starts, ends, axes and steps resolved against the input's shape into
//! one [`SliceAxis`] per axis (a local kernel: each share is sliced as it is).

use super::Lowering;
use crate::CompileError;
use cryptflow_ir::{Kernel, Node, SlotId};
use cryptflow_ring::layout::SliceAxis;

/// Resolves a Slice of `input` the ONNX way (negative indices count from the end; then
/// clamped to `[0, dim]` for a positive step, `[−1, dim − 1]` for a negative one), or
/// says why it cannot be.
pub(crate) fn slice_axes(
    input: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: &[i64],
    steps: &[i64],
) -> Result<Vec<SliceAxis>, String> {
    let rank = input.len();
    if ends.len() != starts.len()
        || (!axes.is_empty() && axes.len() != starts.len())
        || (!steps.is_empty() && steps.len() != starts.len())
    {
        return Err(format!(
            "starts {starts:?}, ends {ends:?}, axes {axes:?} and steps {steps:?} differ in length"
        ));
    }
    let mut out: Vec<SliceAxis> = input
        .iter()
        .map(|&d| SliceAxis {
            begin: 0,
            step: 1,
            count: d,
        })
        .collect();
    let mut seen = vec![false; rank];
    for i in 0..starts.len() {
        let axis = axes.get(i).copied().unwrap_or(i as i64);
        let resolved = if axis < 0 { axis + rank as i64 } else { axis };
        let axis = usize::try_from(resolved)
            .ok()
            .filter(|&a| a < rank && !std::mem::replace(&mut seen[a], true))
            .ok_or_else(|| format!("axes {axes:?} are not distinct axes of {input:?}"))?;
        let step = steps.get(i).copied().unwrap_or(1);
        if step == 0 {
            return Err("a step of 0".into());
        }
        // i128: the ends exporters write for "to the end" are near i64::MAX and MIN.
        let dim = input[axis] as i128;
        let from_end = |v: i64| {
            if v < 0 {
                i128::from(v) + dim
            } else {
                i128::from(v)
            }
        };
        let (start, end) = (from_end(starts[i]), from_end(ends[i]));
        let (start, end) = if step > 0 {
            (start.clamp(0, dim), end.clamp(0, dim))
        } else {
            (start.clamp(0, dim - 1), end.clamp(-1, dim - 1))
        };
        // ceil(span / |step|) of a non-negative span.
        let (span, stride) = if step > 0 {
            ((end - start).max(0), i128::from(step))
        } else {
            ((start - end).max(0), -i128::from(step))
        };
        let count = (span + stride - 1) / stride;
        out[axis] = SliceAxis {
            begin: start.max(0) as usize,
            step,
            count: count as usize,
        };
    }
    if out.iter().any(|a| a.count == 0) {
        return Err(format!("the slice of {input:?} is empty"));
    }
    Ok(out)
}

impl Lowering<'_> {
    pub(super) fn slice(
        &mut self,
        node: &Node,
        axes: Vec<SliceAxis>,
        shape: Vec<usize>,
    ) -> Result<SlotId, CompileError> {
        let x = self.activation(node, 0)?;
        Ok(self.emit(node, Kernel::Slice { axes }, vec![x], shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(
        input: &[usize],
        starts: &[i64],
        ends: &[i64],
        axes: &[i64],
        steps: &[i64],
    ) -> Vec<(usize, i64, usize)> {
        slice_axes(input, starts, ends, axes, steps)
            .unwrap()
            .iter()
            .map(|a| (a.begin, a.step, a.count))
            .collect()
    }

    #[test]
    fn slices_resolve_like_onnx() {
        // x[:, 1:3] of [2, 5].
        assert_eq!(
            counts(&[2, 5], &[1], &[3], &[1], &[]),
            [(0, 1, 2), (1, 1, 2)]
        );
        // x[..., -2:] with an end of i64::MAX.
        assert_eq!(
            counts(&[2, 5], &[-2], &[i64::MAX], &[-1], &[]),
            [(0, 1, 2), (3, 1, 2)]
        );
        // x[::-1] of [4]: start -1 → 3, end i64::MIN → clamped to -1.
        assert_eq!(counts(&[4], &[-1], &[i64::MIN], &[0], &[-1]), [(3, -1, 4)]);
        // Every second element from 1: 1, 3 of [5].
        assert_eq!(counts(&[5], &[1], &[5], &[], &[2]), [(1, 2, 2)]);
        for axis in slice_axes(&[5], &[1], &[5], &[], &[2]).unwrap() {
            assert!(axis.fits(5));
        }
        assert!(slice_axes(&[5], &[3], &[1], &[], &[])
            .unwrap_err()
            .contains("empty"));
        assert!(slice_axes(&[5], &[0], &[1], &[], &[0]).is_err());
        assert!(slice_axes(&[5, 2], &[0, 0], &[1, 1], &[1, -1], &[]).is_err());
    }
}

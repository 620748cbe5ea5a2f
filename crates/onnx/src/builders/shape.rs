//! The operators that rearrange a tensor without arithmetic: Flatten, Reshape, Squeeze,
//! Unsqueeze, Transpose, Concat.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::Op;

/// Flatten (opset 1, 9, 11, 13, 21): axis, default 1 (negative from opset 11).
pub(super) fn flatten(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "input")?;
    let axis = ctx.attributes(node).int_or("axis", 1)?;
    Ok(Built::Node {
        op: Op::Flatten { axis },
        inputs: vec![x],
    })
}

/// Reshape (opset 5, 13, 14, 19, 21): the shape must not depend on the graph input (a
/// constant, or computed from constants and shapes, which the compiler folds); its 0
/// (copy the input's dimension) and -1 (infer) entries are kept for shape inference to
/// resolve. `allowzero = 1` (opset 14) is supported only for a constant shape with no 0.
pub(super) fn reshape(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let data = ctx.input(node, 0, "data")?;
    let shape_id = ctx.input(node, 1, "shape")?;
    ctx.require_static(node, shape_id, "shape")?;
    let attrs = ctx.attributes(node);
    if attrs.flag("allowzero", false)? {
        let reason = match ctx.constant(shape_id) {
            Some(shape) if !shape.data().contains(&0.0) => None,
            Some(_) => Some(
                "a 0 in the shape would make an empty tensor; export with allowzero = 0 (0 \
                 copies the input's dimension)"
                    .to_owned(),
            ),
            None => Some(format!(
                "the shape `{}` is computed, so the importer cannot check that it holds no 0 \
                 (which would make an empty tensor): export with allowzero = 0",
                ctx.name(shape_id)
            )),
        };
        if let Some(reason) = reason {
            return Err(attrs.unsupported("allowzero", 1, &reason));
        }
    }
    Ok(Built::Node {
        op: Op::Reshape,
        inputs: vec![data, shape_id],
    })
}

/// Squeeze (opset 1, 11, 13, 21): `axes` from the attribute before opset 13, from the
/// optional constant input 1 from opset 13; no axes means every dimension of size 1
/// (an empty `axes`).
pub(super) fn squeeze(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let data = ctx.input(node, 0, "data")?;
    let axes = ctx.axes(node, 13)?;
    Ok(Built::Node {
        op: Op::Squeeze {
            axes: axes.unwrap_or_default(),
        },
        inputs: vec![data],
    })
}

/// Unsqueeze (opset 1, 11, 13, 21): the required `axes` from the attribute before
/// opset 13, from the constant input 1 from opset 13.
pub(super) fn unsqueeze(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let data = ctx.input(node, 0, "data")?;
    if ctx.opset >= 13 {
        // Required from opset 13: a missing input is named as such.
        ctx.input(node, 1, "axes")?;
    }
    let axes = ctx.axes(node, 13)?.ok_or_else(|| {
        ctx.attributes(node)
            .invalid("axes", "it is required but absent".into())
    })?;
    Ok(Built::Node {
        op: Op::Unsqueeze { axes },
        inputs: vec![data],
    })
}

/// Transpose (opset 1, 13, 21): `perm`, a permutation of the axes; absent (an empty
/// `perm`) reverses them.
pub(super) fn transpose(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let data = ctx.input(node, 0, "data")?;
    let values = attrs.ints("perm")?.unwrap_or_default();
    let perm: Vec<usize> = values
        .iter()
        .filter_map(|&v| usize::try_from(v).ok())
        .collect();
    let mut seen = vec![false; values.len()];
    let is_permutation = perm.len() == values.len()
        && perm
            .iter()
            .all(|&axis| axis < seen.len() && !std::mem::replace(&mut seen[axis], true));
    if !is_permutation {
        return Err(attrs.invalid(
            "perm",
            format!(
                "{values:?} is not a permutation of the axes 0 to {}",
                values.len().saturating_sub(1)
            ),
        ));
    }
    Ok(Built::Node {
        op: Op::Transpose { perm },
        inputs: vec![data],
    })
}

/// Concat (opset 4, 11, 13): one or more inputs; `axis` is required (negative from
/// opset 11).
pub(super) fn concat(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let axis = attrs
        .int("axis")?
        .ok_or_else(|| attrs.invalid("axis", "it is required but absent".into()))?;
    let inputs = (0..node.input.len().max(1))
        .map(|index| ctx.input(node, index, "inputs"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Built::Node {
        op: Op::Concat { axis },
        inputs,
    })
}

//! Flatten, Reshape.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::Op;

/// Flatten (opset 1, 9, 11, 13): axis, default 1 (negative from opset 11).
pub(super) fn flatten(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "input")?;
    let axis = ctx.attributes(node).int_or("axis", 1)?;
    Ok(Built::Node {
        op: Op::Flatten { axis },
        inputs: vec![x],
    })
}

/// Reshape (opset 5, 13, 14): the shape must be a constant; its 0 (copy the input's
/// dimension) and -1 (infer) entries are kept for shape inference to resolve.
/// `allowzero = 1` (opset 14) is supported only when the shape holds no 0.
pub(super) fn reshape(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let data = ctx.input(node, 0, "data")?;
    let shape_id = ctx.input(node, 1, "shape")?;
    let shape = ctx.require_constant(node, shape_id, "shape")?;
    let attrs = ctx.attributes(node);
    if attrs.flag("allowzero", false)? && shape.data().contains(&0.0) {
        return Err(attrs.unsupported(
            "allowzero",
            1,
            "a 0 in the shape would make an empty tensor; export with allowzero = 0 (0 copies \
             the input's dimension)",
        ));
    }
    Ok(Built::Node {
        op: Op::Reshape,
        inputs: vec![data, shape_id],
    })
}

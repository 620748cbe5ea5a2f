//! Add, Sub, Mul, Div, Sum, Neg.
//!
//! The graph's arithmetic broadcasts like NumPy (opset 7 on). Opset 6 broadcasts only
//! when `broadcast = 1`, aligning B with A's trailing dimensions, or with A's dimensions
//! from `axis` on when it is given; the builders accept that only where it means the
//! same as NumPy broadcasting.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::{Op, ValueId};

/// Neg (opset 6, 13).
pub(super) fn neg(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "X")?;
    Ok(Built::Node {
        op: Op::Neg,
        inputs: vec![x],
    })
}

/// Add (opset 6, 7, 13, 14).
pub(super) fn add(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let (a, b) = operands(node, ctx)?;
    Ok(binary(Op::Add, a, b))
}

/// Sub (opset 6, 7, 13, 14).
pub(super) fn sub(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let (a, b) = operands(node, ctx)?;
    Ok(binary(Op::Sub, a, b))
}

/// Mul (opset 6, 7, 13, 14): by a constant (the linear protocol) or of two run-time
/// values (a multiplication triple per element).
pub(super) fn mul(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let (a, b) = operands(node, ctx)?;
    Ok(binary(Op::Mul, a, b))
}

/// Div (opset 6, 7, 13, 14): the divisor B must not depend on the graph input.
pub(super) fn div(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let (a, b) = operands(node, ctx)?;
    ctx.require_static(node, b, "B, the divisor")?;
    Ok(binary(Op::Div, a, b))
}

/// Sum (opset 6, 8, 13): one or more inputs (same shape in opset 6, NumPy broadcasting
/// from opset 8).
pub(super) fn sum(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let count = node.input.len().max(1);
    let inputs = (0..count)
        .map(|index| ctx.input(node, index, "data_0 ... data_n"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Built::Node {
        op: Op::Sum,
        inputs,
    })
}

fn binary(op: Op, a: ValueId, b: ValueId) -> Built {
    Built::Node {
        op,
        inputs: vec![a, b],
    }
}

/// Inputs A and B, after checking opset 6 broadcasting.
fn operands(node: &NodeProto, ctx: &Context) -> Result<(ValueId, ValueId), ImportError> {
    let a = ctx.input(node, 0, "A")?;
    let b = ctx.input(node, 1, "B")?;
    if ctx.opset < 7 {
        legacy_broadcast(node, ctx, a, b)?;
    }
    Ok((a, b))
}

/// Opset 6 `broadcast` / `axis`. Without `broadcast`, A and B have one shape, where
/// NumPy broadcasting changes nothing; without `axis`, B is aligned with A's trailing
/// dimensions, as in NumPy. With `axis`, the shapes must show that B's alignment is
/// the trailing one anyway (or that B has one element).
fn legacy_broadcast(
    node: &NodeProto,
    ctx: &Context,
    a: ValueId,
    b: ValueId,
) -> Result<(), ImportError> {
    let attrs = ctx.attributes(node);
    let Some(axis) = attrs.int("axis")? else {
        return Ok(());
    };
    if !attrs.flag("broadcast", false)? {
        return Ok(());
    }
    if let (Some(a_shape), Some(b_shape)) = (ctx.shape(a), ctx.shape(b)) {
        let rank = i64::try_from(a_shape.len()).unwrap_or(i64::MAX);
        let b_rank = i64::try_from(b_shape.len()).unwrap_or(i64::MAX);
        let axis = if axis < 0 { axis + rank } else { axis };
        if axis == rank - b_rank || b_shape.iter().product::<usize>() == 1 {
            return Ok(());
        }
    }
    Err(attrs.unsupported(
        "axis",
        axis,
        &format!(
            "opset 6 broadcasting aligns B (`{}`) with the dimensions of A (`{}`) from axis \
             {axis} on; cryptflow broadcasts like NumPy (B aligned with A's last dimensions) \
             and cannot tell that the two agree here (the shapes are unknown or differ): \
             convert the model with onnx.version_converter.convert_version(model, 7), which \
             rewrites the broadcast",
            ctx.name(b),
            ctx.name(a)
        ),
    ))
}

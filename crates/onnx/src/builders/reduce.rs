//! ReduceMean, ReduceSum.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::{Op, ReduceKind};

/// ReduceMean (opset 1, 11, 13, 18) and ReduceSum (opset 1, 11, 13): `keepdims`
/// (default 1); `axes` from the attribute, or from opset 18 (ReduceMean) and 13
/// (ReduceSum) from the optional constant input 1, with `noop_with_empty_axes`.
pub(super) fn reduce_mean(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    reduce(node, ctx, ReduceKind::Mean, 18)
}

pub(super) fn reduce_sum(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    reduce(node, ctx, ReduceKind::Sum, 13)
}

fn reduce(
    node: &NodeProto,
    ctx: &Context,
    kind: ReduceKind,
    axes_as_input_from: i64,
) -> Result<Built, ImportError> {
    let data = ctx.input(node, 0, "data")?;
    let attrs = ctx.attributes(node);
    let axes = ctx.axes(node, axes_as_input_from)?;
    Ok(Built::Node {
        op: Op::Reduce {
            kind,
            axes: axes.unwrap_or_default(),
            keep_dims: attrs.flag("keepdims", true)?,
            noop_with_empty_axes: attrs.flag("noop_with_empty_axes", false)?,
        },
        inputs: vec![data],
    })
}

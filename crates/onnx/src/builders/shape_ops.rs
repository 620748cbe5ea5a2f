//! The operators of shape arithmetic: Shape, Gather, Slice (which also slices
//! activations).

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::Op;

/// Shape (opset 1, 13, 15, 19, 21): the whole shape of input 0. Its value depends only
/// on that shape, so later nodes may treat it as a constant (the compiler folds it).
///
/// The `start` / `end` of opset 15 are accepted only when they select the whole shape:
/// with the input's rank known, after ONNX's clamping; with it unknown, `start` 0 (or
/// absent) and no `end`. Anything else is unsupported (there is no slice in the graph).
pub(super) fn shape(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let data = ctx.input(node, 0, "data")?;
    let start = attrs.int("start")?;
    let end = attrs.int("end")?;
    if start.is_some() || end.is_some() {
        let rank = ctx
            .shape(data)
            .map(|shape| i64::try_from(shape.len()).unwrap_or(i64::MAX));
        let clamp =
            |value: i64, rank: i64| if value < 0 { value + rank } else { value }.clamp(0, rank);
        let (whole_start, whole_end) = match rank {
            Some(rank) => (
                clamp(start.unwrap_or(0), rank) == 0,
                clamp(end.unwrap_or(rank), rank) == rank,
            ),
            None => (start.unwrap_or(0) == 0, end.is_none()),
        };
        let partial = match (whole_start, whole_end, start, end) {
            (false, _, Some(start), _) => Some(("start", start)),
            (_, false, _, Some(end)) => Some(("end", end)),
            _ => None,
        };
        if let Some((attribute, value)) = partial {
            return Err(attrs.unsupported(
                attribute,
                value,
                &format!(
                    "cryptflow imports Shape of the whole shape only, and this one selects \
                     part of the shape of `{}`{}: export without start/end (e.g. \
                     Shape -> Gather)",
                    ctx.name(data),
                    if rank.is_none() {
                        " (or its rank is unknown)"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    Ok(Built::Node {
        op: Op::Shape,
        inputs: vec![data],
    })
}

/// Gather (opset 1, 11, 13): data, indices; `axis`, default 0. The indices stay an
/// input but must not depend on the graph input (a constant, or computed from constants
/// and shapes): a secret index is not supported.
pub(super) fn gather(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let data = ctx.input(node, 0, "data")?;
    let indices = ctx.input(node, 1, "indices")?;
    ctx.require_static(node, indices, "indices")?;
    let axis = ctx.attributes(node).int_or("axis", 0)?;
    Ok(Built::Node {
        op: Op::Gather { axis },
        inputs: vec![data, indices],
    })
}

/// Slice (opset 1, 10, 11, 13): `starts`, `ends` and `axes` as attributes before opset
/// 10; from opset 10 the inputs starts, ends and the optional axes and steps, all
/// constant. Clamping and negative indices are resolved by the compiler, which knows
/// the input's shape.
pub(super) fn slice(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let data = ctx.input(node, 0, "data")?;
    let (starts, ends, axes, steps) = if ctx.opset < 10 {
        let attrs = ctx.attributes(node);
        let required = |name: &str| -> Result<Vec<i64>, ImportError> {
            attrs
                .ints(name)?
                .map(<[i64]>::to_vec)
                .ok_or_else(|| attrs.invalid(name, "it is required but absent".into()))
        };
        let axes = attrs.ints("axes")?.map(<[i64]>::to_vec).unwrap_or_default();
        (required("starts")?, required("ends")?, axes, Vec::new())
    } else {
        let ints = |index: usize, role: &'static str| -> Result<Vec<i64>, ImportError> {
            let id = ctx.input(node, index, role)?;
            ctx.constant_ints(node, id, role)
        };
        let optional = |index: usize, role: &'static str| -> Result<Vec<i64>, ImportError> {
            Ok(ctx
                .optional_input(node, index)?
                .map(|id| ctx.constant_ints(node, id, role))
                .transpose()?
                .unwrap_or_default())
        };
        (
            ints(1, "starts")?,
            ints(2, "ends")?,
            optional(3, "axes")?,
            optional(4, "steps")?,
        )
    };
    Ok(Built::Node {
        op: Op::Slice {
            starts,
            ends,
            axes,
            steps,
        },
        inputs: vec![data],
    })
}

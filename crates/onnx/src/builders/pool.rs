//! MaxPool, AveragePool, GlobalAveragePool.

use super::window::{kernel, window};
use crate::attributes::Attributes;
use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::{Op, PoolAttrs};

/// MaxPool (opset 1, 8, 10, 11, 12): kernel_shape, strides, pads, ceil_mode, auto_pad;
/// dilations other than 1 and storage_order other than 0 are unsupported.
pub(super) fn max_pool(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let x = ctx.input(node, 0, "X")?;
    let storage_order = attrs.int_or("storage_order", 0)?;
    if storage_order != 0 {
        return Err(attrs.unsupported(
            "storage_order",
            storage_order,
            "only row-major (0) is supported; it matters only for the Indices output, which \
             cryptflow does not import: export without it",
        ));
    }
    let pool = pool_attrs(&attrs, ctx, x)?;
    Ok(Built::Node {
        op: Op::MaxPool(pool),
        inputs: vec![x],
    })
}

/// AveragePool (opset 1, 7, 10, 11, 19): as MaxPool plus count_include_pad; the
/// dilations of opset 19 must be 1.
pub(super) fn average_pool(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let x = ctx.input(node, 0, "X")?;
    let count_include_pad = attrs.flag("count_include_pad", false)?;
    let pool = pool_attrs(&attrs, ctx, x)?;
    Ok(Built::Node {
        op: Op::AveragePool {
            attrs: pool,
            count_include_pad,
        },
        inputs: vec![x],
    })
}

pub(super) fn global_average_pool(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "X")?;
    Ok(Built::Node {
        op: Op::GlobalAveragePool,
        inputs: vec![x],
    })
}

fn pool_attrs(attrs: &Attributes, ctx: &Context, x: usize) -> Result<PoolAttrs, ImportError> {
    let spatial = attrs
        .sizes("kernel_shape", 1)?
        .ok_or_else(|| attrs.invalid("kernel_shape", "it is required but absent".into()))?;
    let kernel = kernel(attrs, &spatial, "pooling")?;
    let ceil_mode = attrs.flag("ceil_mode", false)?;
    let geometry = window(attrs, kernel, ctx.shape(x), ctx.name(x))?;
    if geometry.dilations != [1, 1] {
        return Err(attrs.unsupported(
            "dilations",
            format!("{:?}", geometry.dilations),
            "pooling with dilations other than 1 is not supported: export without them",
        ));
    }
    Ok(PoolAttrs {
        kernel: kernel.size,
        strides: geometry.strides,
        pads: geometry.pads,
        ceil_mode,
    })
}

//! Conv.

use super::window::{kernel, window};
use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::{ConvAttrs, Op};

/// Conv (opset 1, 11): X, W, optional B; kernel_shape (or W's spatial dims), strides,
/// pads, dilations, group, auto_pad.
pub(super) fn conv(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let x = ctx.input(node, 0, "X")?;
    let w = ctx.input(node, 1, "W")?;
    let bias = ctx.optional_input(node, 2)?;
    let weight_shape = ctx.constant(w).map(|t| t.shape());
    let spatial = match (attrs.sizes("kernel_shape", 1)?, weight_shape) {
        (Some(spatial), _) => spatial,
        (None, Some(shape)) if shape.len() >= 2 => shape[2..].to_vec(),
        (None, Some(shape)) => {
            return Err(attrs.invalid(
                "kernel_shape",
                format!(
                    "absent, and weight `{}` has shape {shape:?} with no spatial dimensions",
                    ctx.name(w)
                ),
            ))
        }
        (None, None) => {
            return Err(ctx.not_constant(
                node,
                w,
                "W, whose shape gives the kernel as kernel_shape is absent",
            ))
        }
    };
    let kernel = kernel(&attrs, &spatial, "convolution")?;
    let groups = attrs.int_or("group", 1)?;
    let groups = usize::try_from(groups)
        .ok()
        .filter(|&g| g >= 1)
        .ok_or_else(|| attrs.invalid("group", format!("{groups} is below 1")))?;
    if let Some(shape) = weight_shape {
        let spatial = if kernel.one_d {
            &kernel.size[1..]
        } else {
            &kernel.size[..]
        };
        if shape.len() != 2 + spatial.len() || shape[2..] != *spatial {
            return Err(attrs.invalid(
                "kernel_shape",
                format!(
                    "{spatial:?} does not match weight `{}` of shape {shape:?}",
                    ctx.name(w)
                ),
            ));
        }
        if shape[0] % groups != 0 {
            return Err(attrs.invalid(
                "group",
                format!(
                    "{groups} does not divide the {} output channels of `{}`",
                    shape[0],
                    ctx.name(w)
                ),
            ));
        }
    }
    let geometry = window(&attrs, kernel, ctx.shape(x), ctx.name(x))?;
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    Ok(Built::Node {
        op: Op::Conv(ConvAttrs {
            kernel: kernel.size,
            strides: geometry.strides,
            pads: geometry.pads,
            dilations: geometry.dilations,
            groups,
        }),
        inputs,
    })
}

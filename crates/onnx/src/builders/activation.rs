//! Relu, LeakyRelu, PRelu, HardSigmoid, HardSwish, Sigmoid, Tanh, Softplus, Clip,
//! Softmax.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::Op;

/// Relu (opset 6, 13, 14).
pub(super) fn relu(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "X")?;
    Ok(Built::Node {
        op: Op::Relu,
        inputs: vec![x],
    })
}

/// LeakyRelu (opset 6, 16): `alpha`, default 0.01.
pub(super) fn leaky_relu(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "X")?;
    let alpha = ctx.attributes(node).float("alpha")?.unwrap_or(0.01);
    Ok(Built::Node {
        op: Op::LeakyRelu { alpha },
        inputs: vec![x],
    })
}

/// PRelu (opset 6, 7, 9, 16): X and a constant slope broadcasting to X (a learned
/// weight, so the model owner's secret like the others).
pub(super) fn prelu(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "X")?;
    let slope = ctx.input(node, 1, "slope")?;
    ctx.require_static(node, slope, "slope")?;
    Ok(Built::Node {
        op: Op::PRelu,
        inputs: vec![x, slope],
    })
}

/// HardSigmoid (opset 6, 22): `alpha` (default 0.2) and `beta` (default 0.5).
pub(super) fn hard_sigmoid(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "X")?;
    let attrs = ctx.attributes(node);
    let alpha = attrs.float("alpha")?.unwrap_or(0.2);
    let beta = attrs.float("beta")?.unwrap_or(0.5);
    if !alpha.is_finite() || !beta.is_finite() {
        return Err(attrs.invalid(
            "alpha",
            format!("alpha {alpha} and beta {beta} must be finite"),
        ));
    }
    Ok(Built::Node {
        op: Op::HardSigmoid { alpha, beta },
        inputs: vec![x],
    })
}

/// HardSwish (opset 14, 22): `x · HardSigmoid(x)` with alpha 1/6 and beta 1/2.
pub(super) fn hard_swish(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    unary(node, ctx, Op::HardSwish)
}

/// A one-input activation without attributes (Sigmoid, Tanh: opset 6, 13; Softplus:
/// opset 1).
fn unary(node: &NodeProto, ctx: &Context, op: Op) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "X")?;
    Ok(Built::Node {
        op,
        inputs: vec![x],
    })
}

pub(super) fn sigmoid(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    unary(node, ctx, Op::Sigmoid)
}

pub(super) fn tanh(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    unary(node, ctx, Op::Tanh)
}

pub(super) fn softplus(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    unary(node, ctx, Op::Softplus)
}

/// Clip (opset 6, 11, 12, 13): before opset 11 the bounds are the attributes `min` and
/// `max`; from opset 11 the optional inputs 1 and 2, which must be constant scalars. A
/// bound that is absent, infinite or the float extreme (opset 6's defaults) is `None`;
/// a min above the max is [`ImportError::UnsupportedAttribute`].
pub(super) fn clip(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "input")?;
    let (min, max) = if ctx.opset < 11 {
        let attrs = ctx.attributes(node);
        (attrs.float("min")?, attrs.float("max")?)
    } else {
        let bound = |index, role| {
            ctx.optional_input(node, index)?
                .map(|id| ctx.constant_scalar(node, id, role))
                .transpose()
        };
        (bound(1, "min")?, bound(2, "max")?)
    };
    let (min, max) = (
        min.filter(|&min| min > f32::MIN),
        max.filter(|&max| max < f32::MAX),
    );
    // ONNX leaves min > max undefined (onnxruntime outputs max everywhere); the program
    // and its validation require min ≤ max, so it is refused here with the bounds.
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            return Err(ctx.attributes(node).unsupported(
                "min",
                format!("{lo} > max {hi}"),
                "a Clip whose min is above its max has no defined result: fix the bounds \
                 (min ≤ max) before export",
            ));
        }
    }
    Ok(Built::Node {
        op: Op::Clip { min, max },
        inputs: vec![x],
    })
}

/// Softmax (opset 1, 11, 13). `Op::Softmax { axis }` normalises over the one axis
/// `axis` (opset 13's meaning); the default is -1 from opset 13 and 1 before.
///
/// Before opset 13, Softmax normalises over all dimensions from `axis` on (the input
/// seen as 2-D). That is one axis when at most one of those dimensions is not 1, which
/// the builder checks on the input's shape (the graph input's, or the one stated for
/// the input or the output in the model); the axis it emits is then that dimension's,
/// non-negative.
pub(super) fn softmax(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let x = ctx.input(node, 0, "input")?;
    let axis = if ctx.opset >= 13 {
        attrs.int_or("axis", -1)?
    } else {
        let axis = attrs.int_or("axis", 1)?;
        let output = node.output.first().map_or("", String::as_str);
        let Some(shape) = ctx
            .shape(x)
            .or_else(|| ctx.hints.get(output).map(Vec::as_slice))
        else {
            return Err(attrs.unsupported(
                "axis",
                axis,
                &format!(
                    "before opset 13 Softmax normalises over all dimensions from `axis` on, \
                     cryptflow's over one axis, and the shape of `{}` is unknown, so the two \
                     cannot be matched: add shapes with onnx.shape_inference.infer_shapes, or \
                     convert the model to opset 13",
                    ctx.name(x)
                ),
            ));
        };
        let rank = i64::try_from(shape.len()).unwrap_or(i64::MAX);
        let start = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&start) {
            return Err(attrs.invalid(
                "axis",
                format!(
                    "{axis} is outside the {rank} dimensions of `{}`",
                    ctx.name(x)
                ),
            ));
        }
        let spread: Vec<i64> = (start..rank)
            .filter(|&d| shape.get(d as usize) != Some(&1))
            .collect();
        match spread.as_slice() {
            [] => start,
            [single] => *single,
            _ => {
                return Err(attrs.unsupported(
                    "axis",
                    axis,
                    &format!(
                        "before opset 13 Softmax normalises over all dimensions from `axis` on, \
                         here dimensions {spread:?} of shape {shape:?}, but cryptflow's Softmax \
                         normalises over one axis: export with opset 13 or later (or reshape to \
                         2-D around the Softmax)"
                    ),
                ))
            }
        }
    };
    Ok(Built::Node {
        op: Op::Softmax { axis },
        inputs: vec![x],
    })
}

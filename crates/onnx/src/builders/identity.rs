//! Relu, Add, Identity, Dropout.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::Op;

pub(super) fn relu(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    unary(node, ctx, Op::Relu)
}

pub(super) fn identity(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    unary(node, ctx, Op::Identity)
}

pub(super) fn add(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let a = ctx.input(node, 0, "A")?;
    let b = ctx.input(node, 1, "B")?;
    Ok(Built::Node {
        op: Op::Add,
        inputs: vec![a, b],
    })
}

/// Dropout is the identity at inference. From opset 12 it has the inputs `ratio` and
/// `training_mode`; a `training_mode` that is not a constant false is unsupported.
pub(super) fn dropout(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let mode = match ctx.opset {
        12.. => ctx.optional_input(node, 2)?,
        _ => None,
    };
    if let Some(mode) = mode {
        let training = ctx.require_constant(node, mode, "training_mode")?;
        if training.data().iter().any(|&v| v != 0.0) {
            return Err(ctx.attributes(node).unsupported(
                "training_mode (input 2)",
                "true",
                "dropout in training mode is random; cryptflow runs inference: export the \
                 model in eval mode (model.eval() before torch.onnx.export)",
            ));
        }
    }
    unary(node, ctx, Op::Identity)
}

fn unary(node: &NodeProto, ctx: &Context, op: Op) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "X")?;
    Ok(Built::Node {
        op,
        inputs: vec![x],
    })
}

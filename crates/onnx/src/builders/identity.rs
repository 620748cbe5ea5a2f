//! The operators that are the identity on the values cryptflow computes: Identity,
//! Dropout (at inference) and Cast.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::tensor_proto::DataType;
use crate::proto::NodeProto;
use cryptflow_ir::Op;

/// Identity (opset 1, 13, 14, 16, 19, 21).
pub(super) fn identity(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    unary(node, ctx, Op::Identity)
}

/// Dropout is the identity at inference. Opset 6 has the attribute `is_test`, which
/// must be 1; from opset 12 it has the inputs `ratio` and `training_mode`, and a
/// `training_mode` that is not a constant false is unsupported.
pub(super) fn dropout(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    if ctx.opset < 7 && !attrs.flag("is_test", false)? {
        return Err(attrs.unsupported(
            "is_test",
            attrs
                .int("is_test")?
                .map_or("0 (the default)".into(), |v| v.to_string()),
            "opset 6 Dropout with is_test = 0 drops values at random (training); cryptflow \
             runs inference: export the model in eval mode (model.eval() before \
             torch.onnx.export) or set is_test = 1",
        ));
    }
    let mode = match ctx.opset {
        12.. => ctx.optional_input(node, 2)?,
        _ => None,
    };
    if let Some(mode) = mode {
        let training = ctx.require_constant(node, mode, "training_mode")?;
        if training.data().iter().any(|&v| v != 0.0) {
            return Err(attrs.unsupported(
                "training_mode (input 2)",
                "true",
                "dropout in training mode is random; cryptflow runs inference: export the \
                 model in eval mode (model.eval() before torch.onnx.export)",
            ));
        }
    }
    unary(node, ctx, Op::Identity)
}

/// Cast (opset 6, 9, 13, 19, 21) to any numeric type. `Op::Cast` is the identity on the
/// graph's float values, so the builder accepts only casts where that is exact:
/// * a value computed from the graph input may be cast to a float type only;
/// * a constant cast to an integer type must hold integers in that type's range (0 or
///   1 for bool).
///
/// Values computed from constants and shapes (e.g. Shape -> Cast) are integers already
/// and are accepted with any target. Strings, complex and 8/4/2-bit float targets are
/// unsupported.
pub(super) fn cast(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let input = ctx.input(node, 0, "input")?;
    let code = attrs
        .int("to")?
        .ok_or_else(|| attrs.invalid("to", "it is required but absent".into()))?;
    let target = i32::try_from(code)
        .ok()
        .and_then(|code| DataType::try_from(code).ok())
        .ok_or_else(|| attrs.invalid("to", format!("{code} is no ONNX element type")))?;
    let type_name = target.as_str_name();
    let range = match target {
        DataType::Float | DataType::Double | DataType::Float16 | DataType::Bfloat16 => None,
        DataType::Bool => Some((0.0, 1.0)),
        DataType::Int8 => Some((-128.0, 127.0)),
        DataType::Uint8 => Some((0.0, 255.0)),
        DataType::Int16 => Some((-32768.0, 32767.0)),
        DataType::Uint16 => Some((0.0, 65535.0)),
        DataType::Int32 => Some((-2_147_483_648.0, 2_147_483_647.0)),
        DataType::Uint32 => Some((0.0, 4_294_967_295.0)),
        DataType::Int64 => Some((-9.2e18, 9.2e18)),
        DataType::Uint64 => Some((0.0, 1.8e19)),
        DataType::Int4 => Some((-8.0, 7.0)),
        DataType::Uint4 => Some((0.0, 15.0)),
        _ => {
            return Err(attrs.unsupported(
                "to",
                type_name,
                "cryptflow computes on float32 values and casts only to float, integer and \
                 bool types: remove the Cast before export",
            ))
        }
    };
    if let Some((low, high)) = range {
        if !ctx.is_static(input) {
            return Err(attrs.unsupported(
                "to",
                type_name,
                &format!(
                    "`{}` is computed from the graph input and casting it to an integer type \
                     would round it, but cryptflow treats Cast as the identity on its float \
                     values: remove the Cast or cast to a float type",
                    ctx.name(input)
                ),
            ));
        }
        let outside = ctx.constant(input).and_then(|constant| {
            constant
                .data()
                .iter()
                .find(|&&v| v.fract() != 0.0 || !(low..=high).contains(&v))
        });
        if let Some(value) = outside {
            return Err(attrs.unsupported(
                "to",
                type_name,
                &format!(
                    "the constant `{}` holds {value}, which the cast would change, but \
                     cryptflow treats Cast as the identity: fold the Cast before export \
                     (e.g. with onnxsim)",
                    ctx.name(input)
                ),
            ));
        }
    }
    unary(node, ctx, Op::Cast)
}

fn unary(node: &NodeProto, ctx: &Context, op: Op) -> Result<Built, ImportError> {
    let x = ctx.input(node, 0, "X")?;
    Ok(Built::Node {
        op,
        inputs: vec![x],
    })
}

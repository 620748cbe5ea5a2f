//! Constant (an entry of `Graph::constants`, not a node) and ConstantOfShape.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use crate::tensor::{exact_f32, to_f32};
use cryptflow_ir::Op;
use cryptflow_ring::Tensor;

/// Constant (opset 1, 9, 11, 12, 13, 19, 21): `value`, `value_float(s)` or `value_int(s)`; integers
/// become exact float32 values. Sparse and string constants are unsupported.
pub(super) fn constant(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let name = node.output.first().map_or(ctx.node_name, String::as_str);
    for unsupported in ["sparse_value", "value_string", "value_strings"] {
        if attrs.has(unsupported) {
            return Err(attrs.unsupported(
                unsupported,
                "(present)",
                "only numeric dense constants are supported: store the constant as a dense \
                 float32 tensor",
            ));
        }
    }
    let tensor = if let Some(value) = attrs.tensor("value")? {
        to_f32(value, name)?
    } else if let Some(value) = attrs.float("value_float")? {
        dense(name, vec![], vec![value])?
    } else if let Some(values) = attrs.floats("value_floats")? {
        dense(name, vec![values.len()], values.to_vec())?
    } else if let Some(value) = attrs.int("value_int")? {
        dense(
            name,
            vec![],
            exact_f32(name, std::iter::once(i128::from(value)))?,
        )?
    } else if let Some(values) = attrs.ints("value_ints")? {
        dense(
            name,
            vec![values.len()],
            exact_f32(name, values.iter().map(|&v| i128::from(v)))?,
        )?
    } else {
        return Err(attrs.invalid(
            "value",
            "a Constant needs one of value, value_float(s), value_int(s)".into(),
        ));
    };
    Ok(Built::Constant(tensor))
}

/// ConstantOfShape (opset 9, 20, 21): input 0 is the shape, a constant or a value
/// computed from constants and shapes (the compiler folds the node); `value` is a
/// one-element tensor of any numeric type, default float 0.
pub(super) fn constant_of_shape(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let shape = ctx.input(node, 0, "input, the output's shape")?;
    ctx.require_static(node, shape, "input, the output's shape")?;
    let value = match attrs.tensor("value")? {
        None => 0.0,
        Some(tensor) => match to_f32(tensor, ctx.node_name)?.data() {
            [value] => *value,
            data => {
                return Err(attrs.invalid(
                    "value",
                    format!("it must hold one element but holds {}", data.len()),
                ))
            }
        },
    };
    Ok(Built::Node {
        op: Op::ConstantOfShape { value },
        inputs: vec![shape],
    })
}

fn dense(name: &str, shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor<f32>, ImportError> {
    Tensor::new(shape, data).map_err(|e| ImportError::InvalidTensor {
        tensor: name.to_owned(),
        reason: e.to_string(),
    })
}

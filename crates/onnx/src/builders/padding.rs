//! Pad.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::Op;

/// Pad (opset 2, 11, 13, 18, 19, 21) in `constant` mode only. Before opset 11 `pads`
/// and `value` (default 0) are attributes; from opset 11 `pads` is the constant input 1
/// and `constant_value` the optional constant input 2 (default 0). The `axes` input of
/// opset 18 is unsupported. `pads` is kept in ONNX order (all begins, then all ends);
/// negative pads (cropping) are unsupported.
pub(super) fn pad(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let data = ctx.input(node, 0, "data")?;
    let mode = attrs.string("mode")?.unwrap_or_else(|| "constant".into());
    match mode.as_str() {
        "constant" => {}
        "reflect" | "edge" | "wrap" => {
            return Err(attrs.unsupported(
                "mode",
                &mode,
                "only constant padding is supported, not reflect, edge or wrap padding: pad \
                 with a constant before export (e.g. nn.ZeroPad2d or nn.ConstantPad2d)",
            ))
        }
        other => {
            return Err(attrs.invalid(
                "mode",
                format!("`{other}` is none of constant, reflect, edge, wrap"),
            ))
        }
    }
    let (pads, value) = if ctx.opset < 11 {
        let pads = attrs
            .ints("pads")?
            .ok_or_else(|| attrs.invalid("pads", "it is required but absent".into()))?;
        (pads.to_vec(), attrs.float("value")?.unwrap_or(0.0))
    } else {
        if let Some(axes) = ctx.optional_input(node, 3)? {
            return Err(attrs.unsupported(
                "axes (input 3)",
                ctx.name(axes),
                "padding selected axes is not supported: export with pads for every axis \
                 (without the axes input)",
            ));
        }
        let pads_id = ctx.input(node, 1, "pads")?;
        let pads = ctx.constant_ints(node, pads_id, "pads")?;
        let value = match ctx.optional_input(node, 2)? {
            Some(id) => ctx.constant_scalar(node, id, "constant_value")?,
            None => 0.0,
        };
        (pads, value)
    };
    let attribute = if ctx.opset < 11 {
        "pads"
    } else {
        "pads (input 1)"
    };
    if pads.len() % 2 != 0 {
        return Err(attrs.invalid(
            attribute,
            format!("{pads:?} should hold an even number of values (all begins, then all ends)"),
        ));
    }
    if pads.iter().any(|&p| p < 0) {
        return Err(attrs.unsupported(
            attribute,
            format!("{pads:?}"),
            "negative pads (cropping) are not supported: crop with a Slice before export, \
             or pad by non-negative amounts",
        ));
    }
    Ok(Built::Node {
        op: Op::Pad { pads, value },
        inputs: vec![data],
    })
}

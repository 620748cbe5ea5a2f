//! BatchNormalization.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::Op;

/// BatchNormalization (opset 6, 7, 9, 14, 15) at inference: X, scale, B, mean, var;
/// `epsilon` (default 1e-5). The four parameters must not depend on the graph input
/// (constants, or e.g. ConstantOfShape outputs that the compiler folds).
///
/// Unsupported: training (`is_test` other than 1 in opset 6, `training_mode = 1` from
/// opset 14), `spatial = 0` (opset 6 and 7). `momentum` only matters in training. The
/// extra outputs (running or saved statistics) are not imported; using one is
/// [`ImportError::UnsupportedOutput`].
pub(super) fn batch_normalization(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let mut inputs = vec![ctx.input(node, 0, "X")?];
    for (index, role) in [(1, "scale"), (2, "B"), (3, "mean"), (4, "var")] {
        let id = ctx.input(node, index, role)?;
        ctx.require_static(node, id, role)?;
        inputs.push(id);
    }
    if ctx.opset < 7 && !attrs.flag("is_test", false)? {
        return Err(attrs.unsupported(
            "is_test",
            attrs
                .int("is_test")?
                .map_or("0 (the default)".into(), |v| v.to_string()),
            "opset 6 BatchNormalization with is_test = 0 normalises with the batch's own \
             statistics (training); cryptflow runs inference: export the model in eval mode \
             (model.eval() before torch.onnx.export) or set is_test = 1",
        ));
    }
    if !attrs.flag("spatial", true)? {
        return Err(attrs.unsupported(
            "spatial",
            0,
            "per-activation statistics (spatial = 0) are not supported, only per-channel \
             ones: export the model with spatial = 1 (or opset 9 or later)",
        ));
    }
    if attrs.flag("training_mode", false)? {
        return Err(attrs.unsupported(
            "training_mode",
            1,
            "training mode normalises with the batch's own statistics; cryptflow runs \
             inference: export the model in eval mode (model.eval() before torch.onnx.export)",
        ));
    }
    let epsilon = attrs.float("epsilon")?.unwrap_or(1e-5);
    Ok(Built::Node {
        op: Op::BatchNormalization { epsilon },
        inputs,
    })
}

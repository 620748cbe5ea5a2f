//! Gemm, MatMul.

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::{GemmAttrs, Op};

/// Gemm (opset 6, 7, 9, 11, 13): A, B, optional C; alpha, beta, transA, transB. Opset
/// 6's `broadcast` is ignored: C broadcasting unidirectionally (opset 7 on) covers both
/// of its settings.
pub(super) fn gemm(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let attrs = ctx.attributes(node);
    let a = ctx.input(node, 0, "A")?;
    let b = ctx.input(node, 1, "B")?;
    let c = ctx.optional_input(node, 2)?;
    let op = Op::Gemm(GemmAttrs {
        alpha: attrs.float("alpha")?.unwrap_or(1.0),
        beta: attrs.float("beta")?.unwrap_or(1.0),
        trans_a: attrs.flag("transA", false)?,
        trans_b: attrs.flag("transB", false)?,
    });
    let mut inputs = vec![a, b];
    inputs.extend(c);
    Ok(Built::Node { op, inputs })
}

/// MatMul (opset 1, 9, 13): A, B; B must not depend on the graph input (a constant, or
/// computed from constants, e.g. a transposed weight, which the compiler folds).
pub(super) fn matmul(node: &NodeProto, ctx: &Context) -> Result<Built, ImportError> {
    let a = ctx.input(node, 0, "A")?;
    let b = ctx.input(node, 1, "B")?;
    ctx.require_static(node, b, "B, the weight matrix")?;
    Ok(Built::Node {
        op: Op::MatMul,
        inputs: vec![a, b],
    })
}

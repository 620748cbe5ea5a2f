//! Guards for findings that are not fixed yet. They are bugs in crates that other
//! engineers own (README.md, "Findings"), so the harness does not fix them: each guard
//! skips the inputs that hit one known bug so the fuzzer can look past it. Every guard
//! has a reproducer in `regressions/<target>/open/`, which the replay test runs without
//! the guards. Delete a guard when its bug is fixed, and move the reproducer up.

use cryptflow_ir::{Graph, Instruction, InvalidProgram, Kernel, Op, Program};
use cryptflow_ring::pool::PoolGeometry;
use cryptflow_ring::Scale;

/// Whether `program` hits a known open bug, and so is skipped by the guarded targets.
pub(crate) fn known_open(program: &Program) -> bool {
    slot_len_overflows(program)
        || scale_out_of_range(program)
        || softmax_overflows(program)
        || program
            .instructions
            .iter()
            .any(|ins| geometry_sizes(program, ins).is_none() || concat_spins(program, ins))
}

/// `Program::slot_len` (and validate's weight sizes) take `iter().product()` of a
/// peer's shape: an overflow panics in debug builds and wraps in release ones.
/// Reproducer: `regressions/program_receive/open/slot-len-overflow`.
fn slot_len_overflows(program: &Program) -> bool {
    let overflows = |shape: &Vec<usize>| {
        shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .is_none()
    };
    program.slot_shapes.iter().any(overflows) || program.weight_shapes.iter().any(overflows)
}

/// `Scale` deserializes without `Scale::new`'s bound and `validate` does not check it,
/// so `Scale::factor` (`1 << s`) overflows for s ≥ 64 when the client decodes.
/// Reproducer: `regressions/program_run/open/scale-out-of-range`.
fn scale_out_of_range(program: &Program) -> bool {
    u8::try_from(program.scale.bits())
        .ok()
        .and_then(Scale::new)
        .is_none()
}

/// `validate` does not check `softmax` against the output's rank, and
/// `decode_output`'s softmax computes `axis + 1` (overflows for `usize::MAX`) and the
/// product of the dims after the axis (overflows when an earlier dim is 0, though the
/// whole shape's product does not). Debug builds panic. Reproducers:
/// `regressions/program_run/open/softmax-{axis,suffix}-overflow`.
fn softmax_overflows(program: &Program) -> bool {
    let (Some(axis), Some(shape)) = (program.softmax, program.slot_shapes.get(program.output))
    else {
        return false;
    };
    axis == usize::MAX
        || shape
            .iter()
            .skip(axis.saturating_add(1))
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .is_none()
}

fn product(factors: &[usize]) -> Option<usize> {
    factors.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// `validate` sizes each kernel's geometry with unchecked arithmetic (`ConvGeometry` and
/// `PoolGeometry` lengths, `rows * inner`, pad sums, the Concat sum): an overflow
/// panics in debug builds, and in release builds wraps, so that a geometry that does not
/// fit its slots can pass. This computes the same quantities checked; `None` when one
/// overflows. Reproducer: `regressions/program_run/open/pool-geometry-overflow`.
fn geometry_sizes(program: &Program, ins: &Instruction) -> Option<()> {
    match &ins.kernel {
        Kernel::Conv { geometry: g, .. } => {
            product(&[g.in_channels, g.in_height, g.in_width])?;
            // validate rejects these before it sizes anything else.
            if g.groups == 0 || g.kernel.contains(&0) || g.strides.contains(&0) {
                return Some(());
            }
            let mut out = [0; 2];
            for (axis, size) in [g.in_height, g.in_width].into_iter().enumerate() {
                let span = g.dilations[axis]
                    .checked_mul(g.kernel[axis] - 1)?
                    .checked_add(1)?;
                let padded = size
                    .checked_add(g.pads[axis])?
                    .checked_add(g.pads[axis + 2])?;
                out[axis] = (padded.saturating_sub(span) / g.strides[axis]).checked_add(1)?;
            }
            product(&[g.out_channels, out[0], out[1]])?;
            product(&[
                g.out_channels,
                g.in_channels / g.groups,
                g.kernel[0],
                g.kernel[1],
            ])?;
        }
        Kernel::MatMul {
            rows, inner, out, ..
        } => {
            product(&[*inner, *out])?;
            product(&[*rows, *inner])?;
            product(&[*rows, *out])?;
        }
        Kernel::MaxPool(g) | Kernel::SumPool { geometry: g, .. } => pool_sizes(g)?,
        Kernel::Pad { pads, .. } => {
            let shape = program.slot_shapes.get(*ins.inputs.first()?)?;
            if pads.len() == 2 * shape.len() {
                for (i, d) in shape.iter().enumerate() {
                    d.checked_add(pads[i])?.checked_add(pads[shape.len() + i])?;
                }
            }
        }
        Kernel::Concat { .. } => {
            ins.inputs.iter().try_fold(0usize, |total, &slot| {
                total.checked_add(product(program.slot_shapes.get(slot)?)?)
            })?;
        }
        _ => {}
    }
    Some(())
}

fn pool_sizes(g: &PoolGeometry) -> Option<()> {
    if g.kernel.contains(&0) || g.strides.contains(&0) {
        return Some(());
    }
    product(&[g.channels, g.in_height, g.in_width])?;
    let mut out = [0; 2];
    for (axis, size) in [g.in_height, g.in_width].into_iter().enumerate() {
        let padded = size
            .checked_add(g.pads[axis])?
            .checked_add(g.pads[axis + 2])?;
        let span = padded.saturating_sub(g.kernel[axis]);
        let mut n = (span / g.strides[axis]).checked_add(1)?;
        if g.ceil_mode && span % g.strides[axis] != 0 {
            n = n.checked_add(1)?;
            (n - 1).checked_mul(g.strides[axis])?;
        }
        out[axis] = n;
    }
    product(&[g.channels, out[0], out[1]])?;
    Some(())
}

/// A pooling window can hold no input element (a zero-sized input, or a kernel larger
/// than the padded input: `PoolGeometry::out_*` still count one window, and `validate`
/// accepts it). `SecureMaxPool` takes each window's first candidate and panics on an
/// empty one, in release builds too: a model owner can crash the client and itself.
/// Reproducer: `regressions/protocol_messages/open/maxpool-empty-window`.
pub(crate) fn has_empty_window(windows: &[Vec<usize>]) -> bool {
    windows.iter().any(Vec::is_empty)
}

/// `ring::layout::concat` loops over the product of the dims before the axis even when
/// the blocks it copies are empty: a slot `[1, 59, 9393077369, 0]` (no elements)
/// concatenated on axis 3 passes `validate` and spins for ~10^11 iterations. A peer
/// can stall P1 and P2 with a few bytes. Reproducer (a hang, not replayed):
/// `regressions/program_run/open/concat-empty-blocks-spin.timeout`.
fn concat_spins(program: &Program, ins: &Instruction) -> bool {
    let Kernel::Concat { axis } = ins.kernel else {
        return false;
    };
    let Some(shape) = ins.inputs.first().and_then(|&s| program.slot_shapes.get(s)) else {
        return false;
    };
    product(&shape[..axis.min(shape.len())]).is_none_or(|outer| outer > crate::program::MAX_WORK)
}

/// The compiler's shape rule for Reshape (`passes::shapes::reshape`) multiplies the
/// target dims unchecked: a constant target like `[1, 2.16e17, 0, 4, ...]` overflows
/// (debug panic; in release the wrapped product can equal the input's and a wrong
/// shape passes). Reproducer: `regressions/onnx_compile/open/reshape-target-overflow`.
pub(crate) fn reshape_target_overflows(graph: &Graph) -> bool {
    graph.nodes.iter().any(|node| {
        let target = (node.op == Op::Reshape)
            .then(|| node.inputs.get(1).and_then(|&v| graph.constant(v)))
            .flatten();
        target.is_some_and(|t| {
            let dims: Vec<usize> = t
                .data()
                .iter()
                .map(|&d| d as i64)
                .filter(|&d| d > 0)
                .map(|d| d as usize)
                .collect();
            product(&dims).is_none()
        })
    })
}

/// The compiler lowers Add, Sum and Sub (`passes/lower.rs`, `sum` and `sub`) to `Add`
/// and `AddConstant` steps at the broadcast output shape without checking that the
/// activations already have that shape: when a constant broadcasts the activation
/// (`x: [] + c: [0]`, `Sum(x, x, c: [3])` with `x: []`) the program fails `validate`
/// ("slot sizes 1 → 0 differ"). Reproducers:
/// `regressions/onnx_graph/open/{add-constant-broadcasts-activation,sum-broadcasts-activations}`.
pub(crate) fn compiler_broadcasts_activation(e: &InvalidProgram) -> bool {
    matches!(e.kernel, "AddConstant" | "Add" | "Sub") && e.reason.starts_with("slot sizes")
}

/// Constant folding of Concat (`compiler/src/passes/fold.rs`, `dims[axis] = ...`) indexes
/// the first input's dims with the attribute's axis unchecked: a Concat of a scalar
/// constant (or any axis ≥ rank) panics, in release builds too. Only constants known at
/// import are checked here. Reproducer:
/// `regressions/onnx_graph/open/concat-fold-axis-out-of-range`.
pub(crate) fn concat_fold_axis_out_of_range(graph: &Graph) -> bool {
    graph.nodes.iter().any(|node| {
        let Op::Concat { axis } = node.op else {
            return false;
        };
        let Some(first) = node.inputs.first().and_then(|&v| graph.constant(v)) else {
            return false;
        };
        let rank = first.shape().len() as i64;
        let axis = if axis < 0 { axis + rank } else { axis };
        !(0..rank).contains(&axis)
    })
}

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

/// Programs the compiler emits that fail `validate` (P1 and P2 would refuse them, and
/// `plain::run` may panic on them), by kernel and reason:
///
/// * `Add`, `AddConstant`, `Sub`: the compiler lowers Add, Sum and Sub
///   (`passes/lower.rs`, `sum` and `sub`) at the broadcast output shape without checking
///   that the activations already have that shape; when a constant broadcasts the
///   activation (`x: [] + c: [0]`, `Sum(c: [0], x, x)` with `x: []`) the program fails
///   ("slot sizes 1 → 0 differ"). Reproducers:
///   `regressions/onnx_graph/open/{add-constant-broadcasts-activation,sum-broadcasts-activations}`.
/// * `Reshape`: Squeeze's shape rule (`passes/fold.rs`, `squeeze_dims`) drops the listed
///   axes without checking that they have size 1 (or are in range): `[1, 1, 1, 6]`
///   squeezed on axis 3 gives `[1, 1, 1]`, and the reshape from 6 to 1 element fails.
///   Reproducer: `regressions/onnx_compile/open/squeeze-non-unit-axis`.
/// * `MatMul`: a MatMul of a 1-element activation with an empty constant weight `[1, 0]`
///   is lowered with `rows = 0` while the input slot holds 1 element. Reproducer:
///   `regressions/onnx_graph/open/matmul-empty-weight`.
/// * `SumPool`: GlobalAveragePool of a `[7, 4, 4, 1]` activation (a default Transpose of
///   `[1, 4, 4, 7]`) is lowered for one image (16 → 4 elements) though the slots hold
///   the whole batch (112 → 28): the batch dimension is not checked to be 1. Reproducer:
///   `regressions/onnx_graph/open/global-average-pool-ignores-batch`.
pub(crate) fn compiler_emits_invalid(e: &InvalidProgram) -> bool {
    matches!(
        e.kernel,
        "AddConstant" | "Add" | "Sub" | "Reshape" | "MatMul" | "SumPool"
    ) && e.reason.starts_with("slot sizes")
}

/// Panics of `compile` at a known open bug: (file, message). The compiler is pure, so
/// the guarded ONNX targets catch these and skip the input, which also covers inputs
/// that reach the bug through folded constants, where no pre-check can see it.
const KNOWN_COMPILER_PANICS: &[(&str, &str)] = &[
    // The shape rule for Reshape (`passes::shapes::reshape`, and Flatten's) multiplies
    // the target dims unchecked: a target like `[1, 2.16e17, 0, 4, ...]` overflows
    // (debug panic; in release the wrapped product can equal the input's and a wrong
    // shape passes). Reproducer: `regressions/onnx_compile/open/reshape-target-overflow`.
    ("compiler/src/passes/shapes.rs", "multiply with overflow"),
    // Constant folding multiplies dims unchecked the same way (Reshape/Flatten of a
    // constant in `passes/fold.rs`). Reproducer: `regressions/onnx_graph/open/fold-dims-overflow`.
    ("compiler/src/passes/fold.rs", "multiply with overflow"),
    // Concat folding (`passes/fold.rs`, `dims[axis] = ...`) indexes the first input's
    // dims with the attribute's axis unchecked: a Concat of a scalar constant (or any
    // axis ≥ rank) panics, in release builds too. Reproducer:
    // `regressions/onnx_graph/open/concat-fold-axis-out-of-range`.
    ("compiler/src/passes/fold.rs", "index out of bounds"),
    // Concat folding hands `ring::layout::concat` constants whose shapes disagree outside
    // the axis (or differ in rank) without checking them: a slice out of range, in
    // release builds too. Reproducer:
    // `regressions/onnx_graph/open/concat-fold-mismatched-shapes`.
    ("ring/src/layout.rs", "out of range for slice"),
    // Folding ConstantOfShape allocates the shape it is given, unbounded: a folded shape
    // whose size overflows is a capacity-overflow panic (one that fits but is huge is an
    // abort, see `constant_of_shape_huge`). Reproducer:
    // `regressions/onnx_graph/open/constant-of-shape-capacity-overflow`.
    ("compiler/src/passes/fold.rs", "capacity overflow"),
];

/// Runs `f`; a panic at one of [`KNOWN_COMPILER_PANICS`] gives `None`, any other panic
/// is raised again (and so is a finding).
pub(crate) fn tolerating_known_panics<T>(f: impl FnOnce() -> T) -> Option<T> {
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Option<(String, String)>>> = Arc::default();
    let record = Arc::clone(&seen);
    // libfuzzer-sys installs a hook that aborts; swap it for one that records where.
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        // An overflow in `iter().product()` is located in the standard library: take
        // the innermost frame in the project's crates instead.
        let mut place = info.location().map_or_else(String::new, |l| l.to_string());
        if !place.contains("/crates/") {
            let trace = std::backtrace::Backtrace::force_capture().to_string();
            if let Some(line) = trace.lines().find(|l| l.contains("/crates/")) {
                place = line.trim().to_owned();
            }
        }
        if let Ok(mut seen) = record.lock() {
            *seen = Some((place, message));
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    match result {
        Ok(value) => Some(value),
        Err(_) => {
            let (place, message) = seen.lock().ok().and_then(|s| s.clone()).unwrap_or_default();
            let known = KNOWN_COMPILER_PANICS
                .iter()
                .any(|(file, text)| place.contains(file) && message.contains(text));
            if known {
                None
            } else {
                panic!("{message} (at {place})")
            }
        }
    }
}

/// Folding ConstantOfShape allocates the shape its constant input asks for, unbounded:
/// a shape `[109; 8]` (2·10^16 floats) aborts the compiler on a failed allocation, in
/// release builds too (not a panic, so not catchable). A shape folded from other
/// constants (`Sum` of shapes) cannot be checked before compiling, so ConstantOfShape
/// of anything but an initializer is skipped too. Reproducers (aborts):
/// `regressions/onnx_graph/open/constant-of-shape-{huge,folded-huge}.abort`.
pub(crate) fn constant_of_shape_huge(graph: &Graph) -> bool {
    graph.nodes.iter().any(|node| {
        if !matches!(node.op, Op::ConstantOfShape { .. }) {
            return false;
        }
        match node.inputs.first().and_then(|&v| graph.constant(v)) {
            None => true,
            Some(t) => {
                let dims: Vec<usize> = t.data().iter().map(|&d| d.max(0.0) as usize).collect();
                product(&dims).is_none_or(|n| n > crate::program::MAX_ELEMENTS)
            }
        }
    })
}

//! ONNX bytes → `cryptflow_onnx::import_bytes` → `cryptflow_compiler::compile`.

use crate::known;
use crate::program::{work, MAX_ELEMENTS, MAX_WORK};
use cryptflow_compiler::{compile, DEFAULT_SCALE};
use cryptflow_runtime::plain;

/// Imports arbitrary bytes as an ONNX model and compiles what imports. Errors are fine;
/// a compiled program that its own parties would reject, or that panics when run in
/// the clear (small ones are run, on a zero input), is a compiler bug.
pub fn onnx_compile(data: &[u8]) {
    check_compiles(cryptflow_onnx::import_bytes(data), true);
}

/// [`onnx_compile`] without the guards for known open bugs (see `known.rs`).
pub fn onnx_compile_unguarded(data: &[u8]) {
    check_compiles(cryptflow_onnx::import_bytes(data), false);
}

/// Compiles an imported graph and checks what compiles (see [`onnx_compile`]).
pub(crate) fn check_compiles(
    imported: Result<cryptflow_ir::Graph, cryptflow_onnx::ImportError>,
    guarded: bool,
) {
    let Ok(graph) = imported else {
        return;
    };
    // Compile time and memory grow with the model's sizes, which are its author's
    // choice: only small inputs are compiled (the importer refuses absurd ones).
    let input = graph.shape(graph.input).unwrap_or_default();
    if input
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .is_none_or(|n| n > MAX_ELEMENTS)
    {
        return;
    }
    if guarded && known::constant_of_shape_huge(&graph) {
        return;
    }
    let scale = u32::from(DEFAULT_SCALE);
    let compiled = if guarded {
        known::tolerating_known_panics(|| compile(graph, scale))
    } else {
        Some(compile(graph, scale))
    };
    let Some(Ok(compiled)) = compiled else {
        return;
    };
    if let Err(e) = compiled.program.validate() {
        panic!("the compiler emitted a program that does not validate: {e}");
    }
    assert!(
        compiled.program.matches(&compiled.weights),
        "the compiler's weights do not match its program"
    );
    let program = &compiled.program;
    if work(program).is_some_and(|w| w <= MAX_WORK) {
        let input = vec![0; program.slot_len(program.input)];
        plain::run(program, &compiled.weights, input);
    }
}

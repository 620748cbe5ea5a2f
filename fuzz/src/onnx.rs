//! ONNX bytes → `cryptflow_onnx::import_bytes` → `cryptflow_compiler::compile`.

use crate::known::{self, reshape_target_overflows};
use crate::program::{work, MAX_WORK};
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
    if guarded && (reshape_target_overflows(&graph) || known::concat_fold_axis_out_of_range(&graph))
    {
        return;
    }
    let Ok(compiled) = compile(graph, u32::from(DEFAULT_SCALE)) else {
        return;
    };
    if let Err(e) = compiled.program.validate() {
        if guarded && known::compiler_broadcasts_activation(&e) {
            return;
        }
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

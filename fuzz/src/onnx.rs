//! ONNX bytes → `cryptflow_onnx::import_bytes` → `cryptflow_compiler::compile`.

use crate::program::{work, MAX_WORK};
use cryptflow_compiler::{compile, DEFAULT_SCALE};
use cryptflow_runtime::plain;

/// Imports arbitrary bytes as an ONNX model and compiles what imports. Errors are fine;
/// a compiled program that its own parties would reject, or that panics when run in
/// the clear (small ones are run, on a zero input), is a compiler bug.
pub fn onnx_compile(data: &[u8]) {
    let Ok(graph) = cryptflow_onnx::import_bytes(data) else {
        return;
    };
    let Ok(compiled) = compile(graph, u32::from(DEFAULT_SCALE)) else {
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

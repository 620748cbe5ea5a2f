//! Guards for findings that are not fixed yet: each skips the inputs that hit one
//! known bug so the fuzzer can look past it, and has a reproducer in
//! `regressions/<target>/open/`, which the replay test runs without the guards. Delete a
//! guard when its bug is fixed, and move the reproducer up a level.
//!
//! Every finding of the first campaign (README.md, "Findings") is fixed: no guard is
//! left but the panic filter, empty, kept for the next finding in the compiler.

use cryptflow_ir::{Graph, Op};

/// Panics of `compile` at a known open bug: (file, message). The compiler is pure, so
/// the guarded ONNX targets catch these and skip the input, which also covers inputs
/// that reach the bug through folded constants, where no pre-check can see it.
const KNOWN_COMPILER_PANICS: &[(&str, &str)] = &[];

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

/// Not a bug, a limit of the harness: folding ConstantOfShape allocates the shape it is
/// given, up to the compiler's cap of 2^31 elements (8 GiB of floats), which is legal
/// but beyond libFuzzer's memory limit. Shapes the harness cannot bound before
/// compiling (folded from other constants) are skipped too.
pub(crate) fn constant_of_shape_huge(graph: &Graph) -> bool {
    graph.nodes.iter().any(|node| {
        if !matches!(node.op, Op::ConstantOfShape { .. }) {
            return false;
        }
        match node.inputs.first().and_then(|&v| graph.constant(v)) {
            None => true,
            Some(t) => t
                .data()
                .iter()
                .map(|&d| d.max(0.0) as usize)
                .try_fold(1usize, |a, d| a.checked_mul(d))
                .is_none_or(|n| n > crate::program::MAX_ELEMENTS),
        }
    })
}

//! The logic of cryptflow's fuzz targets, as plain functions of the input bytes.
//!
//! Each `fuzz_targets/<name>.rs` is one line that calls the function of the same name
//! here, so the stable `cargo test` (see `replay.rs`) can replay the committed corpus
//! and regressions through exactly the code that libFuzzer ran. Every function must
//! return normally on any input: a panic is a finding (the project's rule is that
//! nothing a file or a peer sends may panic a party).
//!
//! `crates/net` has no target yet on purpose: it is being rewritten for TLS, and its
//! frame and handshake parsing should get one once that lands.

mod artifact;
mod onnx;
mod program;
mod protocol;
#[cfg(test)]
mod replay;

pub use artifact::artifact_read;
pub use onnx::onnx_compile;
pub use program::{program_receive, program_run};
pub use protocol::{protocol_messages, ProtocolCase};

/// Every target by name, for the replay test and tools.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("onnx_compile", onnx_compile),
    ("artifact_read", artifact_read),
    ("program_receive", program_receive),
    ("program_run", program_run),
    ("protocol_messages", protocol_messages),
];

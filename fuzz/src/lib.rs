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
mod known;
mod onnx;
mod onnx_graph;
mod program;
mod protocol;
#[cfg(test)]
mod replay;

pub use artifact::{artifact_read, artifact_read_unguarded};
pub use onnx::{onnx_compile, onnx_compile_unguarded};
pub use onnx_graph::{onnx_graph, onnx_graph_unguarded, GraphSpec};
pub use program::{program_receive, program_receive_unguarded, program_run, program_run_unguarded};
pub use protocol::{protocol_messages, protocol_messages_unguarded, ProtocolCase};

/// A target: its name, its function, and the same without the guards that skip known
/// open bugs (`known.rs`), for replaying their reproducers.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
    pub unguarded: fn(&[u8]),
}

/// Every target, for the replay test and tools.
pub const TARGETS: &[Target] = &[
    Target {
        name: "onnx_compile",
        run: onnx_compile,
        unguarded: onnx_compile_unguarded,
    },
    Target {
        name: "onnx_graph",
        run: onnx_graph,
        unguarded: onnx_graph_unguarded,
    },
    Target {
        name: "artifact_read",
        run: artifact_read,
        unguarded: artifact_read_unguarded,
    },
    Target {
        name: "program_receive",
        run: program_receive,
        unguarded: program_receive_unguarded,
    },
    Target {
        name: "program_run",
        run: program_run,
        unguarded: program_run_unguarded,
    },
    Target {
        name: "protocol_messages",
        run: protocol_messages,
        unguarded: protocol_messages_unguarded,
    },
];

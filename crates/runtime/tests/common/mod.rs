//! Helpers the runtime's integration tests share (each test binary uses some).
#![allow(dead_code)]

use cryptflow_ir::{Graph, Node, Op, ValueId};
use cryptflow_ring::Prg;

/// `n` values uniform in [−scale/2, scale/2), from `prg`.
pub fn random(prg: &mut Prg, n: usize, scale: f32) -> Vec<f32> {
    prg.u64s(n)
        .iter()
        .map(|&r| ((r >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale)
        .collect()
}

/// Appends the nodes `ops` (each an op and its inputs), the i-th named `names[i]`
/// and writing `outputs[i]`.
pub fn push_nodes(
    g: &mut Graph,
    names: &[&str],
    outputs: &[ValueId],
    ops: Vec<(Op, Vec<ValueId>)>,
) {
    for (i, (op, inputs)) in ops.into_iter().enumerate() {
        g.nodes.push(Node {
            name: names[i].into(),
            op,
            inputs,
            output: outputs[i],
        });
    }
}

//! P2, the helper: deals the correlated randomness of every step to P1, derived from
//! the seeds it shares with each share-holder. It holds no share of any secret and
//! receives nothing during the run, so it can stream everything ahead of need.

use crate::link::Link;
use crate::report::{PartyReport, Recorder};
use crate::session::{Agreed, SessionOptions};
use crate::shareholder::{self, comparison_width, stream, LINEAR, PRODUCT, SELECT};
use crate::{local, session, RuntimeError};
use cryptflow_compiler::passes::memory;
use cryptflow_ir::{Kernel, Program, WeightId};
use cryptflow_net::Transport;
use cryptflow_protocol::linear::{self, Bilinear};
use cryptflow_protocol::msgs::{LinearCorrection, Outgoing, ProductCorrection, SelectCorrection};
use cryptflow_protocol::product::{self, ProductShape};
use cryptflow_protocol::relu::{ReluCorrelation, Width};
use cryptflow_protocol::{PairwiseSeeds, StreamId};
use cryptflow_ring::Party;
use std::collections::HashSet;

/// Runs P2 to the end of one inference.
pub fn run_helper(transport: &mut dyn Transport) -> Result<PartyReport, RuntimeError> {
    run_helper_within(transport, SessionOptions::default())
}

/// As [`run_helper`], with this party's session options (a memory budget, an
/// offline phase; see [`session::agree_plan`]).
pub fn run_helper_within(
    transport: &mut dyn Transport,
    options: SessionOptions,
) -> Result<PartyReport, RuntimeError> {
    let recorder = Recorder::new();
    let seeds = session::establish_seeds(transport)?;
    let (program, _) = session::receive_program(transport)?;
    helper_session(transport, &program, seeds, options, recorder)
}

/// P2 after setup: the seeds are agreed and the program received.
pub(crate) fn helper_session(
    transport: &mut dyn Transport,
    program: &Program,
    seeds: PairwiseSeeds,
    options: SessionOptions,
    mut recorder: Recorder,
) -> Result<PartyReport, RuntimeError> {
    let Agreed {
        plan,
        offline_phase,
    } = session::agree_plan(transport, program, options)?;
    let mut link = Link::new(transport, seeds);
    let setup = recorder.elapsed();
    // Weights whose mask B this helper has derived (see `deal_linear`).
    let mut masks_derived = HashSet::new();
    let order = dealing_order(program, offline_phase);
    for &step in &order {
        let instruction = &program.instructions[step];
        recorder.begin(&link);
        let n = program.slot_len(instruction.inputs[0]);
        match shareholder::linear_step(&instruction.kernel, n) {
            Some((map, weight)) => {
                let correction = deal_linear(
                    &link,
                    step,
                    map.bilinear(),
                    weight,
                    plan.block(step),
                    &mut masks_derived,
                );
                link.send_outgoing(Party::Client, step, Outgoing::new(correction, 0))?;
            }
            None if instruction.kernel == Kernel::Mul => {
                let correction = deal_product(&link, program, step);
                link.send_outgoing(Party::Client, step, Outgoing::new(correction, 0))?;
            }
            None => {
                let width = comparison_width(instruction);
                let kernel = &instruction.kernel;
                deal_selects(&mut link, (step, width), kernel, n, plan.piece(step))?;
            }
        }
        recorder.end(&link, &instruction.source, instruction.kernel.name());
    }
    recorder.order_layers(&order);
    let online = recorder.elapsed() - setup;
    Ok(recorder.finish(&link, setup, online))
}

/// The order the helper deals the steps in. With an offline phase, every linear
/// step's correction comes first (P1 computes its products with them before the
/// input exists), then the selects in instruction order; otherwise all in instruction
/// order. P1 reads them in the same order (client.rs).
fn dealing_order(program: &Program, precompute: bool) -> Vec<usize> {
    let steps = 0..program.instructions.len();
    if !precompute {
        return steps.collect();
    }
    let is_linear = |&step: &usize| program.instructions[step].kernel.linear_weight().is_some();
    steps
        .clone()
        .filter(is_linear)
        .chain(steps.filter(|s| !is_linear(s)))
        .collect()
}

fn pair_streams(link: &Link, id: StreamId) -> (cryptflow_ring::Prg, cryptflow_ring::Prg) {
    (
        link.stream(Party::ModelOwner, id),
        link.stream(Party::Client, id),
    )
}

/// Deals the select pieces of instruction `step` (comparisons at `width`), one message per piece in the order
/// the share-holders run them (every batch of the kernel, each in the plan's pieces),
/// from the step's two streams, which continue from piece to piece: only one piece's
/// randomness is ever held.
fn deal_selects(
    link: &mut Link,
    (step, width): (usize, Width),
    kernel: &Kernel,
    n: usize,
    piece: Option<usize>,
) -> Result<(), RuntimeError> {
    let batches = memory::select_batches(kernel, n);
    if batches.is_empty() {
        return Ok(());
    }
    let (mut p0, mut p1) = pair_streams(link, stream(step, SELECT));
    let mut index = 0u16;
    for batch in batches {
        for (_, len) in memory::pieces(batch, piece) {
            let words = ReluCorrelation::deal(len, width, &mut p0, &mut p1);
            let message = Outgoing::new(SelectCorrection::new(words), index);
            link.send_outgoing(Party::Client, step, message)?;
            index = index.saturating_add(1);
        }
    }
    Ok(())
}

/// The helper's correction `C₁` of the multiplication triple of the product at `step`.
fn deal_product(link: &Link, program: &Program, step: usize) -> ProductCorrection {
    let instruction = &program.instructions[step];
    let (x, y) = (instruction.inputs[0], instruction.inputs[1]);
    let map = local::product_map(&program.slot_shapes[x], &program.slot_shapes[y]);
    let shape = ProductShape {
        map: &map,
        y_len: program.slot_len(y),
    };
    let (mut p0, mut p1) = pair_streams(link, stream(step, PRODUCT));
    product::deal(&shape, &mut p0, &mut p1)
}

/// The helper's correction for one use of a linear layer.
///
/// The weight mask B is fixed per weight and session: P0 derives it once, to send
/// `F = W − B`; a weight used by several instructions is multiplied by B at each use.
/// Rather than hold every mask of the model, the helper recomputes B from its stream at
/// each use: the first use takes the stream fresh, later ones re-derive it (the same B,
/// never a new pad), which the seeds' debug record of used streams tells apart.
///
/// Under a memory plan that blocks the weight (`block` output units a block), B is
/// drawn block by block from the same stream, so the helper holds one block of it.
fn deal_linear(
    link: &Link,
    step: usize,
    f: &dyn Bilinear,
    weight: WeightId,
    block: Option<usize>,
    masks_derived: &mut HashSet<WeightId>,
) -> LinearCorrection {
    let id = StreamId::for_weight(weight);
    let mut mask_prg = if masks_derived.insert(weight) {
        link.stream(Party::ModelOwner, id)
    } else {
        link.seeds.rederive(Party::ModelOwner, id)
    };
    let (mut p0, mut p1) = pair_streams(link, stream(step, LINEAR));
    let mut dealer = linear::Dealer::start(f, &mut p0, &mut p1);
    let unit = linear::unit_len(f);
    for units in linear::blocks(f, block) {
        let mask = linear::weight_mask(units.len() * unit, &mut mask_prg);
        dealer.add_block(f, units, &mask);
    }
    dealer.finish()
}

#[cfg(test)]
mod tests {
    use crate::{decode_output, encode_input, plain, run_client, run_helper, run_model_owner};
    use cryptflow_compiler::compile;
    use cryptflow_ir::{GemmAttrs, Graph, Kernel, Node, Op};
    use cryptflow_net::MemoryTransport;
    use cryptflow_ring::Tensor;

    /// x[1, 4] → MatMul(W₀) → MatMul(W₁), compiled, then rewired so that both products
    /// use W₀: the helper deals with one weight's mask twice.
    fn shared_weight_program() -> (cryptflow_ir::Program, cryptflow_ir::Weights) {
        let mut g = Graph::default();
        let x = g.add_value("x", Some(vec![1, 4]));
        let gemm = Op::Gemm(GemmAttrs {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: true,
        });
        let mut input = x;
        for (i, name) in ["fc0", "fc1"].into_iter().enumerate() {
            let w = g.add_value(format!("w{i}"), None);
            let values = (0..16).map(|k| (k as f32 - 7.5) / 8.0).collect();
            let tensor = Tensor::new(vec![4, 4], values).expect("sized");
            g.constants.insert(w, tensor);
            let output = g.add_value(name, None);
            g.nodes.push(Node {
                name: name.into(),
                op: gemm.clone(),
                inputs: vec![input, w],
                output,
            });
            input = output;
        }
        g.input = x;
        g.output = input;
        let compiled = compile(g, 12).expect("compiles");
        let mut program = compiled.program;
        let mut first = None;
        for instruction in &mut program.instructions {
            if let Kernel::MatMul { weight, .. } = &mut instruction.kernel {
                *weight = *first.get_or_insert(*weight);
            }
        }
        (program, compiled.weights)
    }

    #[test]
    fn a_weight_used_twice_is_dealt_with_one_mask_and_no_stream_reuse() {
        // The seeds panic if any stream is handed out twice; the helper
        // re-derives the shared weight's mask for its second use instead.
        let (program, weights) = shared_weight_program();
        let uses = program
            .instructions
            .iter()
            .filter(|i| matches!(i.kernel, Kernel::MatMul { weight: 0, .. }))
            .count();
        assert_eq!(uses, 2, "both products use weight 0");
        let input = Tensor::new(vec![1, 4], vec![0.5, -1.0, 0.25, 2.0]).expect("sized");
        let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
        let (p, w) = (program.clone(), weights.clone());
        let owner = std::thread::spawn(move || run_model_owner(&mut t0, &p, &w));
        let helper = std::thread::spawn(move || run_helper(&mut t2));
        let secure = run_client(&mut t1, &input).expect("client");
        owner.join().expect("P0 thread").expect("owner");
        helper.join().expect("P2 thread").expect("helper");
        let encoded = encode_input(&program, &input).expect("encodes");
        let twin = decode_output(&program, &plain::run(&program, &weights, encoded));
        for (s, t) in secure.output.data().iter().zip(twin.data()) {
            assert!((s - t).abs() < 1e-2, "{:?} vs {:?}", secure.output, twin);
        }
    }
}

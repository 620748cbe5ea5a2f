//! P1, the client: holds the input and alone learns the output.

use crate::link::Link;
use crate::report::{PartyReport, Recorder};
use crate::session::{Agreed, SessionOptions};
use crate::shareholder::{self, Role, LINEAR, PRODUCT};
use crate::{session, RuntimeError};
use cryptflow_ir::{Program, WeightId};
use cryptflow_net::Transport;
use cryptflow_protocol::linear::{self, Bilinear, PreparedLinear};
use cryptflow_protocol::msgs::{Message, MessageKind, SelectCorrection};
use cryptflow_protocol::product::{Pairing, TripleShare};
use cryptflow_protocol::relu::{ReluCorrelation, Width};
use cryptflow_protocol::{sharing, PairwiseSeeds, StreamId};
use cryptflow_ring::{Party, Prg, Tensor};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

struct Client {
    /// `F = W − B` of the weights in use: received at a weight's first use, dropped
    /// after its last, so P1 never holds a whole model's.
    masked_weights: HashMap<WeightId, Vec<u64>>,
    /// The uses left of each weight.
    uses_left: HashMap<WeightId, usize>,
    /// Per linear step, `f(F, A) + C₁` and A from the offline phase (empty when the
    /// session has none).
    prepared: HashMap<usize, PreparedLinear>,
}

/// The offline phase: before the input is shared, every linear step's share
/// `f(F, A) + C₁` and mask A, in instruction order, reading the helper's corrections
/// as it deals them (all before its selects, helper.rs) and each weight's F from P0 at
/// its first use (P0 sends them all first). Each F is dropped after its last use.
fn prepare(
    link: &mut Link,
    program: &Program,
) -> Result<HashMap<usize, PreparedLinear>, RuntimeError> {
    let mut uses_left = program.linear_weight_uses();
    let mut masked_weights: HashMap<WeightId, Vec<u64>> = HashMap::new();
    let mut prepared = HashMap::new();
    for (step, instruction) in program.instructions.iter().enumerate() {
        let n = program.slot_len(instruction.inputs[0]);
        let Some((map, weight)) = shareholder::linear_step(&instruction.kernel, n) else {
            continue;
        };
        let f = map.bilinear();
        let masked = match masked_weights.entry(weight) {
            Entry::Occupied(held) => held.into_mut(),
            Entry::Vacant(slot) => {
                let message = link.recv(Party::ModelOwner, MessageKind::MaskedWeight, weight)?;
                let masked = linear::receive_masked_weight(message, f.weight_len())?;
                slot.insert(masked.into_words())
            }
        };
        let mut prg = link.stream(Party::Helper, shareholder::stream(step, LINEAR));
        let c1 = link.recv(Party::Helper, MessageKind::LinearCorrection, step)?;
        prepared.insert(step, linear::client_prepare(f, masked, &mut prg, c1)?);
        let left = uses_left.entry(weight).or_insert(1);
        *left = left.saturating_sub(1);
        if *left == 0 {
            masked_weights.remove(&weight);
        }
    }
    Ok(prepared)
}

impl Role for Client {
    fn party(&self) -> Party {
        Party::Client
    }

    fn linear(
        &mut self,
        link: &mut Link,
        step: usize,
        f: &dyn Bilinear,
        weight: WeightId,
        block: Option<usize>,
        x: &[u64],
    ) -> Result<Vec<u64>, RuntimeError> {
        if let Some(prepared) = self.prepared.remove(&step) {
            if prepared.input_len() != x.len() {
                return Err(RuntimeError::Internal(
                    "an input share unlike its prepared mask",
                ));
            }
            let (z, e) = prepared.finish(x);
            link.send(Party::ModelOwner, step, &e)?;
            link.rounds += 1;
            return Ok(z);
        }
        let mut prg = link.stream(Party::Helper, shareholder::stream(step, LINEAR));
        let (mut state, e) = linear::client_start(f, x, &mut prg);
        link.send(Party::ModelOwner, step, &e)?;
        link.rounds += 1;
        if let Some(per_block) = block {
            // The weight's only use (the plan blocks no other): F arrives block by
            // block, each used and dropped.
            let unit = linear::unit_len(f);
            for (index, units) in linear::blocks(f, Some(per_block)).enumerate() {
                let round = u16::try_from(index)
                    .map_err(|_| RuntimeError::Internal("more weight blocks than rounds"))?;
                let message =
                    link.recv_round(Party::ModelOwner, MessageKind::MaskedWeight, weight, round)?;
                let masked = linear::receive_masked_weight(message, units.len() * unit)?;
                state.add_block(f, units, masked.words());
            }
            let c1 = link.recv(Party::Helper, MessageKind::LinearCorrection, step)?;
            return Ok(state.finish_blocks(f, c1)?);
        }
        let masked = match self.masked_weights.entry(weight) {
            Entry::Occupied(held) => held.into_mut(),
            Entry::Vacant(slot) => {
                // First use: P0 sent F before waiting for E (see the model owner's role).
                let message = link.recv(Party::ModelOwner, MessageKind::MaskedWeight, weight)?;
                let masked = linear::receive_masked_weight(message, f.weight_len())?;
                slot.insert(masked.into_words())
            }
        };
        let c1 = link.recv(Party::Helper, MessageKind::LinearCorrection, step)?;
        let z = state.finish(f, masked, c1)?;
        let left = self.uses_left.entry(weight).or_insert(1);
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.masked_weights.remove(&weight);
        }
        Ok(z)
    }

    fn add_constant(
        &self,
        _: &mut [u64],
        _: WeightId,
        _: fn(&mut [u64], &[u64]),
    ) -> Result<(), RuntimeError> {
        Ok(())
    }

    fn public_share(&self, _: u64) -> u64 {
        0
    }

    fn triple(
        &mut self,
        link: &mut Link,
        step: usize,
        f: &dyn Pairing,
    ) -> Result<TripleShare, RuntimeError> {
        let correction = link.recv(Party::Helper, MessageKind::ProductCorrection, step)?;
        let mut prg = link.stream(Party::Helper, shareholder::stream(step, PRODUCT));
        Ok(TripleShare::for_client(f, &mut prg, correction)?)
    }

    fn select_piece(
        &mut self,
        link: &mut Link,
        step: usize,
        prg: &mut Prg,
        (n, width): (usize, Width),
        index: u16,
    ) -> Result<ReluCorrelation, RuntimeError> {
        let words = link.recv_round(Party::Helper, MessageKind::SelectCorrection, step, index)?;
        let expected = ReluCorrelation::message_len(n, width);
        let message = SelectCorrection::decode(Party::Helper, words, expected)?;
        Ok(ReluCorrelation::for_client(n, width, prg, message.words())?)
    }
}

/// The client's result: the model output, decoded from fixed point.
#[derive(Clone, Debug)]
pub struct Prediction {
    pub output: Tensor<f32>,
    pub report: PartyReport,
}

/// Runs P1 on `input` to the end of one inference.
pub fn run_client(
    transport: &mut dyn Transport,
    input: &Tensor<f32>,
) -> Result<Prediction, RuntimeError> {
    run_client_within(transport, input, SessionOptions::default())
}

/// As [`run_client`], with this party's session options (a memory budget, an
/// offline phase; see [`session::agree_plan`]).
pub fn run_client_within(
    transport: &mut dyn Transport,
    input: &Tensor<f32>,
    options: SessionOptions,
) -> Result<Prediction, RuntimeError> {
    let recorder = Recorder::new();
    let seeds = session::establish_seeds(transport)?;
    let (program, _) = session::receive_program(transport)?;
    client_session(transport, &program, input, seeds, options, recorder)
}

/// P1 after setup: the seeds are agreed and the program received.
pub(crate) fn client_session(
    transport: &mut dyn Transport,
    program: &Program,
    input: &Tensor<f32>,
    seeds: PairwiseSeeds,
    options: SessionOptions,
    mut recorder: Recorder,
) -> Result<Prediction, RuntimeError> {
    let encoded = crate::encode_input(program, input)?;
    let Agreed {
        plan,
        offline_phase,
    } = session::agree_plan(transport, program, options)?;
    let mut link = Link::new(transport, seeds);
    let mut prepared = HashMap::new();
    if offline_phase {
        let from = recorder.elapsed();
        prepared = prepare(&mut link, program)?;
        recorder.offline(recorder.elapsed() - from);
    }
    let setup = recorder.elapsed();
    let x1 = sharing::client_input_share(
        &encoded,
        &mut link.stream(Party::ModelOwner, StreamId::INPUT),
    );
    let z1 = shareholder::run(
        &mut Client {
            masked_weights: HashMap::new(),
            uses_left: program.linear_weight_uses(),
            prepared,
        },
        &mut link,
        program,
        &plan,
        x1,
        &mut recorder,
    )?;
    let z0 = link.recv(
        Party::ModelOwner,
        MessageKind::OutputShare,
        program.instructions.len(),
    )?;
    link.rounds += 1;
    let z = sharing::reveal_to_client(&z1, z0)?;
    let online = recorder.elapsed() - setup;
    let output = crate::decode_output(program, &z);
    Ok(Prediction {
        output,
        report: recorder.finish(&link, setup, online),
    })
}

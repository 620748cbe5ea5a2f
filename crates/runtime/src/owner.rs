//! P0, the model owner: holds the weights in the clear.

use crate::link::Link;
use crate::report::{PartyReport, Recorder};
use crate::shareholder::{self, Role, LINEAR};
use crate::{session, RuntimeError};
use cryptflow_ir::{Program, WeightId, Weights};
use cryptflow_net::Transport;
use cryptflow_protocol::linear::{self, Bilinear};
use cryptflow_protocol::msgs::{MaskedWeight, MessageKind, OutputShare};
use cryptflow_protocol::relu::ReluCorrelation;
use cryptflow_protocol::{sharing, PairwiseSeeds, StreamId};
use cryptflow_ring::{Party, Prg};
use std::collections::HashSet;
use std::sync::mpsc::{Receiver, SyncSender};

struct ModelOwner<'w> {
    weights: &'w Weights,
    /// The weights already masked and sent to P1 (each once per session).
    masked_sent: HashSet<WeightId>,
    /// `F = W − B` of each weight in the order of first use, from the masking thread.
    masked: Receiver<(WeightId, MaskedWeight)>,
}

/// How many masked weights the masking thread keeps ready ahead of their use.
const MASKED_AHEAD: usize = 1;

/// Masks the weights in `order` on a thread of its own, at most [`MASKED_AHEAD`]
/// ahead of their use: P0 sends each F at the weight's first use (so P1 holds only
/// the masked weights in use, never a whole model's), but masking a large weight
/// there would stall both share-holders; the thread does it while the protocol
/// waits on the network. Ends early when the receiver is dropped.
fn mask_ahead(
    weights: &Weights,
    streams: Vec<(WeightId, Prg)>,
    ready: SyncSender<(WeightId, MaskedWeight)>,
) {
    for (id, mut prg) in streams {
        let w = weights.tensors[id].data();
        let mask = linear::weight_mask(w.len(), &mut prg);
        if ready.send((id, linear::masked_weight(w, &mask))).is_err() {
            return;
        }
    }
}

impl Role for ModelOwner<'_> {
    fn party(&self) -> Party {
        Party::ModelOwner
    }

    fn linear(
        &mut self,
        link: &mut Link,
        step: usize,
        f: &dyn Bilinear,
        weight: WeightId,
        x: &[u64],
    ) -> Result<Vec<u64>, RuntimeError> {
        if self.masked_sent.insert(weight) {
            // Weights come in the order of first use (see `mask_ahead`).
            match self.masked.recv() {
                Ok((id, masked)) if id == weight => link.send(Party::Client, weight, &masked)?,
                _ => return Err(RuntimeError::Internal("masked weights out of order")),
            }
        }
        let e = link.recv(Party::Client, MessageKind::MaskedInput, step)?;
        link.rounds += 1;
        let mut prg = link.stream(Party::Helper, shareholder::stream(step, LINEAR));
        Ok(linear::owner_finish(
            f,
            self.weights.tensors[weight].data(),
            x,
            e,
            &mut prg,
        )?)
    }

    fn add_constant(&self, values: &mut [u64], weight: WeightId, add: fn(&mut [u64], &[u64])) {
        add(values, self.weights.tensors[weight].data());
    }

    fn public_share(&self, value: u64) -> u64 {
        value
    }

    fn select_piece(
        &mut self,
        _: &mut Link,
        _: usize,
        prg: &mut Prg,
        n: usize,
        _: u16,
    ) -> Result<ReluCorrelation, RuntimeError> {
        Ok(ReluCorrelation::draw(prg, n))
    }
}

/// Runs P0 to the end of one inference.
pub fn run_model_owner(
    transport: &mut dyn Transport,
    program: &Program,
    weights: &Weights,
) -> Result<PartyReport, RuntimeError> {
    run_model_owner_within(transport, program, weights, None)
}

/// As [`run_model_owner`], keeping under a memory budget (MiB; see
/// [`session::agree_plan`]).
pub fn run_model_owner_within(
    transport: &mut dyn Transport,
    program: &Program,
    weights: &Weights,
    budget_mib: Option<u64>,
) -> Result<PartyReport, RuntimeError> {
    check(program, weights)?;
    let recorder = Recorder::new();
    let seeds = session::establish_seeds(transport)?;
    session::send_program(transport, program)?;
    owner_session(transport, program, weights, seeds, budget_mib, recorder)
}

pub(crate) fn check(program: &Program, weights: &Weights) -> Result<(), RuntimeError> {
    if !program.matches(weights) {
        return Err(RuntimeError::WeightsMismatch);
    }
    program.validate()?;
    Ok(())
}

/// P0 after setup: the seeds are agreed and the others hold the program.
pub(crate) fn owner_session(
    transport: &mut dyn Transport,
    program: &Program,
    weights: &Weights,
    seeds: PairwiseSeeds,
    budget_mib: Option<u64>,
    mut recorder: Recorder,
) -> Result<PartyReport, RuntimeError> {
    let plan = session::agree_plan(transport, program, budget_mib)?;
    let mut link = Link::new(transport, seeds);
    let setup = recorder.elapsed();
    let n = program.slot_len(program.input);
    let x0 = sharing::owner_input_share(n, &mut link.stream(Party::Client, StreamId::INPUT));
    let streams: Vec<(WeightId, Prg)> = session::first_use_order(program)
        .into_iter()
        .map(|id| (id, link.stream(Party::Helper, StreamId::for_weight(id))))
        .collect();
    let z0 = std::thread::scope(|scope| {
        let (ready, masked) = std::sync::mpsc::sync_channel(MASKED_AHEAD);
        scope.spawn(move || mask_ahead(weights, streams, ready));
        let mut owner = ModelOwner {
            weights,
            masked_sent: HashSet::new(),
            masked,
        };
        // Returning drops `owner` and so the receiver, which ends the thread.
        shareholder::run(&mut owner, &mut link, program, &plan, x0, &mut recorder)
    })?;
    let output = OutputShare::new(z0);
    link.send(Party::Client, program.instructions.len(), &output)?;
    link.rounds += 1;
    let online = recorder.elapsed() - setup;
    Ok(recorder.finish(&link, setup, online))
}

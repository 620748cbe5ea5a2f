//! P0, the model owner: holds the weights in the clear.

use crate::link::Link;
use crate::report::{PartyReport, Recorder};
use crate::shareholder::{self, Role, LINEAR};
use crate::{session, RuntimeError};
use cryptflow_ir::{Program, WeightId, WeightSource};
use cryptflow_net::Transport;
use cryptflow_protocol::linear::{self, Bilinear};
use cryptflow_protocol::msgs::{MaskedWeight, MessageKind, OutputShare};
use cryptflow_protocol::relu::ReluCorrelation;
use cryptflow_protocol::{sharing, PairwiseSeeds, StreamId};
use cryptflow_ring::{Party, Prg};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::mpsc::{Receiver, SyncSender};

struct ModelOwner<'w> {
    weights: &'w dyn WeightSource,
    /// The weights already masked and sent to P1 (each once per session).
    masked_sent: HashSet<WeightId>,
    /// Each weight in the order of first use with its `F = W − B`, from the masking
    /// thread.
    masked: Receiver<Result<Masked<'w>, RuntimeError>>,
}

/// A weight at its first use: loaded by the masking thread, with its masked form.
struct Masked<'w> {
    id: WeightId,
    weight: Cow<'w, [u64]>,
    masked: MaskedWeight,
}

/// Loads and masks the weights of `streams`, in order, on a thread of its own, one weight ahead of
/// its use (the channel is a rendezvous, so the thread holds at most one finished
/// weight and its masked form, which the memory plan counts): P0 sends each F at the weight's first use (so
/// P1 holds only the masked weights in use, never a whole model's), but loading and
/// masking a large weight there would stall both share-holders; the thread does it
/// while the protocol waits on the network. The loaded weight goes along, so a weight
/// read from the model file is read once for its first use. Ends at the first error
/// or early when the receiver is dropped.
fn mask_ahead<'w>(
    weights: &'w dyn WeightSource,
    streams: Vec<(WeightId, Prg)>,
    ready: SyncSender<Result<Masked<'w>, RuntimeError>>,
) {
    for (id, mut prg) in streams {
        let next = weights.load(id).map_err(RuntimeError::from).map(|weight| {
            let mask = linear::weight_mask(weight.len(), &mut prg);
            let masked = linear::masked_weight(&weight, mask);
            Masked { id, weight, masked }
        });
        let failed = next.is_err();
        if ready.send(next).is_err() || failed {
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
        let w = if self.masked_sent.insert(weight) {
            // Weights come in the order of first use (see `mask_ahead`).
            match self.masked.recv() {
                Ok(Ok(first)) if first.id == weight => {
                    link.send(Party::Client, weight, &first.masked)?;
                    first.weight
                }
                Ok(Err(error)) => return Err(error),
                _ => return Err(RuntimeError::Internal("masked weights out of order")),
            }
        } else {
            self.weights.load(weight)?
        };
        let e = link.recv(Party::Client, MessageKind::MaskedInput, step)?;
        link.rounds += 1;
        let mut prg = link.stream(Party::Helper, shareholder::stream(step, LINEAR));
        Ok(linear::owner_finish(f, &w, x, e, &mut prg)?)
    }

    fn add_constant(
        &self,
        values: &mut [u64],
        weight: WeightId,
        add: fn(&mut [u64], &[u64]),
    ) -> Result<(), RuntimeError> {
        add(values, &self.weights.load(weight)?);
        Ok(())
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
    weights: &dyn WeightSource,
) -> Result<PartyReport, RuntimeError> {
    run_model_owner_within(transport, program, weights, None)
}

/// As [`run_model_owner`], keeping under a memory budget (MiB; see
/// [`session::agree_plan`]).
pub fn run_model_owner_within(
    transport: &mut dyn Transport,
    program: &Program,
    weights: &dyn WeightSource,
    budget_mib: Option<u64>,
) -> Result<PartyReport, RuntimeError> {
    check(program, weights)?;
    let recorder = Recorder::new();
    let seeds = session::establish_seeds(transport)?;
    session::send_program(transport, program)?;
    owner_session(transport, program, weights, seeds, budget_mib, recorder)
}

pub(crate) fn check(program: &Program, weights: &dyn WeightSource) -> Result<(), RuntimeError> {
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
    weights: &dyn WeightSource,
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
        let (ready, masked) = std::sync::mpsc::sync_channel(0);
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

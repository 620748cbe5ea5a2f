//! P0, the model owner: holds the weights in the clear.

use crate::link::Link;
use crate::report::{PartyReport, Recorder};
use crate::session::{Agreed, SessionOptions};
use crate::shareholder::{self, Role, LINEAR, PRODUCT};
use crate::{session, RuntimeError};
use cryptflow_compiler::passes::memory::{self, MemoryPlan};
use cryptflow_ir::{Program, Runs, WeightId, WeightSource};
use cryptflow_net::Transport;
use cryptflow_protocol::linear::{self, Bilinear};
use cryptflow_protocol::msgs::{MaskedWeight, MessageKind, OutputShare};
use cryptflow_protocol::product::{Pairing, TripleShare};
use cryptflow_protocol::relu::{ReluCorrelation, Width};
use cryptflow_protocol::{sharing, PairwiseSeeds, StreamId};
use cryptflow_ring::{Party, Prg};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::mpsc::{Receiver, SyncSender};

struct ModelOwner<'w> {
    weights: &'w dyn WeightSource,
    /// The weights already masked and sent to P1 (each once per session).
    masked_sent: HashSet<WeightId>,
    /// Each weight (or block of it) in the order of first use with its `F = W − B`,
    /// from the masking thread.
    masked: Receiver<Result<Masked<'w>, RuntimeError>>,
}

/// A weight at its first use, or one block of it: loaded by the masking thread, with
/// its masked form.
struct Masked<'w> {
    id: WeightId,
    /// The block's number (0 for a whole weight).
    block: usize,
    weight: Cow<'w, [u64]>,
    masked: MaskedWeight,
}

/// A weight to mask ahead: its id, its mask stream, and the words per block if the
/// memory plan blocks it.
struct FirstUse {
    id: WeightId,
    mask: Prg,
    block_words: Option<usize>,
}

/// Loads and masks the weights of `first_uses`, in order, on a thread of its own, one
/// weight (or block) ahead of its use (the channel is a rendezvous, so the thread
/// holds at most one finished weight or block and its masked form, which the memory
/// plan counts): P0 sends each F at the weight's first use (so P1 holds only the
/// masked weights in use, never a whole model's), but loading and masking a large
/// weight there would stall both share-holders; the thread does it while the protocol
/// waits on the network. The loaded weight goes along, so a weight read from the model
/// file is read once for its first use. A blocked weight's mask B is drawn on from the
/// same stream block after block (as the helper draws it). Ends at the first error or
/// early when the receiver is dropped.
fn mask_ahead<'w>(
    weights: &'w dyn WeightSource,
    first_uses: Vec<FirstUse>,
    ready: SyncSender<Result<Masked<'w>, RuntimeError>>,
) {
    for FirstUse {
        id,
        mut mask,
        block_words,
    } in first_uses
    {
        let runs = match block_words {
            Some(words) => weights.load_runs(id, words),
            None => weights
                .load(id)
                .map(|w| Box::new(std::iter::once(Ok(w))) as Runs<'w>),
        };
        let runs = match runs {
            Ok(runs) => runs,
            Err(error) => {
                let _ = ready.send(Err(error.into()));
                return;
            }
        };
        for (block, run) in runs.enumerate() {
            let next = run.map_err(RuntimeError::from).map(|weight| {
                let b = linear::weight_mask(weight.len(), &mut mask);
                let masked = linear::masked_weight(&weight, b);
                Masked {
                    id,
                    block,
                    weight,
                    masked,
                }
            });
            let failed = next.is_err();
            if ready.send(next).is_err() || failed {
                return;
            }
        }
    }
}

impl ModelOwner<'_> {
    /// The offline phase: every weight's F to P1 at once, from the masking thread in
    /// the order of first use (P1 multiplies them all before the input is shared). No
    /// weight is blocked: a session with an offline phase has no memory budget.
    fn send_all_masked(&mut self, link: &mut Link) -> Result<(), RuntimeError> {
        for next in self.masked.iter() {
            let next = next?;
            link.send(Party::Client, next.id, &next.masked)?;
            self.masked_sent.insert(next.id);
        }
        Ok(())
    }

    /// The next weight or block from the masking thread, which must be block `block`
    /// of weight `id` (weights come in the order of first use, see `mask_ahead`).
    fn next_masked(&self, id: WeightId, block: usize) -> Result<Masked<'_>, RuntimeError> {
        match self.masked.recv() {
            Ok(Ok(next)) if next.id == id && next.block == block => Ok(next),
            Ok(Err(error)) => Err(error),
            _ => Err(RuntimeError::Internal("masked weights out of order")),
        }
    }

    /// The weight's only use in blocks of `per_block` output units: E first (P1 sends
    /// it without waiting), then per block, F_b to P1 and f(W_b, X₀ + E) into the share.
    fn linear_blocked(
        &mut self,
        link: &mut Link,
        step: usize,
        f: &dyn Bilinear,
        weight: WeightId,
        per_block: usize,
        x: &[u64],
    ) -> Result<Vec<u64>, RuntimeError> {
        let e = link.recv(Party::Client, MessageKind::MaskedInput, step)?;
        link.rounds += 1;
        let mut prg = link.stream(Party::Helper, shareholder::stream(step, LINEAR));
        let mut share = linear::OwnerLinear::start(f, x, e, &mut prg)?;
        let unit = linear::unit_len(f);
        for (index, units) in linear::blocks(f, Some(per_block)).enumerate() {
            let block = self.next_masked(weight, index)?;
            let round = u16::try_from(index)
                .map_err(|_| RuntimeError::Internal("more weight blocks than rounds"))?;
            if block.weight.len() != units.len() * unit {
                return Err(RuntimeError::Internal("a weight block of the wrong length"));
            }
            link.send_round(Party::Client, weight, round, &block.masked)?;
            share.add_block(f, units, &block.weight);
        }
        Ok(share.finish())
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
        block: Option<usize>,
        x: &[u64],
    ) -> Result<Vec<u64>, RuntimeError> {
        let first_use = self.masked_sent.insert(weight);
        let w = match (first_use, block) {
            (true, Some(per_block)) => {
                return self.linear_blocked(link, step, f, weight, per_block, x);
            }
            (true, None) => {
                let first = self.next_masked(weight, 0)?;
                link.send(Party::Client, weight, &first.masked)?;
                first.weight
            }
            // The plan blocks only a weight's single use.
            (false, _) => self.weights.load(weight)?,
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

    fn triple(
        &mut self,
        link: &mut Link,
        step: usize,
        f: &dyn Pairing,
    ) -> Result<TripleShare, RuntimeError> {
        let mut prg = link.stream(Party::Helper, shareholder::stream(step, PRODUCT));
        Ok(TripleShare::for_owner(f, &mut prg))
    }

    fn select_piece(
        &mut self,
        _: &mut Link,
        _: usize,
        prg: &mut Prg,
        (n, width): (usize, Width),
        _: u16,
    ) -> Result<ReluCorrelation, RuntimeError> {
        Ok(ReluCorrelation::draw(prg, n, width))
    }
}

/// Runs P0 to the end of one inference.
pub fn run_model_owner(
    transport: &mut dyn Transport,
    program: &Program,
    weights: &dyn WeightSource,
) -> Result<PartyReport, RuntimeError> {
    run_model_owner_within(transport, program, weights, SessionOptions::default())
}

/// As [`run_model_owner`], with this party's session options (a memory budget, an
/// offline phase; see [`session::agree_plan`]).
pub fn run_model_owner_within(
    transport: &mut dyn Transport,
    program: &Program,
    weights: &dyn WeightSource,
    options: SessionOptions,
) -> Result<PartyReport, RuntimeError> {
    check(program, weights)?;
    let recorder = Recorder::new();
    let seeds = session::establish_seeds(transport)?;
    session::send_program(transport, program)?;
    owner_session(transport, program, weights, seeds, options, recorder)
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
    options: SessionOptions,
    mut recorder: Recorder,
) -> Result<PartyReport, RuntimeError> {
    let Agreed {
        plan,
        offline_phase,
    } = session::agree_plan(transport, program, options)?;
    let mut link = Link::new(transport, seeds);
    let first_uses = first_uses(program, &plan, &link);
    let (z0, setup) = std::thread::scope(|scope| {
        let (ready, masked) = std::sync::mpsc::sync_channel(0);
        scope.spawn(move || mask_ahead(weights, first_uses, ready));
        let mut owner = ModelOwner {
            weights,
            masked_sent: HashSet::new(),
            masked,
        };
        if offline_phase {
            let from = recorder.elapsed();
            owner.send_all_masked(&mut link)?;
            recorder.offline(recorder.elapsed() - from);
        }
        let setup = recorder.elapsed();
        let n = program.slot_len(program.input);
        let x0 = sharing::owner_input_share(n, &mut link.stream(Party::Client, StreamId::INPUT));
        // Returning drops `owner` and so the receiver, which ends the thread.
        let z0 = shareholder::run(&mut owner, &mut link, program, &plan, x0, &mut recorder)?;
        Ok::<_, RuntimeError>((z0, setup))
    })?;
    let output = OutputShare::new(z0);
    link.send(Party::Client, program.instructions.len(), &output)?;
    link.rounds += 1;
    let online = recorder.elapsed() - setup;
    Ok(recorder.finish(&link, setup, online))
}

/// Each weight at its first use, in order, with its mask stream and the plan's words
/// per block.
fn first_uses(program: &Program, plan: &MemoryPlan, link: &Link) -> Vec<FirstUse> {
    let mut seen = HashSet::new();
    (program.instructions.iter().enumerate())
        .filter_map(|(step, instruction)| {
            let id = instruction.kernel.linear_weight()?;
            seen.insert(id).then(|| FirstUse {
                id,
                mask: link.stream(Party::Helper, StreamId::for_weight(id)),
                block_words: plan.block(step).and_then(|units| {
                    let (_, unit_len) = memory::weight_units(&instruction.kernel)?;
                    Some(units * unit_len)
                }),
            })
        })
        .collect()
}

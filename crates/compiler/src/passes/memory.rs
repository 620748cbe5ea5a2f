//! The memory plan: how a program fits a per-party memory budget (the paper's §V-D-1:
//! an enclave's EPC is 128 MB, so Aramis split ReLU and MaxPool into chunks).
//!
//! An analysis, not a rewrite: every party computes the same plan for itself from the
//! public program and the smallest of the three parties' budgets (exchanged at
//! setup), so no party can hand another a plan. The plan chooses, per instruction,
//! how many elements of a batch of selections (ReLU, Clip, LeakyRelu, each level of a
//! MaxPool tree) are evaluated at once: a *piece*. Each extra piece costs
//! [`ROUNDS_PER_PIECE`] rounds, so the plan keeps pieces as large as the budget allows
//! and splits only the steps that do not fit.
//!
//! A linear layer whose weight is used once can also run in *blocks* of output units
//! (a convolution's output channels, a product's output features; the paper's blocked
//! matrix products): the model owner reads, masks and sends one block of the weight at
//! a time, and the client and the helper hold one block of its masked form or mask.
//! Blocks cost no rounds (the masked weight's blocks go one way), but each recomputes
//! the layer's im2col, so the plan takes the largest blocks that let every step fit
//! with the fewest extra rounds: one limit on a block's words for the whole program,
//! tried from none down to [`SMALLEST_BLOCK_WORDS`].
//!
//! The estimate of a party's peak at a step is its resident memory (the process; the
//! model owner's weight in use and the next, read from the compiled file), the activations live at that step (from liveness), and the
//! step's working set: per select element a measured number of bytes, per linear
//! layer its weight, masks and im2col matrix. The constants were measured on ResNet50
//! (peak RSS from `VmHWM` against the sizes here, 2026-12-02): an estimate, so a
//! measured peak can exceed it; runtime/src/budget_tests.rs checks the pieces, not
//! the peaks (per-party peaks need the parties in processes of their own).

use cryptflow_ir::{Kernel, Program};
use cryptflow_ring::Party;

/// Elements per piece are a multiple of this: the protocol draws and deals a batch's
/// randomness this many elements at a time (`relu::DEAL_CHUNK`), so a batch cut into
/// such pieces draws exactly what it draws whole, and the output is bit-identical.
pub const PIECE_GRANULE: usize = 1 << 16;

/// The rounds between the share-holders of one select piece.
pub const ROUNDS_PER_PIECE: u64 = 8;

/// The smallest limit on a weight block's words the plan tries (256 KiB; a block is
/// at least one output unit, so a unit larger than this is a block of its own).
pub const SMALLEST_BLOCK_WORDS: usize = 1 << 15;

/// The most blocks a weight is cut into: the masked weight's blocks are told apart by
/// a message round, a u16.
pub const MAX_BLOCKS: usize = u16::MAX as usize;

/// What a process holds before any tensor: code, allocator, buffers (measured: a
/// LeNet run peaks at 7 MiB per party).
const BASE_BYTES: u64 = 12 << 20;

/// Peak bytes per element of a select piece held at once, per party: the dealt
/// correlation (≈ 90 B), the helper's corrections (40 B, the client), the openings
/// and the comparison's state, and the allocator's slack (measured: ResNet50's
/// 802k-element batches at 285 MiB at the client).
const SELECT_BYTES: [u64; 3] = [320, 320, 96];

/// A linear layer's working set in multiples of (weight + im2col + output) words:
/// the masked weight or mask, the masked input and the dealt product beside them.
const LINEAR_WORDS: u64 = 3;

/// The plan of one program under one budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// The budget planned for (MiB per party); `None`: unbounded.
    pub budget_mib: Option<u64>,
    /// Per instruction, the elements per select piece (`None`: one piece per batch).
    pub pieces: Vec<Option<usize>>,
    /// The estimated peak of each party (MiB), under this plan.
    pub peak_mib: [u64; 3],
    /// Per instruction, the output units per block of its weight (`None`: whole).
    pub blocks: Vec<Option<usize>>,
    /// The rounds this plan adds to the unbounded run's.
    pub extra_rounds: u64,
    /// Per instruction, the rounds its pieces add (0 where it runs whole).
    pub step_extra_rounds: Vec<u64>,
}

/// A budget no plan can meet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "a memory budget of {budget_mib} MiB is too small for this model: {party} needs at least \
     {needed_mib} MiB (at step {step}, {source_node}); the smallest budget that works is {needed_mib} MiB"
)]
pub struct BudgetTooSmall {
    pub budget_mib: u64,
    pub needed_mib: u64,
    pub party: Party,
    pub step: usize,
    pub source_node: String,
}

impl MemoryPlan {
    /// The elements per piece of the selects at `step`.
    pub fn piece(&self, step: usize) -> Option<usize> {
        self.pieces.get(step).copied().flatten()
    }

    /// The output units per block of the weight at `step`.
    pub fn block(&self, step: usize) -> Option<usize> {
        self.blocks.get(step).copied().flatten()
    }
}

/// Plans `program` for a budget of `budget_mib` MiB per party (`None`: unbounded).
pub fn plan(program: &Program, budget_mib: Option<u64>) -> Result<MemoryPlan, BudgetTooSmall> {
    let Some(budget) = budget_mib else {
        return Ok(plan_with(None, &step_costs(program, None)));
    };
    // Every block limit that fits, the fewest extra rounds first, then the largest
    // blocks (the first tried).
    let limits = std::iter::once(None).chain(
        (SMALLEST_BLOCK_WORDS.trailing_zeros()..=23)
            .rev()
            .map(|bits| Some(1usize << bits)),
    );
    let mut best: Option<MemoryPlan> = None;
    let mut smallest = Vec::new();
    for limit in limits {
        let steps = step_costs(program, limit);
        let planned = plan_with(Some(budget), &steps);
        if planned.pieces.len() == steps.len()
            && best
                .as_ref()
                .is_none_or(|b| planned.extra_rounds < b.extra_rounds)
        {
            best = Some(planned);
        }
        smallest = steps;
    }
    best.ok_or_else(|| too_small(program, &smallest, budget))
}

/// The plan for one block limit: each step's largest piece within `budget`. Stops at
/// the first step that does not fit (its pieces are then fewer than the steps).
fn plan_with(budget_mib: Option<u64>, steps: &[StepCost]) -> MemoryPlan {
    let mut pieces = Vec::with_capacity(steps.len());
    let mut peak = [0u64; 3];
    let mut step_extra_rounds = Vec::with_capacity(steps.len());
    for cost in steps {
        let piece = match budget_mib {
            None => None,
            Some(budget) => match cost.largest_piece_within(budget << 20) {
                Some(piece) => piece,
                None => break,
            },
        };
        step_extra_rounds.push(piece.map_or(0, |p| cost.extra_pieces(p) * ROUNDS_PER_PIECE));
        let at = cost.peaks(piece.unwrap_or(cost.batch));
        for p in 0..3 {
            peak[p] = peak[p].max(at[p]);
        }
        pieces.push(piece);
    }
    MemoryPlan {
        budget_mib,
        pieces,
        blocks: steps.iter().map(|cost| cost.block).collect(),
        peak_mib: peak.map(|b| b.div_ceil(1 << 20)),
        extra_rounds: step_extra_rounds.iter().sum(),
        step_extra_rounds,
    }
}

/// The error for `budget`, naming the smallest budget any plan meets (`steps`: the
/// costs under the smallest blocks).
fn too_small(program: &Program, steps: &[StepCost], budget: u64) -> BudgetTooSmall {
    // The smallest workable budget: every step at its smallest piece.
    let mut needed = [0u64; 3];
    for cost in steps {
        let smallest = cost.smallest_peaks();
        for p in 0..3 {
            needed[p] = needed[p].max(smallest[p]);
        }
    }
    // The step that sets it, and at it the party (on a tie the lower-numbered: its
    // weights are the cause).
    let worst = |cost: &StepCost| cost.smallest_peaks().into_iter().max().unwrap_or(0);
    let step = (0..steps.len())
        .rev()
        .max_by_key(|&s| worst(&steps[s]))
        .unwrap_or(0);
    let at_step = steps.get(step).map_or([0; 3], StepCost::smallest_peaks);
    let party = (0..3).rev().max_by_key(|&p| at_step[p]).unwrap_or(0);
    BudgetTooSmall {
        budget_mib: budget,
        needed_mib: needed.iter().max().copied().unwrap_or(0).div_ceil(1 << 20),
        party: Party::ALL[party],
        step,
        source_node: program
            .instructions
            .get(step)
            .map_or_else(String::new, |i| i.source.clone()),
    }
}

/// What one instruction costs each party, apart from its select pieces.
#[derive(Clone, Debug)]
struct StepCost {
    /// Resident and live bytes, and the step's own working set, per party.
    fixed: [u64; 3],
    /// The largest select batch of the step (0: none).
    batch: usize,
    /// The select batches (one, or one per MaxPool level), for counting pieces.
    batches: Vec<usize>,
    /// The output units per block of the step's weight (`None`: whole).
    block: Option<usize>,
}

impl StepCost {
    /// Each party's estimated peak with pieces of `piece` elements.
    fn peaks(&self, piece: usize) -> [u64; 3] {
        let piece = piece.min(self.batch) as u64;
        [0, 1, 2].map(|p| self.fixed[p] + piece * SELECT_BYTES[p])
    }

    /// Each party's peak with the smallest pieces.
    fn smallest_peaks(&self) -> [u64; 3] {
        self.peaks(PIECE_GRANULE)
    }

    /// The piece to run this step's batches in under `limit` bytes per party:
    /// `Some(None)` if they fit whole, `Some(Some(p))` for the largest piece `p` that
    /// fits (fewest extra rounds), `None` if not even the smallest does.
    fn largest_piece_within(&self, limit: u64) -> Option<Option<usize>> {
        let fits = |piece| self.peaks(piece).iter().all(|&b| b <= limit);
        if fits(self.batch) {
            return Some(None);
        }
        (1..self.batch.div_ceil(PIECE_GRANULE))
            .rev()
            .map(|g| g * PIECE_GRANULE)
            .find(|&piece| fits(piece))
            .map(Some)
    }

    /// The pieces beyond one per batch.
    fn extra_pieces(&self, piece: usize) -> u64 {
        self.batches
            .iter()
            .map(|&n| n.div_ceil(piece).saturating_sub(1) as u64)
            .sum()
    }
}

/// Each step's cost with weight blocks of at most `block_limit` words (`None`: whole).
fn step_costs(program: &Program, block_limit: Option<usize>) -> Vec<StepCost> {
    let bytes = |slot: usize| program.slot_len(slot) as u64 * 8;
    let blocks = weight_blocks(program, block_limit);
    // The words of each step's weight held at once: a block, or the whole weight.
    let held: Vec<u64> = (program.instructions.iter().zip(&blocks))
        .map(|(i, block)| {
            let Some(weight) = i.kernel.linear_weight() else {
                return 0;
            };
            let whole = program.weight_shapes[weight].iter().product::<usize>();
            let words = match (block, weight_units(&i.kernel)) {
                (Some(units), Some((_, unit_len))) => units * unit_len,
                _ => whole,
            };
            words as u64 * 8
        })
        .collect();
    let ahead = masked_ahead(program, &held, &blocks);
    let mut live = bytes(program.input);
    let mut costs = Vec::with_capacity(program.instructions.len());
    for (step, instruction) in program.instructions.iter().enumerate() {
        live += bytes(instruction.output);
        let n = program.slot_len(instruction.inputs[0]);
        let batches = select_batches(&instruction.kernel, n);
        let weight = held[step];
        let linear = linear_working_set(&instruction.kernel, n, weight / 8);
        let selects = select_working_set(&instruction.kernel, &batches);
        // P0 reads each weight (or block) from the compiled file when it is used
        // (runtime/src/owner.rs): at its step it holds it, its masked form and the
        // bytes going out; its masking thread holds the next one and its mask in any
        // step. The client holds the masked weight in use, the helper its mask.
        let common = BASE_BYTES + live + linear * 8 * LINEAR_WORDS + selects;
        costs.push(StepCost {
            fixed: [
                common + 3 * weight + ahead[step],
                common + weight,
                common + weight,
            ],
            batch: batches.iter().copied().max().unwrap_or(0),
            batches,
            block: blocks[step],
        });
        live -= instruction.free.iter().map(|&s| bytes(s)).sum::<u64>();
    }
    costs
}

/// Per step, the output units per block of its weight under `block_limit` words a
/// block: only a weight larger than the limit, used by this step alone, whose kernel
/// splits by output units (the client keeps a weight used twice whole).
fn weight_blocks(program: &Program, block_limit: Option<usize>) -> Vec<Option<usize>> {
    let uses = program.linear_weight_uses();
    (program.instructions.iter())
        .map(|i| {
            let limit = block_limit?;
            let weight = i.kernel.linear_weight()?;
            let (units, unit_len) = weight_units(&i.kernel)?;
            if uses.get(&weight) != Some(&1) || units * unit_len <= limit {
                return None;
            }
            let per_block = (limit / unit_len.max(1))
                .max(units.div_ceil(MAX_BLOCKS))
                .max(1);
            (per_block < units).then_some(per_block)
        })
        .collect()
}

/// The output units a kernel's weight splits into and the words of each, as the
/// protocol splits it (`protocol::linear::Bilinear::units`): a convolution of one
/// group by output channels, a product by output features.
pub fn weight_units(kernel: &Kernel) -> Option<(usize, usize)> {
    match kernel {
        Kernel::Conv { geometry, .. } if geometry.groups == 1 && geometry.out_channels > 0 => {
            Some((
                geometry.out_channels,
                geometry.weight_len() / geometry.out_channels,
            ))
        }
        Kernel::MatMul { inner, out, .. } => Some((*out, *inner)),
        _ => None,
    }
}

/// Per step, what P0's masking thread holds: twice (the weight and its masked form)
/// the next thing it masks, the next block of this step's weight or the first block
/// (or the whole) of the next weight first used after the step.
fn masked_ahead(program: &Program, held: &[u64], blocks: &[Option<usize>]) -> Vec<u64> {
    let mut seen = std::collections::HashSet::new();
    let first_uses: Vec<(usize, u64)> = (program.instructions.iter().enumerate())
        .filter_map(|(step, i)| Some((step, i.kernel.linear_weight()?)))
        .filter(|&(_, w)| seen.insert(w))
        .map(|(step, _)| (step, 2 * held[step]))
        .collect();
    let mut next = first_uses.iter().peekable();
    (0..program.instructions.len())
        .map(|step| {
            while next.next_if(|&&(first, _)| first <= step).is_some() {}
            let own = if blocks[step].is_some() {
                2 * held[step]
            } else {
                0
            };
            own.max(next.peek().map_or(0, |&&(_, ahead)| ahead))
        })
        .collect()
}

/// The batch sizes of the selections a kernel on `n` elements evaluates, in order.
pub fn select_batches(kernel: &Kernel, n: usize) -> Vec<usize> {
    match kernel {
        Kernel::Relu | Kernel::LeakyRelu { .. } => vec![n],
        Kernel::Clip { min, max } => {
            vec![n * (usize::from(min.is_some()) + usize::from(max.is_some()))]
        }
        Kernel::MaxPool(geometry) => cryptflow_ring::pool::max_tree_sizes(&geometry.windows()),
        _ => Vec::new(),
    }
}

/// The bytes a select kernel holds beside its pieces: the whole batch's inputs and
/// outputs (a Clip's differences and ReLUs, a MaxPool level's differences and
/// ReLUs), and a MaxPool's tree, a vector of candidates per window (measured on
/// ResNet50's first MaxPool, 2026-12-03: 39 MiB beside its pieces, 19 MiB of which
/// the activations).
fn select_working_set(kernel: &Kernel, batches: &[usize]) -> u64 {
    let whole = 2 * 8 * batches.first().copied().unwrap_or(0) as u64;
    match kernel {
        Kernel::MaxPool(geometry) => {
            let windows = geometry.output_len() as u64;
            // Each select takes one candidate out of a window, down to one a window.
            let candidates = windows + batches.iter().sum::<usize>() as u64;
            // A Vec per window: its header and the allocator's 16 bytes.
            whole + windows * 40 + candidates * 8
        }
        Kernel::Clip { .. } => whole,
        _ => 0,
    }
}

/// The words of a linear layer's weight (or its block of `weight` words), im2col
/// matrix and output.
fn linear_working_set(kernel: &Kernel, n: usize, weight: u64) -> u64 {
    match kernel {
        Kernel::Conv { geometry, .. } => {
            let positions = geometry.out_height() * geometry.out_width();
            weight + (positions * geometry.patch_len() + geometry.output_len()) as u64
        }
        Kernel::MatMul {
            rows, inner, out, ..
        } => weight + (rows * inner + rows * out) as u64,
        Kernel::Scale { .. } => 3 * n as u64,
        _ => 0,
    }
}

/// The pieces of a batch of `n` under `piece` elements each (`None`: one): each
/// piece's start and length. An empty batch has no pieces.
pub fn pieces(n: usize, piece: Option<usize>) -> impl Iterator<Item = (usize, usize)> {
    let piece = piece.unwrap_or(n).max(1);
    (0..n.div_ceil(piece)).map(move |i| (i * piece, piece.min(n - i * piece)))
}

#[cfg(test)]
mod tests;

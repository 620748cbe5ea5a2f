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
}

/// Plans `program` for a budget of `budget_mib` MiB per party (`None`: unbounded).
pub fn plan(program: &Program, budget_mib: Option<u64>) -> Result<MemoryPlan, BudgetTooSmall> {
    let steps = step_costs(program);
    let mut pieces = Vec::with_capacity(steps.len());
    let mut peak = [0u64; 3];
    let mut step_extra_rounds = Vec::with_capacity(steps.len());
    for (step, cost) in steps.iter().enumerate() {
        let piece = match budget_mib {
            None => None,
            Some(budget) => cost
                .largest_piece_within(budget << 20)
                .ok_or_else(|| too_small(program, &steps, budget, step))?,
        };
        step_extra_rounds.push(piece.map_or(0, |p| cost.extra_pieces(p) * ROUNDS_PER_PIECE));
        let at = cost.peaks(piece.unwrap_or(cost.batch));
        for p in 0..3 {
            peak[p] = peak[p].max(at[p]);
        }
        pieces.push(piece);
    }
    Ok(MemoryPlan {
        budget_mib,
        pieces,
        peak_mib: peak.map(|b| b.div_ceil(1 << 20)),
        extra_rounds: step_extra_rounds.iter().sum(),
        step_extra_rounds,
    })
}

/// The error for `budget`, naming the smallest budget any plan meets.
fn too_small(program: &Program, steps: &[StepCost], budget: u64, step: usize) -> BudgetTooSmall {
    // The smallest workable budget: every step at its smallest piece.
    let mut needed = [0u64; 3];
    for cost in steps {
        let smallest = cost.smallest_peaks();
        for p in 0..3 {
            needed[p] = needed[p].max(smallest[p]);
        }
    }
    let at_step = steps[step].smallest_peaks();
    // On a tie, the lower-numbered party (its weights are the cause).
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

fn step_costs(program: &Program) -> Vec<StepCost> {
    let bytes = |slot: usize| program.slot_len(slot) as u64 * 8;
    let weight_bytes = |w: usize| program.weight_shapes[w].iter().product::<usize>() as u64 * 8;
    let ahead = masked_ahead(program, weight_bytes);
    let mut live = bytes(program.input);
    let mut costs = Vec::with_capacity(program.instructions.len());
    for (step, instruction) in program.instructions.iter().enumerate() {
        live += bytes(instruction.output);
        let n = program.slot_len(instruction.inputs[0]);
        let batches = select_batches(&instruction.kernel, n);
        let linear = linear_working_set(&instruction.kernel, n);
        // P0 reads each weight from the compiled file when it is used
        // (runtime/src/owner.rs): at its step it holds the weight, the masked weight
        // and the bytes going out; its masking thread holds the next weight and its
        // mask in any step. The client holds the masked weight in use, the helper its
        // mask.
        let weight = instruction.kernel.linear_weight().map_or(0, weight_bytes);
        let common = BASE_BYTES + live + linear * 8 * LINEAR_WORDS;
        costs.push(StepCost {
            fixed: [
                common + 3 * weight + ahead[step],
                common + weight,
                common + weight,
            ],
            batch: batches.iter().copied().max().unwrap_or(0),
            batches,
        });
        live -= instruction.free.iter().map(|&s| bytes(s)).sum::<u64>();
    }
    costs
}

/// Per step, what P0's masking thread holds (twice the bytes of the first weight whose
/// first use comes after the step: the weight and its masked form, one ahead).
fn masked_ahead(program: &Program, weight_bytes: impl Fn(usize) -> u64) -> Vec<u64> {
    let mut seen = std::collections::HashSet::new();
    let first_uses: Vec<(usize, u64)> = (program.instructions.iter().enumerate())
        .filter_map(|(step, i)| Some((step, i.kernel.linear_weight()?)))
        .filter(|&(_, w)| seen.insert(w))
        .map(|(step, w)| (step, 2 * weight_bytes(w)))
        .collect();
    let mut next = first_uses.iter().peekable();
    (0..program.instructions.len())
        .map(|step| {
            while next.next_if(|&&(first, _)| first <= step).is_some() {}
            next.peek().map_or(0, |&&(_, held)| held)
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

/// The words of a linear layer's weight, im2col matrix and output.
fn linear_working_set(kernel: &Kernel, n: usize) -> u64 {
    match kernel {
        Kernel::Conv { geometry, .. } => {
            let positions = geometry.out_height() * geometry.out_width();
            (geometry.weight_len() + positions * geometry.patch_len() + geometry.output_len())
                as u64
        }
        Kernel::MatMul {
            rows, inner, out, ..
        } => (inner * out + rows * inner + rows * out) as u64,
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

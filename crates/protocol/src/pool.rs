//! Pooling. Max pooling is a tree of secure maxima, `max(a, b) = b + ReLU(a − b)`
//! (SecureNN/Porthos do the same with their own comparison), one batched
//! [`SecureSelect`] per level of the tree over all windows at once, so a k-element
//! window costs ⌈log₂ k⌉ comparisons deep. Average pooling is local: each party sums its
//! shares over the window and divides by the window size ([`crate::division`]).

use crate::error::ProtocolError;
use crate::msgs::{Message, Outgoing, SelectCorrection};
use crate::relu::{ReluCorrelation, SecureSelect, Width};
use crate::Step;
use cryptflow_ring::pool::PoolGeometry;
use cryptflow_ring::{Party, Prg};
use std::collections::VecDeque;

pub use cryptflow_ring::pool::max_tree_sizes;

/// The dealt randomness of a max tree: one ReLU batch per level.
#[derive(Clone, Debug)]
pub struct MaxPoolCorrelation(Vec<ReluCorrelation>);

impl MaxPoolCorrelation {
    /// The ReLU correlation of each level, in order.
    pub fn into_levels(self) -> Vec<ReluCorrelation> {
        self.0
    }

    pub fn draw(prg: &mut Prg, sizes: &[usize], width: Width) -> MaxPoolCorrelation {
        MaxPoolCorrelation(
            sizes
                .iter()
                .map(|&n| ReluCorrelation::draw(prg, n, width))
                .collect(),
        )
    }

    /// The helper's corrections for the client, all levels in one message.
    pub fn deal(
        sizes: &[usize],
        width: Width,
        owner_prg: &mut Prg,
        client_prg: &mut Prg,
    ) -> SelectCorrection {
        SelectCorrection::new(
            sizes
                .iter()
                .flat_map(|&n| ReluCorrelation::deal(n, width, owner_prg, client_prg))
                .collect(),
        )
    }

    pub fn for_client(
        sizes: &[usize],
        width: Width,
        client_prg: &mut Prg,
        message: Vec<u64>,
    ) -> Result<MaxPoolCorrelation, ProtocolError> {
        let expected: usize = sizes
            .iter()
            .map(|&n| ReluCorrelation::message_len(n, width))
            .sum();
        let message = SelectCorrection::decode(Party::Helper, message, expected)?;
        let mut rest = message.words();
        let mut levels = Vec::with_capacity(sizes.len());
        for &n in sizes {
            let (mine, tail) = rest.split_at(ReluCorrelation::message_len(n, width));
            levels.push(ReluCorrelation::for_client(n, width, client_prg, mine)?);
            rest = tail;
        }
        Ok(MaxPoolCorrelation(levels))
    }
}

/// The max tree of one share-holder, without its selects: each level's differences
/// go to a batch of selects that the caller runs (in one piece or several, see the
/// runtime's memory plan), and the ReLUs come back to [`combine`](MaxTree::combine).
/// Pure arithmetic on shares: nothing is sent or drawn here.
#[derive(Debug)]
pub struct MaxTree {
    /// The current candidates of each window.
    candidates: Vec<Vec<u64>>,
}

impl MaxTree {
    /// This party's share of the input; `windows` lists each output's input indices.
    pub fn new(input: &[u64], windows: &[Vec<usize>]) -> MaxTree {
        MaxTree {
            candidates: windows
                .iter()
                .map(|w| w.iter().map(|&i| input[i]).collect())
                .collect(),
        }
    }

    /// The next level's differences `a − b` of each pair of candidates (their ReLU
    /// is the select batch of the level), or `None` when every window is down to one.
    pub fn differences(&self) -> Option<Vec<u64>> {
        if self.candidates.iter().all(|c| c.len() <= 1) {
            return None;
        }
        Some(
            self.candidates
                .iter()
                .flat_map(|c| c.chunks_exact(2).map(|p| p[0].wrapping_sub(p[1])))
                .collect(),
        )
    }

    /// Takes the level's ReLUs: `max(a, b) = b + ReLU(a − b)`, an odd one out moves up.
    pub fn combine(&mut self, relu: &[u64]) {
        let mut relu = relu.iter();
        for c in &mut self.candidates {
            let mut next = Vec::with_capacity(c.len().div_ceil(2));
            for pair in c.chunks(2) {
                match pair {
                    [a, b] => next.push(b.wrapping_add(*relu.next().unwrap_or(a))),
                    [a] => next.push(*a),
                    _ => {}
                }
            }
            *c = next;
        }
    }

    /// This party's share of each window's maximum (after the last level).
    pub fn output(&self) -> Vec<u64> {
        self.candidates
            .iter()
            .map(|c| c.first().copied().unwrap_or(0))
            .collect()
    }
}

/// One share-holder's run of max pooling.
#[derive(Debug)]
pub struct SecureMaxPool {
    party: Party,
    tree: MaxTree,
    levels: VecDeque<ReluCorrelation>,
    select: Option<SecureSelect>,
    /// The tree level the current select runs (its rounds follow the earlier levels').
    level: u16,
    /// Rounds of one level's select.
    level_rounds: u16,
}

impl SecureMaxPool {
    /// Starts on this party's share of the input; `windows` lists each output's input
    /// indices. Returns the state and the first message, or the result at once when no
    /// window has two elements.
    pub fn start(
        party: Party,
        input: &[u64],
        windows: &[Vec<usize>],
        correlation: MaxPoolCorrelation,
    ) -> Result<(SecureMaxPool, Step<Vec<u64>>), ProtocolError> {
        let level_rounds = correlation
            .0
            .first()
            .map_or(Width::FULL, ReluCorrelation::width)
            .rounds();
        let mut state = SecureMaxPool {
            party,
            tree: MaxTree::new(input, windows),
            levels: correlation.0.into(),
            select: None,
            level: 0,
            level_rounds,
        };
        let first = state.next_level()?;
        Ok((state, first))
    }

    fn next_level(&mut self) -> Result<Step<Vec<u64>>, ProtocolError> {
        let (Some(diffs), Some(correlation)) = (self.tree.differences(), self.levels.pop_front())
        else {
            return Ok(Step::Done(self.tree.output()));
        };
        let (select, message) = SecureSelect::start(self.party, &diffs, &diffs, correlation)?;
        self.select = Some(select);
        Ok(Step::Send(self.in_level(message)))
    }

    /// A select's message, numbered after the rounds of the levels before it.
    fn in_level(&self, mut message: Outgoing) -> Outgoing {
        message.round = message
            .round
            .saturating_add(self.level.saturating_mul(self.level_rounds));
        message
    }

    pub fn step(&mut self, incoming: Vec<u64>) -> Result<Step<Vec<u64>>, ProtocolError> {
        let select = self
            .select
            .as_mut()
            .expect("SecureMaxPool stepped after it finished");
        match select.step(incoming)? {
            Step::Send(m) => Ok(Step::Send(self.in_level(m))),
            Step::Done(relu) => {
                self.select = None;
                self.level = self.level.saturating_add(1);
                self.tree.combine(&relu);
                self.next_level()
            }
        }
    }
}

/// The cleartext twin of max pooling (signed comparison).
pub fn ideal_max_pool(input: &[u64], windows: &[Vec<usize>]) -> Vec<u64> {
    windows
        .iter()
        .map(|w| {
            w.iter()
                .map(|&i| input[i])
                .max_by_key(|&v| v as i64)
                .unwrap_or(0)
        })
        .collect()
}

/// The sum of each window. Linear, so the same function serves shares and cleartext;
/// average pooling divides the sums with [`crate::division`].
pub fn window_sums(input: &[u64], geometry: &PoolGeometry) -> Vec<u64> {
    geometry
        .windows()
        .iter()
        .map(|w| w.iter().fold(0u64, |acc, &i| acc.wrapping_add(input[i])))
        .collect()
}

#[cfg(test)]
mod privacy;
#[cfg(test)]
mod tests;

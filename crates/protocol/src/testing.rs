//! Helpers for the protocol tests: all parties stepped in one thread, and the privacy
//! check ([`privacy`]).

mod counter;
mod privacy;

pub use privacy::{assert_caught, check_privacy, Leak, View};

use crate::msgs::Outgoing;
use crate::{PairwiseSeeds, Step, StreamId};
use cryptflow_ring::{Party, Prg, Seed};

pub fn owner_client_prg(seed: u64) -> Prg {
    Prg::new(Seed::from_u64(seed))
}

/// Splits `x` into two additive shares with randomness from `seed`.
pub fn share(x: &[u64], seed: u64) -> (Vec<u64>, Vec<u64>) {
    let x0 = Prg::new(Seed::from_u64(seed)).u64s(x.len());
    let x1 = x.iter().zip(&x0).map(|(x, r)| x.wrapping_sub(*r)).collect();
    (x0, x1)
}

pub fn reconstruct(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(a, b)| a.wrapping_add(*b)).collect()
}

/// Elementwise `a − b`.
pub fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(a, b)| a.wrapping_sub(*b)).collect()
}

/// Elementwise `a ⊕ b`.
pub fn xor(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(a, b)| a ^ b).collect()
}

/// The pairwise generators of the three parties for one stream, every direction.
pub struct Streams {
    pub owner_helper: Prg,
    pub owner_client: Prg,
    pub client_helper: Prg,
    pub client_owner: Prg,
    /// The helper's copies.
    pub helper_owner: Prg,
    pub helper_client: Prg,
}

impl Streams {
    /// Each party's generator for `stream`.
    pub fn of(seeds: &[PairwiseSeeds; 3], stream: StreamId) -> Streams {
        let [p0, p1, p2] = seeds;
        Streams {
            owner_helper: p0.stream(Party::Helper, stream),
            owner_client: p0.stream(Party::Client, stream),
            client_helper: p1.stream(Party::Helper, stream),
            client_owner: p1.stream(Party::ModelOwner, stream),
            helper_owner: p2.stream(Party::ModelOwner, stream),
            helper_client: p2.stream(Party::Client, stream),
        }
    }
}

pub fn streams(master: u64, stream: StreamId) -> Streams {
    Streams::of(&PairwiseSeeds::for_test(master), stream)
}

/// The three parties' seeds for one privacy trial: the pairs `receiver` belongs to get
/// the same seeds in every trial (the receiver's knowledge is held fixed), the other
/// pair a seed drawn from `trial` (what the receiver does not know varies).
pub fn trial_seeds(receiver: Party, trial: u64) -> [PairwiseSeeds; 3] {
    let pair = |a: Party, b: Party| {
        let known = a == receiver || b == receiver;
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&(if known { 0xfeed } else { trial }).to_le_bytes());
        bytes[8] = a.index() as u8;
        bytes[9] = b.index() as u8;
        bytes[10] = u8::from(known);
        Some(Seed(bytes))
    };
    let (p0, p1, p2) = (Party::ModelOwner, Party::Client, Party::Helper);
    [
        PairwiseSeeds::new(p0, [None, pair(p0, p1), pair(p0, p2)]),
        PairwiseSeeds::new(p1, [pair(p0, p1), None, pair(p1, p2)]),
        PairwiseSeeds::new(p2, [pair(p0, p2), pair(p1, p2), None]),
    ]
}

/// More rounds than any protocol here takes (a select takes 8, a max tree 8 per level).
pub const MAX_ROUNDS: usize = 64;

/// The messages each share-holder sent, round by round.
#[derive(Debug, Default)]
pub struct Transcript {
    pub owner: Vec<Vec<u64>>,
    pub client: Vec<Vec<u64>>,
    /// Each round's message kind and round number (the same for both).
    pub labels: Vec<(crate::msgs::MessageKind, u16)>,
}

/// Steps two share-holders in lockstep from their first messages until both finish,
/// recording their messages.
pub fn run_pair<S, T>(
    (p0, m0): (S, Outgoing),
    (p1, m1): (S, Outgoing),
    step: impl FnMut(&mut S, Vec<u64>) -> Step<T>,
) -> (T, T, Transcript) {
    drive_pair((p0, Step::Send(m0)), (p1, Step::Send(m1)), step)
}

/// As [`run_pair`], from each party's first step (which may already be its result).
pub fn drive_pair<S, T>(
    (mut p0, mut s0): (S, Step<T>),
    (mut p1, mut s1): (S, Step<T>),
    mut step: impl FnMut(&mut S, Vec<u64>) -> Step<T>,
) -> (T, T, Transcript) {
    let mut transcript = Transcript::default();
    loop {
        match (s0, s1) {
            (Step::Send(m0), Step::Send(m1)) => {
                // A protocol that never finishes fails here rather than hanging the test.
                assert!(
                    transcript.owner.len() < MAX_ROUNDS,
                    "no result after {MAX_ROUNDS} rounds"
                );
                assert_eq!(
                    (m0.kind, m0.round),
                    (m1.kind, m1.round),
                    "the share-holders' messages of a round are of one kind"
                );
                s0 = step(&mut p0, m1.words.clone());
                s1 = step(&mut p1, m0.words.clone());
                transcript.labels.push((m0.kind, m0.round));
                transcript.owner.push(m0.words);
                transcript.client.push(m1.words);
            }
            (Step::Done(a), Step::Done(b)) => return (a, b, transcript),
            _ => panic!("the share-holders disagree on the number of rounds"),
        }
    }
}

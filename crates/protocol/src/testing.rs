//! Helpers for the protocol tests: all parties stepped in one thread.

use crate::{PairwiseSeeds, Step, StreamId};
use cryptflow_ring::{Party, Prg, Seed};

pub fn owner_client_prg(seed: u64) -> Prg {
    Prg::new(Seed::from_u64(seed))
}

/// How many standard deviations the count of one bits in `words` is from half: a
/// uniform word stream stays within a few.
pub fn uniformity_z(words: &[u64]) -> f64 {
    let ones: u64 = words.iter().map(|w| u64::from(w.count_ones())).sum();
    let total = words.len() as f64 * 64.0;
    (ones as f64 - total / 2.0) / (total / 4.0).sqrt()
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

/// The pairwise generators of the three parties for one stream.
pub struct Streams {
    pub owner_helper: Prg,
    pub client_helper: Prg,
    /// The helper's copies.
    pub helper_owner: Prg,
    pub helper_client: Prg,
}

pub fn streams(master: u64, stream: StreamId) -> Streams {
    let [p0, p1, p2] = PairwiseSeeds::for_test(master);
    let streams = Streams {
        owner_helper: p0.stream(Party::Helper, stream),
        client_helper: p1.stream(Party::Helper, stream),
        helper_owner: p2.stream(Party::ModelOwner, stream),
        helper_client: p2.stream(Party::Client, stream),
    };
    // The pairs really share their streams.
    debug_assert_eq!(
        p1.stream(Party::ModelOwner, stream).u64s(2),
        p0.stream(Party::Client, stream).u64s(2)
    );
    streams
}

/// What each share-holder received during an interactive run.
#[derive(Debug, Default)]
pub struct Views {
    pub owner: Vec<u64>,
    pub client: Vec<u64>,
}

/// Steps two share-holders in lockstep until both finish, recording their views.
pub fn run_pair<S, T>(
    (mut p0, mut m0): (S, Vec<u64>),
    (mut p1, mut m1): (S, Vec<u64>),
    mut step: impl FnMut(&mut S, &[u64]) -> Step<T>,
) -> (T, T, Views) {
    let mut views = Views::default();
    loop {
        views.owner.extend_from_slice(&m1);
        views.client.extend_from_slice(&m0);
        match (step(&mut p0, &m1), step(&mut p1, &m0)) {
            (Step::Send(a), Step::Send(b)) => {
                m0 = a;
                m1 = b;
            }
            (Step::Done(a), Step::Done(b)) => return (a, b, views),
            _ => panic!("the share-holders disagree on the number of rounds"),
        }
    }
}

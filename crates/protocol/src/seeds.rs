use cryptflow_ring::{Party, Prg, Seed};

/// Names one independent stream of pairwise randomness: the instruction it serves and a
/// purpose within it. Every party derives the same stream from the same id, so the
/// parties stay in step without counting draws across protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamId(pub u64);

impl StreamId {
    /// The stream that shares the client's input.
    pub const INPUT: StreamId = StreamId(u64::MAX);

    /// The stream for `purpose` within instruction `step`.
    pub fn for_step(step: usize, purpose: u8) -> StreamId {
        StreamId(((step as u64) << 8) | u64::from(purpose))
    }

    /// The stream for setting up weight `index` (a separate range from the steps).
    pub fn for_weight(index: usize) -> StreamId {
        StreamId((1 << 62) | index as u64)
    }
}

/// The seeds this party shares with each other party, fresh for every session.
#[derive(Clone, Debug)]
pub struct PairwiseSeeds {
    me: Party,
    seeds: [Option<Seed>; 3],
}

impl PairwiseSeeds {
    /// `seeds[i]` is the seed shared with party `i`; the entry for `me` is ignored.
    pub fn new(me: Party, seeds: [Option<Seed>; 3]) -> PairwiseSeeds {
        let mut seeds = seeds;
        seeds[me.index()] = None;
        PairwiseSeeds { me, seeds }
    }

    pub fn me(&self) -> Party {
        self.me
    }

    /// The generator for `stream` shared with `peer`.
    ///
    /// # Panics
    /// If there is no seed with `peer` (a wiring bug in the caller, not peer input).
    pub fn stream(&self, peer: Party, stream: StreamId) -> Prg {
        let seed = self.seeds[peer.index()]
            .unwrap_or_else(|| panic!("{} has no seed shared with {peer}", self.me));
        Prg::with_stream(seed, stream.0)
    }

    /// All three parties' seeds for a test run in one process.
    pub fn for_test(master: u64) -> [PairwiseSeeds; 3] {
        let pair = |a: u64, b: u64| Some(Seed::from_u64(master.wrapping_mul(1000) + a * 10 + b));
        [
            PairwiseSeeds::new(Party::ModelOwner, [None, pair(0, 1), pair(0, 2)]),
            PairwiseSeeds::new(Party::Client, [pair(0, 1), None, pair(1, 2)]),
            PairwiseSeeds::new(Party::Helper, [pair(0, 2), pair(1, 2), None]),
        ]
    }
}

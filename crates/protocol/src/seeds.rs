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
///
/// A stream is a one-time pad: handing the same (peer, stream) out twice would mask two
/// openings with the same randomness, which no statistical test of a single opening
/// can see. Every build therefore records each stream handed out and panics on a second
/// [`stream`](Self::stream) of the same one (a few streams per layer: the record costs
/// nothing measurable, and a party must rather stop than leak); a party that recomputes
/// a value it derived before says so with [`rederive`](Self::rederive).
#[derive(Clone, Debug)]
pub struct PairwiseSeeds {
    me: Party,
    seeds: [Option<Seed>; 3],
    /// Shared by clones: a clone belongs to the same session, so a stream handed out by
    /// either is used.
    issued: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<(Party, StreamId)>>>,
}

impl PairwiseSeeds {
    /// `seeds[i]` is the seed shared with party `i`; the entry for `me` is ignored.
    pub fn new(me: Party, seeds: [Option<Seed>; 3]) -> PairwiseSeeds {
        let mut seeds = seeds;
        seeds[me.index()] = None;
        PairwiseSeeds {
            me,
            seeds,
            issued: Default::default(),
        }
    }

    pub fn me(&self) -> Party {
        self.me
    }

    /// The generator for `stream` shared with `peer`, for fresh use.
    ///
    /// # Panics
    /// If there is no seed with `peer` (a wiring bug in the caller, not peer input), or
    /// if this party was already handed `stream` with `peer` in this session (a pad
    /// would be used twice).
    pub fn stream(&self, peer: Party, stream: StreamId) -> Prg {
        {
            let fresh = self.issued().insert((peer, stream));
            assert!(
                fresh,
                "{} was handed {stream:?} with {peer} twice in one session: a one-time pad \
                 would be reused (use `rederive` to recompute a value derived before)",
                self.me
            );
        }
        self.generator(peer, stream)
    }

    /// The generator for a stream this party was already handed, to recompute a value it
    /// derived before rather than hold it (the helper recomputes a weight's mask B for
    /// every use instead of keeping every mask of the model in memory). The value must
    /// only be recomputed, never used to mask anything new.
    ///
    /// # Panics
    /// If there is no seed with `peer`, or if `stream` with `peer` was never handed out by [`stream`](Self::stream) (nothing to re-derive).
    pub fn rederive(&self, peer: Party, stream: StreamId) -> Prg {
        assert!(
            self.issued().contains(&(peer, stream)),
            "{} re-derived {stream:?} with {peer}, which it was never handed",
            self.me
        );
        self.generator(peer, stream)
    }

    fn generator(&self, peer: Party, stream: StreamId) -> Prg {
        let seed = self.seeds[peer.index()]
            .unwrap_or_else(|| panic!("{} has no seed shared with {peer}", self.me));
        Prg::with_stream(seed, stream.0)
    }

    fn issued(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<(Party, StreamId)>> {
        // A panic while the lock is held (e.g. a reuse caught in a test) leaves the set
        // intact, so a poisoned lock is still usable.
        self.issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stream_gives_the_same_words_to_both_ends_of_its_pair() {
        let [p0, p1, p2] = PairwiseSeeds::for_test(3);
        let id = StreamId::for_step(4, 1);
        assert_eq!(
            p0.stream(Party::Helper, id).u64s(4),
            p2.stream(Party::ModelOwner, id).u64s(4)
        );
        assert_eq!(
            p1.stream(Party::Helper, id).u64s(4),
            p2.stream(Party::Client, id).u64s(4)
        );
        assert_ne!(
            p0.stream(Party::Client, id).u64s(4),
            p1.stream(Party::Helper, StreamId::for_step(4, 0)).u64s(4)
        );
    }

    #[test]
    fn the_three_pairs_have_three_different_seeds() {
        // Pairwise means pairwise: P0's stream with P1 is not its stream with P2, nor
        // P1's with P2.
        let [p0, p1, p2] = PairwiseSeeds::for_test(6);
        let id = StreamId::for_step(1, 0);
        let streams = [
            p0.stream(Party::Client, id).u64s(2),
            p0.stream(Party::Helper, id).u64s(2),
            p1.stream(Party::Helper, id).u64s(2),
        ];
        assert_ne!(streams[0], streams[1]);
        assert_ne!(streams[0], streams[2]);
        assert_ne!(streams[1], streams[2]);
        assert_eq!(p1.stream(Party::ModelOwner, id).u64s(2), streams[0]);
        assert_eq!(p2.stream(Party::ModelOwner, id).u64s(2), streams[1]);
        assert_eq!([p0.me(), p1.me(), p2.me()], Party::ALL);
    }

    #[test]
    fn test_runs_with_different_masters_use_different_randomness() {
        // Tests that loop over masters (e.g. ReLU on many seeds) rely on this.
        let id = StreamId::INPUT;
        let first = |master| {
            let [p0, p1, _] = PairwiseSeeds::for_test(master);
            [
                p0.stream(Party::Client, id).next_u64(),
                p0.stream(Party::Helper, id).next_u64(),
                p1.stream(Party::Helper, id).next_u64(),
            ]
        };
        let (a, b) = (first(1), first(2));
        for pair in 0..3 {
            assert_ne!(a[pair], b[pair], "pair {pair}");
        }
    }

    #[test]
    fn a_seed_given_for_oneself_is_dropped() {
        let seed = Some(Seed::from_u64(1));
        let p1 = PairwiseSeeds::new(Party::Client, [seed, seed, seed]);
        let result = std::panic::catch_unwind(|| p1.stream(Party::Client, StreamId::INPUT));
        assert!(result.is_err(), "P1 must have no seed shared with itself");
    }

    #[test]
    fn stream_ids_of_steps_weights_and_the_input_never_collide() {
        let mut ids = std::collections::HashSet::new();
        for step in [0, 1, 2, 255, 256, 1 << 20] {
            for purpose in [0, 1, 2, 255] {
                assert!(
                    ids.insert(StreamId::for_step(step, purpose)),
                    "{step} {purpose}"
                );
            }
        }
        for weight in [0, 1, 2, 255, 256, 1 << 20] {
            assert!(ids.insert(StreamId::for_weight(weight)), "weight {weight}");
        }
        assert!(ids.insert(StreamId::INPUT));
        assert_eq!(StreamId::for_step(3, 2), StreamId(0x302));
        assert_eq!(StreamId::for_weight(5), StreamId((1 << 62) + 5));
    }

    #[test]
    fn a_rederived_stream_repeats_the_original() {
        let [p0, _, _] = PairwiseSeeds::for_test(1);
        let id = StreamId::for_weight(2);
        let first = p0.stream(Party::Helper, id).u64s(8);
        assert_eq!(p0.rederive(Party::Helper, id).u64s(8), first);
        // The same id with the other peer is a different stream, and fresh.
        assert_ne!(p0.stream(Party::Client, id).u64s(8), first);
    }

    #[test]
    #[should_panic(expected = "twice in one session")]
    fn handing_out_a_stream_twice_panics() {
        let [_, p1, _] = PairwiseSeeds::for_test(1);
        let _ = p1.stream(Party::Helper, StreamId::for_step(7, 0));
        let _ = p1.stream(Party::Helper, StreamId::for_step(7, 0));
    }

    #[test]
    #[should_panic(expected = "twice in one session")]
    fn a_clone_shares_the_record() {
        let [p0, _, _] = PairwiseSeeds::for_test(1);
        let copy = p0.clone();
        let _ = p0.stream(Party::Client, StreamId::INPUT);
        let _ = copy.stream(Party::Client, StreamId::INPUT);
    }

    #[test]
    #[should_panic(expected = "never handed")]
    fn rederiving_a_stream_never_handed_out_panics() {
        let [_, _, p2] = PairwiseSeeds::for_test(1);
        let _ = p2.rederive(Party::ModelOwner, StreamId::for_weight(0));
    }

    #[test]
    #[should_panic(expected = "has no seed shared with")]
    fn a_stream_with_oneself_is_a_wiring_bug() {
        let [p0, _, _] = PairwiseSeeds::for_test(1);
        let _ = p0.stream(Party::ModelOwner, StreamId::INPUT);
    }
}

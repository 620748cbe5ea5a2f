//! Privacy of select/ReLU for each party that receives something: P0 (P1's openings)
//! and P1 (P0's openings and the helper's `ReluCorrelation` message). The helper
//! receives nothing. Method: [`crate::testing::check_privacy`]; each broken dealer of
//! [`super::dealers`] is shown to be caught.

use super::dealers::{self, Dealt, Defect};
use super::*;
use crate::testing::{
    assert_caught, check_privacy, reconstruct, run_pair, subtract, trial_seeds, xor,
};
use crate::testing::{Leak, Streams, View};
use crate::{PairwiseSeeds, StreamId};
use cryptflow_ring::{Prg, Seed};

const N: usize = 2;

/// What each round's message is.
const ROUNDS: [&str; 8] = [
    "masked opening (y, f)",
    "AND opening, level 0",
    "AND opening, level 1",
    "AND opening, level 2",
    "AND opening, level 3",
    "AND opening, level 4",
    "AND opening, level 5",
    "selection opening e",
];

/// Records one share-holder's side of a select: each round's message from `from`, the
/// value it opens with its own message (a sum in round 0, an XOR after), and its output.
pub(crate) fn record(view: &mut View, from: Party, mine: &[Vec<u64>], theirs: &[Vec<u64>]) {
    assert_eq!(theirs.len(), ROUNDS.len(), "a select has eight rounds");
    for (round, (mine, theirs)) in mine.iter().zip(theirs).enumerate() {
        view.receive(from, ROUNDS[round], theirs);
        let opened = if round == 0 {
            reconstruct(mine, theirs)
        } else {
            xor(mine, theirs)
        };
        view.derive(ROUNDS[round], &opened);
    }
}

/// The dealer, honest or broken.
#[derive(Clone, Copy, Debug)]
enum Variant {
    Honest,
    Broken(Defect),
    /// P1's share drawn under the seed P0 shares with the helper (another purpose of
    /// the same step), so P0 could compute P1's corrections.
    ClientShareKnownToOwner,
    /// P0's share drawn under the seed P1 shares with the helper.
    OwnerShareKnownToClient,
}

fn deal(variant: Variant, seeds: &[PairwiseSeeds; 3]) -> Dealt {
    let mut s = Streams::of(seeds, StreamId::for_step(5, 1));
    let other = || Streams::of(seeds, StreamId::for_step(5, 2));
    match variant {
        // The production path: each party draws from the seed it shares with the helper.
        Variant::Honest => {
            let message = ReluCorrelation::deal(N, &mut s.helper_owner, &mut s.helper_client);
            let client = ReluCorrelation::for_client(N, &mut s.client_helper, &message);
            Dealt {
                owner: ReluCorrelation::draw(&mut s.owner_helper, N),
                client: client.expect("dealt"),
                message,
            }
        }
        Variant::Broken(defect) => {
            dealers::deal(defect, N, &mut s.helper_owner, &mut s.helper_client)
        }
        Variant::ClientShareKnownToOwner => {
            let mut wrong = other().helper_owner;
            dealers::deal(Defect::Honest, N, &mut s.helper_owner, &mut wrong)
        }
        Variant::OwnerShareKnownToClient => {
            let mut wrong = other().helper_client;
            dealers::deal(Defect::Honest, N, &mut wrong, &mut s.helper_client)
        }
    }
}

/// Runs select(x, v) on the given shares; returns the output and P0's and P1's views.
fn run(dealt: Dealt, owner: [&[u64]; 2], client: [&[u64]; 2]) -> (Vec<u64>, [View; 2]) {
    let p0 = SecureSelect::start(Party::ModelOwner, owner[0], owner[1], dealt.owner);
    let p1 = SecureSelect::start(Party::Client, client[0], client[1], dealt.client);
    let (z0, z1, t) = run_pair(p0.expect("P0"), p1.expect("P1"), |p, m| {
        p.step(m).expect("well-formed")
    });
    let mut owner_view = View::default();
    record(&mut owner_view, Party::Client, &t.owner, &t.client);
    owner_view.derive("output share", &z0);
    let mut client_view = View::default();
    client_view.receive(Party::Helper, "ReLU correlation", &dealt.message);
    record(&mut client_view, Party::ModelOwner, &t.client, &t.owner);
    client_view.derive("output share", &z1);
    (reconstruct(&z0, &z1), [owner_view, client_view])
}

/// The receiver's own shares of x and v, the same in every trial.
fn known() -> [Vec<u64>; 2] {
    let mut prg = Prg::new(Seed::from_u64(40));
    [prg.u64s(N), prg.u64s(N)]
}

/// Two assignments of the secret ReLU input (v = x): zeros, and a negative and a
/// positive value (signs and magnitudes differ from the first).
fn secrets() -> [Vec<u64>; 2] {
    [vec![0; N], vec![(-5i64) as u64, 1 << 40]]
}

/// Runs ReLU on the secret `x` (v = x) with `receiver` holding its `known` shares of x
/// and v, the other share-holder the rest; returns the output and `receiver`'s view.
fn view_of(receiver: Party, known: &[Vec<u64>; 2], x: &[u64], dealt: Dealt) -> (Vec<u64>, View) {
    let [known_x, known_v] = known;
    let (other_x, other_v) = (subtract(x, known_x), subtract(x, known_v));
    let mine = [known_x.as_slice(), known_v];
    let theirs = [other_x.as_slice(), &other_v];
    let (owner, client) = match receiver {
        Party::ModelOwner => (mine, theirs),
        _ => (theirs, mine),
    };
    let (out, [owner_view, client_view]) = run(dealt, owner, client);
    match receiver {
        Party::ModelOwner => (out, owner_view),
        _ => (out, client_view),
    }
}

/// The privacy check for `receiver` with the dealer `variant`.
fn leak_to(receiver: Party, variant: Variant) -> Result<(), Leak> {
    let known = known();
    let [a, b] = secrets();
    check_privacy([&a, &b], |x, trial| {
        let seeds = trial_seeds(receiver, trial);
        view_of(receiver, &known, x, deal(variant, &seeds)).1
    })
}

#[test]
fn honest_views_do_not_depend_on_the_input() {
    for receiver in [Party::ModelOwner, Party::Client] {
        assert_eq!(leak_to(receiver, Variant::Honest), Ok(()), "{receiver}");
    }
}

#[test]
fn a_zero_mask_is_caught_by_both_share_holders() {
    for receiver in [Party::ModelOwner, Party::Client] {
        let leak = leak_to(receiver, Variant::Broken(Defect::ZeroMask));
        assert_caught(leak, &receiver.to_string());
    }
}

#[test]
fn a_mask_reused_for_two_openings_is_caught_by_both_share_holders() {
    for receiver in [Party::ModelOwner, Party::Client] {
        let leak = leak_to(receiver, Variant::Broken(Defect::ReusedMask));
        assert_caught(leak, &receiver.to_string());
    }
}

#[test]
fn a_share_drawn_from_the_receivers_seed_is_caught() {
    assert_caught(
        leak_to(Party::ModelOwner, Variant::ClientShareKnownToOwner),
        "P0",
    );
    assert_caught(
        leak_to(Party::Client, Variant::OwnerShareKnownToClient),
        "P1",
    );
}

#[test]
fn a_helper_message_carrying_the_mask_in_the_clear_is_caught_by_the_client() {
    assert_caught(
        leak_to(Party::Client, Variant::Broken(Defect::ClearCorrection)),
        "P1",
    );
}

/// Chunks of 64 elements (the smallest that pack), two whole ones and a ragged tail.
const CHUNK: usize = 64;
const CHUNKED: usize = 2 * CHUNK + 5;

/// A batch dealt in small chunks, honestly or with every chunk's masks the first's.
fn deal_chunked(fresh: bool, seeds: &[PairwiseSeeds; 3]) -> Dealt {
    let id = StreamId::for_step(5, 1);
    let _handed_out_once = Streams::of(seeds, id);
    let helper = &seeds[Party::Helper.index()];
    let owner = || helper.rederive(Party::ModelOwner, id);
    let client = || helper.rederive(Party::Client, id);
    dealers::deal_in_chunks(CHUNKED, CHUNK, fresh, owner, client)
}

/// The privacy check over chunks for `receiver`: the view is sampled at the first
/// element of each chunk (elements 0, 64, 128 of each opening), where masks reused
/// across chunks show as openings that differ by the secrets' difference.
fn chunked_leak_to(receiver: Party, fresh: bool) -> Result<(), Leak> {
    let mut prg = Prg::new(Seed::from_u64(41));
    let known = [prg.u64s(CHUNKED), prg.u64s(CHUNKED)];
    let zeros = vec![0; CHUNKED];
    // Negative and positive values, different in each chunk.
    let mixed: Vec<u64> = (0..CHUNKED)
        .map(|i| (i as i64 - 66).wrapping_mul(1000) as u64)
        .collect();
    check_privacy([&zeros, &mixed], |x, trial| {
        let seeds = trial_seeds(receiver, trial);
        let (out, view) = view_of(receiver, &known, x, deal_chunked(fresh, &seeds));
        assert_eq!(out, ideal_select(x, x), "a consistent dealing");
        view.sampled(CHUNK)
    })
}

#[test]
fn a_batch_dealt_in_chunks_leaks_nothing_and_masks_reused_across_chunks_are_caught() {
    for receiver in [Party::ModelOwner, Party::Client] {
        assert_eq!(chunked_leak_to(receiver, false), Ok(()), "{receiver}");
        assert_caught(chunked_leak_to(receiver, true), &receiver.to_string());
    }
}

#[test]
fn broken_dealers_still_compute_relu() {
    // So no correctness test can catch them: only the privacy checks above do.
    let variants = [
        Variant::Honest,
        Variant::Broken(Defect::ZeroMask),
        Variant::Broken(Defect::ReusedMask),
        Variant::Broken(Defect::ClearCorrection),
        Variant::ClientShareKnownToOwner,
        Variant::OwnerShareKnownToClient,
    ];
    let x = secrets()[1].clone();
    let [x1, _] = known();
    let x0 = subtract(&x, &x1);
    for variant in variants {
        let seeds = trial_seeds(Party::Helper, 1);
        let (out, _) = run(deal(variant, &seeds), [&x0, &x0], [&x1, &x1]);
        assert_eq!(out, ideal_select(&x, &x), "{variant:?}");
    }
}

#[test]
fn only_the_client_hears_from_the_helper() {
    let seeds = trial_seeds(Party::Helper, 1);
    let (_, [owner, client]) = run(deal(Variant::Honest, &seeds), [&[0; N]; 2], [&[0; N]; 2]);
    assert_eq!(owner.words_from(Party::Helper), 0);
    let expected = ReluCorrelation::message_len(N);
    assert_eq!(client.words_from(Party::Helper), expected);
    assert_eq!(
        owner.words_from(Party::Client),
        client.words_from(Party::ModelOwner)
    );
}

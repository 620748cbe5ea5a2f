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

/// The narrow width the tests run beside the full one: secrets must fit it.
fn narrow() -> Width {
    Width::new(16).expect("a width")
}

/// What each round's message is at `width` (the opening, one per tree level, the
/// selection).
fn round_name(round: usize, width: Width) -> &'static str {
    const AND: [&str; 6] = [
        "AND opening, level 0",
        "AND opening, level 1",
        "AND opening, level 2",
        "AND opening, level 3",
        "AND opening, level 4",
        "AND opening, level 5",
    ];
    let last = usize::from(width.rounds()) - 1;
    match round {
        0 => "masked opening (y, f)",
        r if r == last => "selection opening e",
        r => AND[r - 1],
    }
}

/// What the two openings of round 0 open: `y` lane by lane mod 2^w, then `f`.
fn open_masked(mine: &[u64], theirs: &[u64], width: Width) -> Vec<u64> {
    let n = (0..=mine.len())
        .find(|&n| bits::packed_len(n, width.bits()) + n == mine.len())
        .expect("an opening of y and f");
    let y_words = bits::packed_len(n, width.bits());
    let lanes = |m: &[u64]| bits::unpack(&m[..y_words], width.bits(), n);
    let mask = u64::MAX >> (64 - width.bits());
    let mut opened: Vec<u64> = lanes(mine)
        .iter()
        .zip(lanes(theirs))
        .map(|(a, b)| a.wrapping_add(b) & mask)
        .collect();
    opened.extend(reconstruct(&mine[y_words..], &theirs[y_words..]));
    opened
}

/// The bits of a batch of `n` < 64 elements in bit-sliced words (one word per bit
/// position, element e in bit e), concatenated: the other bits belong to no element
/// (their operands are zero, so they are masks alone) and would only make the view
/// long, and the pairwise statistic quadratic in its length. From 64 elements on,
/// every word as it is.
pub(crate) fn element_bits(words: &[u64], n: usize) -> Vec<u64> {
    if n >= 64 {
        return words.to_vec();
    }
    let mut out = vec![0u64; (words.len() * n).div_ceil(64)];
    for (i, word) in words.iter().enumerate() {
        let lane = word & ((1 << n) - 1);
        let at = i * n;
        out[at / 64] |= lane << (at % 64);
        if at % 64 + n > 64 {
            out[at / 64 + 1] |= lane >> (64 - at % 64);
        }
    }
    out
}

/// The helper's message with the triples' bit-sliced words cut to the elements' bits.
pub(crate) fn correlation_view(message: &[u64], n: usize, width: Width) -> Vec<u64> {
    let r_bits = bits::packed_len(n, width.bits());
    let triples = ReluCorrelation::message_len(n, width) - 2 * n - r_bits;
    let (head, rest) = message.split_at(r_bits);
    let (tree, tail) = rest.split_at(triples);
    let mut view = head.to_vec();
    view.extend(element_bits(tree, n));
    view.extend_from_slice(tail);
    view
}

/// Records one share-holder's side of a select of `n` elements at `width`: each round's
/// message from `from`, the value it opens with its own message (a sum in round 0, an
/// XOR after), and its output. The AND openings keep the elements' bits
/// ([`element_bits`]) for trees wider than 16 bits; at 16 bits and below every word
/// is kept, so a leak that relates two bit positions (the same mask on two of them,
/// which packing into one word would hide from the word-wise statistic) shows there.
pub(crate) fn record(
    view: &mut View,
    from: Party,
    (mine, theirs): (&[Vec<u64>], &[Vec<u64>]),
    width: Width,
    n: usize,
) {
    assert_eq!(
        theirs.len(),
        usize::from(width.rounds()),
        "rounds of a select"
    );
    for (round, (mine, theirs)) in mine.iter().zip(theirs).enumerate() {
        let name = round_name(round, width);
        if round == 0 {
            view.receive(from, name, theirs);
            view.derive(name, &open_masked(mine, theirs, width));
        } else {
            let cut = |w: &[u64]| {
                if width.bits() > 16 {
                    element_bits(w, n)
                } else {
                    w.to_vec()
                }
            };
            view.receive(from, name, &cut(theirs));
            view.derive(name, &cut(&xor(mine, theirs)));
        }
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

fn deal(variant: Variant, width: Width, seeds: &[PairwiseSeeds; 3]) -> Dealt {
    let mut s = Streams::of(seeds, StreamId::for_step(5, 1));
    let other = || Streams::of(seeds, StreamId::for_step(5, 2));
    let w = width;
    match variant {
        // The production path: each party draws from the seed it shares with the helper.
        Variant::Honest => {
            let message = ReluCorrelation::deal(N, w, &mut s.helper_owner, &mut s.helper_client);
            let client = ReluCorrelation::for_client(N, w, &mut s.client_helper, &message);
            Dealt {
                owner: ReluCorrelation::draw(&mut s.owner_helper, N, w),
                client: client.expect("dealt"),
                message,
            }
        }
        Variant::Broken(defect) => {
            dealers::deal(defect, N, w, &mut s.helper_owner, &mut s.helper_client)
        }
        Variant::ClientShareKnownToOwner => {
            let mut wrong = other().helper_owner;
            dealers::deal(Defect::Honest, N, w, &mut s.helper_owner, &mut wrong)
        }
        Variant::OwnerShareKnownToClient => {
            let mut wrong = other().helper_client;
            dealers::deal(Defect::Honest, N, w, &mut wrong, &mut s.helper_client)
        }
    }
}

/// Runs select(x, v) on the given shares; returns the output and P0's and P1's views.
fn run(dealt: Dealt, owner: [&[u64]; 2], client: [&[u64]; 2]) -> (Vec<u64>, [View; 2]) {
    let (width, n, message) = (dealt.owner.width(), dealt.owner.n, dealt.message);
    let p0 = SecureSelect::start(Party::ModelOwner, owner[0], owner[1], dealt.owner);
    let p1 = SecureSelect::start(Party::Client, client[0], client[1], dealt.client);
    let (z0, z1, t) = run_pair(p0.expect("P0"), p1.expect("P1"), |p, m| {
        p.step(m).expect("well-formed")
    });
    let mut owner_view = View::default();
    record(
        &mut owner_view,
        Party::Client,
        (&t.owner, &t.client),
        width,
        n,
    );
    owner_view.derive("output share", &z0);
    let mut client_view = View::default();
    let correlation = correlation_view(&message, n, width);
    client_view.receive(Party::Helper, "ReLU correlation", &correlation);
    record(
        &mut client_view,
        Party::ModelOwner,
        (&t.client, &t.owner),
        width,
        n,
    );
    client_view.derive("output share", &z1);
    (reconstruct(&z0, &z1), [owner_view, client_view])
}

/// The receiver's own shares of x and v, the same in every trial.
fn known() -> [Vec<u64>; 2] {
    let mut prg = Prg::new(Seed::from_u64(40));
    [prg.u64s(N), prg.u64s(N)]
}

/// Two assignments of the secret ReLU input (v = x) within `width`: zeros, and a
/// negative and a positive value (signs and magnitudes differ from the first).
fn secrets(width: Width) -> [Vec<u64>; 2] {
    let large = 1u64 << (width.bits() - 2);
    [vec![0; N], vec![(-5i64) as u64, large]]
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
fn leak_to(receiver: Party, variant: Variant, width: Width) -> Result<(), Leak> {
    leak_between(receiver, variant, width, secrets(width))
}

/// As [`leak_to`], between the two given assignments of the secret.
fn leak_between(
    receiver: Party,
    variant: Variant,
    width: Width,
    [a, b]: [Vec<u64>; 2],
) -> Result<(), Leak> {
    let known = known();
    check_privacy([&a, &b], |x, trial| {
        let seeds = trial_seeds(receiver, trial);
        view_of(receiver, &known, x, deal(variant, width, &seeds)).1
    })
}

/// Each share-holder at the full and a narrow width, named for the reports.
fn receivers_and_widths() -> impl Iterator<Item = (Party, Width, String)> {
    [Party::ModelOwner, Party::Client]
        .into_iter()
        .flat_map(|p| [Width::FULL, narrow()].map(|w| (p, w, format!("{p} at {} bits", w.bits()))))
}

#[test]
fn honest_views_do_not_depend_on_the_input() {
    for (receiver, width, name) in receivers_and_widths() {
        assert_eq!(leak_to(receiver, Variant::Honest, width), Ok(()), "{name}");
    }
}

#[test]
fn a_zero_mask_is_caught_by_both_share_holders() {
    for (receiver, width, name) in receivers_and_widths() {
        let leak = leak_to(receiver, Variant::Broken(Defect::ZeroMask), width);
        assert_caught(leak, &name);
    }
}

#[test]
fn a_mask_reused_for_two_openings_is_caught_by_both_share_holders() {
    for (receiver, width, name) in receivers_and_widths() {
        let leak = leak_to(receiver, Variant::Broken(Defect::ReusedMask), width);
        assert_caught(leak, &name);
    }
}

#[test]
fn a_mask_narrower_than_the_comparison_is_caught_by_both_share_holders() {
    for (receiver, width, name) in receivers_and_widths() {
        let leak = leak_to(receiver, Variant::Broken(Defect::NarrowMask), width);
        assert_caught(leak, &name);
    }
}

#[test]
fn an_and_mask_shared_by_two_pairs_is_caught_by_both_share_holders() {
    // At 16 bits the view keeps one word per bit position (see `record`). The openings
    // of P₁ and P₃ then differ by r₁ ⊕ y₁ ⊕ r₃ ⊕ y₃ with r = y − x: 0 for x = 0, and
    // for x = 2 it is 1 unless subtracting 2 borrows into bit 3 (one y in four).
    let secrets = [vec![0; N], vec![2; N]];
    for receiver in [Party::ModelOwner, Party::Client] {
        let variant = Variant::Broken(Defect::SharedAndMask);
        let leak = leak_between(receiver, variant, narrow(), secrets.clone());
        assert_caught(leak, &receiver.to_string());
    }
}

#[test]
fn a_share_drawn_from_the_receivers_seed_is_caught() {
    for width in [Width::FULL, narrow()] {
        assert_caught(
            leak_to(Party::ModelOwner, Variant::ClientShareKnownToOwner, width),
            "P0",
        );
        assert_caught(
            leak_to(Party::Client, Variant::OwnerShareKnownToClient, width),
            "P1",
        );
    }
}

#[test]
fn a_helper_message_carrying_the_mask_in_the_clear_is_caught_by_the_client() {
    for width in [Width::FULL, narrow()] {
        assert_caught(
            leak_to(
                Party::Client,
                Variant::Broken(Defect::ClearCorrection),
                width,
            ),
            "P1",
        );
    }
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
    dealers::deal_in_chunks(CHUNKED, Width::FULL, CHUNK, fresh, owner, client)
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
        Variant::Broken(Defect::NarrowMask),
        Variant::Broken(Defect::SharedAndMask),
        Variant::ClientShareKnownToOwner,
        Variant::OwnerShareKnownToClient,
    ];
    for width in [Width::FULL, narrow()] {
        let x = secrets(width)[1].clone();
        let [x1, _] = known();
        let x0 = subtract(&x, &x1);
        for variant in variants {
            let seeds = trial_seeds(Party::Helper, 1);
            let (out, _) = run(deal(variant, width, &seeds), [&x0, &x0], [&x1, &x1]);
            assert_eq!(out, ideal_select(&x, &x), "{variant:?} at {width:?}");
        }
    }
}

#[test]
fn only_the_client_hears_from_the_helper() {
    for width in [Width::FULL, narrow()] {
        let seeds = trial_seeds(Party::Helper, 1);
        let dealt = deal(Variant::Honest, width, &seeds);
        assert_eq!(dealt.message.len(), ReluCorrelation::message_len(N, width));
        let seen = correlation_view(&dealt.message, N, width).len();
        let (_, [owner, client]) = run(dealt, [&[0; N]; 2], [&[0; N]; 2]);
        assert_eq!(owner.words_from(Party::Helper), 0);
        assert_eq!(client.words_from(Party::Helper), seen);
        assert_eq!(
            owner.words_from(Party::Client),
            client.words_from(Party::ModelOwner)
        );
    }
}

//! Privacy of the paired AND gates ([`PairedTriples`]: two pairs, so three gates, two
//! of them sharing a first operand) for each party that receives something: P0 (P1's
//! opening) and P1 (P0's opening and the helper's correction of its c). The helper receives
//! nothing. Method: [`crate::testing::check_privacy`].

use super::*;
use crate::testing::{assert_caught, check_privacy, trial_seeds, xor, Leak, Streams, View};
use crate::{PairwiseSeeds, StreamId};
use cryptflow_ring::Seed;

/// One block of two pairs: first operands x₀, x₁, gates x₀∧y₀, x₁∧y₁, x₁∧y₂.
const PAIRS: usize = 2;
const GATES: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Honest,
    /// a = 0: each party opens its share of x itself.
    ZeroMask,
    /// b = a (each gate's b is its pair's a): the openings of x and y share one pad.
    ReusedMask,
    /// P1's triple drawn under the seed P0 shares with the helper.
    ClientTripleFromOwnersSeed,
    /// P0's triple drawn under the seed P1 shares with the helper.
    OwnerTripleFromClientsSeed,
    /// Only P0's c drawn under P1's seed: the helper's correction then tells P1 a ∧ b.
    OwnerProductFromClientsSeed,
}

/// Runs the gates of one block on the given XOR shares of (x, y); returns the opened
/// result and P0's and P1's views.
fn run(
    variant: Variant,
    seeds: &[PairwiseSeeds; 3],
    owner: [&[u64]; 2],
    client: [&[u64]; 2],
) -> (Vec<u64>, [View; 2]) {
    use Variant::*;
    let mut s = Streams::of(seeds, StreamId::for_step(6, 0));
    let mut other = Streams::of(seeds, StreamId::for_step(6, 1));
    let (mut t0, mut t1) = match variant {
        ClientTripleFromOwnersSeed => (
            PairedTriples::draw(&mut s.helper_owner, 1, PAIRS),
            PairedTriples::draw(&mut other.helper_owner, 1, PAIRS),
        ),
        OwnerTripleFromClientsSeed => (
            PairedTriples::draw(&mut other.helper_client, 1, PAIRS),
            PairedTriples::draw(&mut s.helper_client, 1, PAIRS),
        ),
        _ => (
            PairedTriples::draw(&mut s.helper_owner, 1, PAIRS),
            PairedTriples::draw(&mut s.helper_client, 1, PAIRS),
        ),
    };
    match variant {
        ZeroMask => {
            t0.a.fill(0);
            t1.a.fill(0);
        }
        ReusedMask => {
            for t in [&mut t0, &mut t1] {
                for gate in 0..GATES {
                    t.b[gate] = t.a[t.pair_of(gate)];
                }
            }
        }
        OwnerProductFromClientsSeed => t0.c = other.helper_client.u64s(GATES),
        _ => {}
    }
    // The helper: P1's c, sent to P1.
    PairedTriples::correct_client(&t0, &mut t1);
    let message = t1.c.clone();
    if variant == Honest {
        // The production path: each party draws its triple from its own seed, P1 takes
        // its c from the helper's message.
        t0 = PairedTriples::draw(&mut s.owner_helper, 1, PAIRS);
        t1 = PairedTriples::draw(&mut s.client_helper, 1, PAIRS);
        t1.c.clone_from(&message);
    }
    let (m0, m1) = (t0.open(owner[0], owner[1]), t1.open(client[0], client[1]));
    let z0 = t0.close(Party::ModelOwner, &m0, &m1).expect("well-formed");
    let z1 = t1.close(Party::Client, &m1, &m0).expect("well-formed");
    let mut owner_view = View::default();
    owner_view.receive(Party::Client, "AND opening", &m1);
    owner_view.derive("opened (d, e)", &xor(&m0, &m1));
    owner_view.derive("output share", &z0);
    let mut client_view = View::default();
    client_view.receive(Party::Helper, "AND triple correction", &message);
    client_view.receive(Party::ModelOwner, "AND opening", &m0);
    client_view.derive("opened (d, e)", &xor(&m0, &m1));
    client_view.derive("output share", &z1);
    (xor(&z0, &z1), [owner_view, client_view])
}

fn words(seed: u64, n: usize) -> Vec<u64> {
    Prg::new(Seed::from_u64(seed)).u64s(n)
}

/// The cleartext gates: x of the gate's pair AND its y.
fn ideal_and(x: &[u64], y: &[u64]) -> Vec<u64> {
    [0, 1, 1].iter().zip(y).map(|(&j, y)| x[j] & y).collect()
}

/// The privacy check for `receiver`: its shares of x and y are fixed; x and y are zero
/// in the first sample and random in the second.
fn leak_to(receiver: Party, variant: Variant) -> Result<(), Leak> {
    let secrets = [
        [vec![0; PAIRS], vec![0; GATES]],
        [words(1, PAIRS), words(2, GATES)],
    ];
    let known = [words(3, PAIRS), words(4, GATES)];
    check_privacy(
        [&secrets[0], &secrets[1]],
        |[x, y]: &[Vec<u64>; 2], trial| {
            let other = [xor(x, &known[0]), xor(y, &known[1])];
            let (mine, theirs) = ([&*known[0], &known[1]], [&*other[0], &other[1]]);
            let seeds = trial_seeds(receiver, trial);
            let (owner, client) = match receiver {
                Party::ModelOwner => (mine, theirs),
                _ => (theirs, mine),
            };
            let (_, [owner_view, client_view]) = run(variant, &seeds, owner, client);
            match receiver {
                Party::ModelOwner => owner_view,
                _ => client_view,
            }
        },
    )
}

#[test]
fn honest_views_do_not_depend_on_the_operands() {
    for receiver in [Party::ModelOwner, Party::Client] {
        assert_eq!(leak_to(receiver, Variant::Honest), Ok(()), "{receiver}");
    }
}

#[test]
fn a_zero_or_reused_mask_is_caught_by_both_share_holders() {
    for variant in [Variant::ZeroMask, Variant::ReusedMask] {
        for receiver in [Party::ModelOwner, Party::Client] {
            assert_caught(
                leak_to(receiver, variant),
                &format!("{variant:?} {receiver}"),
            );
        }
    }
}

#[test]
fn a_triple_drawn_from_the_receivers_seed_is_caught() {
    use Variant::*;
    assert_caught(leak_to(Party::ModelOwner, ClientTripleFromOwnersSeed), "P0");
    assert_caught(leak_to(Party::Client, OwnerTripleFromClientsSeed), "P1");
    // Subtler: P1 holds every part of the triple but P0's a and b; its output share
    // is then biased towards a function of x and y.
    assert_caught(
        leak_to(Party::Client, OwnerProductFromClientsSeed),
        "c only",
    );
}

#[test]
fn broken_variants_still_compute_and() {
    use Variant::*;
    let (x, y) = (words(5, PAIRS), words(6, GATES));
    let (x0, y0) = (words(7, PAIRS), words(8, GATES));
    let (x1, y1) = (xor(&x, &x0), xor(&y, &y0));
    let expected = ideal_and(&x, &y);
    for variant in [
        Honest,
        ZeroMask,
        ReusedMask,
        ClientTripleFromOwnersSeed,
        OwnerTripleFromClientsSeed,
        OwnerProductFromClientsSeed,
    ] {
        let seeds = trial_seeds(Party::Helper, 1);
        let (z, _) = run(variant, &seeds, [&x0, &y0], [&x1, &y1]);
        assert_eq!(z, expected, "{variant:?}");
    }
}

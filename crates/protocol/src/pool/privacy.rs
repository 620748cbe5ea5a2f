//! Privacy of max pooling for each party that receives something: P0 (P1's openings at
//! every level of the tree) and P1 (P0's openings and the helper's message for all
//! levels). The helper receives nothing. Method: [`crate::testing::check_privacy`], the
//! views recorded level by level as for a single select.

use super::*;
use crate::relu::dealers::{self, Defect};
use crate::relu::privacy::{correlation_view, record};
use crate::testing::{
    assert_caught, check_privacy, drive_pair, reconstruct, subtract, trial_seeds, Leak, Streams,
    View,
};
use crate::{PairwiseSeeds, StreamId};
use cryptflow_ring::Seed;

const W: crate::relu::Width = crate::relu::Width::FULL;

/// Two windows of three: two tree levels of two comparisons each.
fn windows() -> Vec<Vec<usize>> {
    vec![vec![0, 1, 2], vec![3, 4, 5]]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Honest,
    /// The last level's opening mask is zero.
    ZeroMaskAtLastLevel,
    /// The second level masks its opening with the first level's r.
    MaskReusedAcrossLevels,
    /// P1's shares of every level drawn under the seed P0 shares with the helper.
    ClientShareKnownToOwner,
}

/// Both parties' correlations and the helper's message.
fn deal(
    variant: Variant,
    seeds: &[PairwiseSeeds; 3],
    sizes: &[usize],
) -> (MaxPoolCorrelation, MaxPoolCorrelation, Vec<u64>) {
    let mut s = Streams::of(seeds, StreamId::for_step(2, 1));
    if variant == Variant::Honest {
        let message = MaxPoolCorrelation::deal(sizes, W, &mut s.helper_owner, &mut s.helper_client);
        let owner = MaxPoolCorrelation::draw(&mut s.owner_helper, sizes, W);
        let message = message.into_words();
        let client =
            MaxPoolCorrelation::for_client(sizes, W, &mut s.client_helper, message.clone());
        return (owner, client.expect("dealt"), message);
    }
    let mut wrong = Streams::of(seeds, StreamId::for_step(2, 2)).helper_owner;
    let client_prg = match variant {
        Variant::ClientShareKnownToOwner => &mut wrong,
        _ => &mut s.helper_client,
    };
    let mut levels: Vec<_> = sizes
        .iter()
        .map(|&n| dealers::draw(n, W, &mut s.helper_owner, client_prg))
        .collect();
    let last = levels.len() - 1;
    match variant {
        Variant::ZeroMaskAtLastLevel => dealers::apply(Defect::ZeroMask, &mut levels[last]),
        Variant::MaskReusedAcrossLevels => {
            let (first, rest) = levels.split_at_mut(1);
            dealers::reuse_opening_mask(&first[0], &mut rest[0]);
        }
        _ => {}
    }
    let (mut owner, mut client, mut message) = (Vec::new(), Vec::new(), Vec::new());
    for level in levels {
        let dealt = dealers::finish(level);
        owner.push(dealt.owner);
        client.push(dealt.client);
        message.extend(dealt.message);
    }
    (
        MaxPoolCorrelation(owner),
        MaxPoolCorrelation(client),
        message,
    )
}

/// Runs max pooling on the given shares; returns the output and P0's and P1's views.
fn run(
    variant: Variant,
    seeds: &[PairwiseSeeds; 3],
    x0: &[u64],
    x1: &[u64],
) -> (Vec<u64>, [View; 2]) {
    let windows = windows();
    let sizes = max_tree_sizes(&windows);
    let (c0, c1, message) = deal(variant, seeds, &sizes);
    let (p0, s0) = SecureMaxPool::start(Party::ModelOwner, x0, &windows, c0).expect("P0");
    let (p1, s1) = SecureMaxPool::start(Party::Client, x1, &windows, c1).expect("P1");
    let (z0, z1, t) = drive_pair((p0, s0), (p1, s1), |p, m| p.step(m).expect("step"));
    let mut owner = View::default();
    let mut client = View::default();
    let mut rest = message.as_slice();
    for &n in &sizes {
        let (level, tail) = rest.split_at(ReluCorrelation::message_len(n, W));
        client.receive(
            Party::Helper,
            "MaxPool correlation",
            &correlation_view(level, n, W),
        );
        rest = tail;
    }
    // W.rounds() rounds per level of the tree.
    let rounds = usize::from(W.rounds());
    let levels = t.owner.chunks(rounds).zip(t.client.chunks(rounds));
    for ((mine, theirs), &n) in levels.zip(&sizes) {
        record(&mut owner, Party::Client, (mine, theirs), W, n);
        record(&mut client, Party::ModelOwner, (theirs, mine), W, n);
    }
    owner.derive("output share", &z0);
    client.derive("output share", &z1);
    (reconstruct(&z0, &z1), [owner, client])
}

/// The receiver's share is fixed; the input is all zero in the first sample and
/// distinct small signed values in the second.
fn leak_to(receiver: Party, variant: Variant) -> Result<(), Leak> {
    let known = Prg::new(Seed::from_u64(21)).u64s(6);
    let values: Vec<u64> = [3i64, -7, 12, -1, 5, 40]
        .iter()
        .map(|&v| v as u64)
        .collect();
    let secrets = [vec![0u64; 6], values];
    check_privacy([&secrets[0], &secrets[1]], |x: &Vec<u64>, trial| {
        let other = subtract(x, &known);
        let seeds = trial_seeds(receiver, trial);
        let (x0, x1) = match receiver {
            Party::ModelOwner => (&known, &other),
            _ => (&other, &known),
        };
        let (_, [owner, client]) = run(variant, &seeds, x0, x1);
        match receiver {
            Party::ModelOwner => owner,
            _ => client,
        }
    })
}

#[test]
fn honest_views_do_not_depend_on_the_input() {
    for receiver in [Party::ModelOwner, Party::Client] {
        assert_eq!(leak_to(receiver, Variant::Honest), Ok(()), "{receiver}");
    }
}

#[test]
fn a_zero_mask_or_a_mask_reused_across_levels_is_caught_by_both_share_holders() {
    for variant in [
        Variant::ZeroMaskAtLastLevel,
        Variant::MaskReusedAcrossLevels,
    ] {
        for receiver in [Party::ModelOwner, Party::Client] {
            assert_caught(
                leak_to(receiver, variant),
                &format!("{variant:?} {receiver}"),
            );
        }
    }
}

#[test]
fn a_client_share_drawn_from_the_owners_seed_is_caught_by_the_owner() {
    assert_caught(
        leak_to(Party::ModelOwner, Variant::ClientShareKnownToOwner),
        "P0",
    );
}

#[test]
fn broken_variants_still_compute_the_maximum() {
    let x: Vec<u64> = [3i64, -7, 12, -1, 5, 40]
        .iter()
        .map(|&v| v as u64)
        .collect();
    let x0 = Prg::new(Seed::from_u64(22)).u64s(6);
    let x1 = subtract(&x, &x0);
    for variant in [
        Variant::Honest,
        Variant::ZeroMaskAtLastLevel,
        Variant::MaskReusedAcrossLevels,
        Variant::ClientShareKnownToOwner,
    ] {
        let (out, _) = run(variant, &trial_seeds(Party::Helper, 1), &x0, &x1);
        assert_eq!(out, ideal_max_pool(&x, &windows()), "{variant:?}");
        assert_eq!(out, vec![12, 40]);
    }
}

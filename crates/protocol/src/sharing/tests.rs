//! Input sharing and output reveal: correctness, and privacy for every party that could
//! learn something. Sharing sends nothing (P0 derives its share from the seed it shares
//! with P1), so P0's knowledge after it is its share alone; the reveal sends P0's share
//! to P1 only. The helper takes part in neither.

use super::*;
use crate::linear::{self, Bilinear, MatMulShape};
use crate::testing::{
    assert_caught, check_privacy, owner_client_prg, subtract, trial_seeds, Leak, Streams,
};
use crate::testing::{reconstruct, View};
use crate::{PairwiseSeeds, StreamId};
use cryptflow_ring::Seed;

#[test]
fn shares_reconstruct_the_input() {
    let x: Vec<u64> = (0..100u64).map(|i| i.wrapping_mul(0x9e37_79b9)).collect();
    let x0 = owner_input_share(x.len(), &mut owner_client_prg(1));
    let x1 = client_input_share(&x, &mut owner_client_prg(1));
    assert_eq!(reveal_to_client(&x1, x0.clone()).expect("same length"), x);
    // Neither share is the input.
    assert_ne!(x0, x);
    assert_ne!(x1, x);
}

#[test]
fn truncated_owner_share_is_rejected() {
    let err = reveal_to_client(&[1, 2, 3], vec![1, 2]).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::MalformedMessage {
            from: Party::ModelOwner,
            message: "output share",
            expected: 3,
            actual: 2
        }
    );
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sharing {
    Honest,
    /// P1 sends P0 the input as P0's share and keeps 0.
    ZeroMask,
    /// P1 sends P0 `x − r`, with r from the seed P0 and P1 share, and keeps r.
    MaskFromOwnersSeed,
}

/// Shares `x`; returns both shares and P0's view (P1 knows x; the helper is not
/// involved).
fn share_input(variant: Sharing, seeds: &[PairwiseSeeds; 3], x: &[u64]) -> [Vec<u64>; 2] {
    let mut owner_prg = seeds[0].stream(Party::Client, StreamId::INPUT);
    let mut client_prg = seeds[1].stream(Party::ModelOwner, StreamId::INPUT);
    match variant {
        Sharing::Honest => [
            owner_input_share(x.len(), &mut owner_prg),
            client_input_share(x, &mut client_prg),
        ],
        Sharing::ZeroMask => [x.to_vec(), vec![0; x.len()]],
        Sharing::MaskFromOwnersSeed => {
            let r = client_prg.u64s(x.len());
            [subtract(x, &r), r]
        }
    }
}

fn owner_view_of_sharing(variant: Sharing, seeds: &[PairwiseSeeds; 3], x: &[u64]) -> View {
    let [x0, _] = share_input(variant, seeds, x);
    let mut view = View::default();
    if variant != Sharing::Honest {
        view.receive(Party::Client, "input share", &x0);
    }
    view.derive("input share", &x0);
    view
}

fn sharing_leaks_to_owner(variant: Sharing) -> Result<(), Leak> {
    let secrets = [vec![0u64; 4], Prg::new(Seed::from_u64(1)).u64s(4)];
    check_privacy([&secrets[0], &secrets[1]], |x: &Vec<u64>, trial| {
        owner_view_of_sharing(variant, &trial_seeds(Party::ModelOwner, trial), x)
    })
}

#[test]
fn the_owners_share_does_not_depend_on_the_input() {
    assert_eq!(sharing_leaks_to_owner(Sharing::Honest), Ok(()));
}

#[test]
fn a_sharing_with_a_zero_or_owner_known_mask_is_caught() {
    for variant in [Sharing::ZeroMask, Sharing::MaskFromOwnersSeed] {
        assert_caught(sharing_leaks_to_owner(variant), &format!("{variant:?}"));
        let x = Prg::new(Seed::from_u64(2)).u64s(4);
        let [x0, x1] = share_input(variant, &trial_seeds(Party::Helper, 1), &x);
        assert_eq!(reconstruct(&x0, &x1), x, "{variant:?} is still a sharing");
    }
}

/// P0's view of the reveal of the output share pair (z0, z1): nothing, unless the
/// broken variant also sends P1's share to P0.
fn owner_view_of_reveal(to_both: bool, z0: &[u64], z1: &[u64]) -> View {
    let mut view = View::default();
    if to_both {
        view.receive(Party::Client, "output share", z1);
    }
    view.derive("output share", z0);
    view
}

fn reveal_leaks_to_owner(to_both: bool) -> Result<(), Leak> {
    let z0 = Prg::new(Seed::from_u64(3)).u64s(4);
    let outputs = [vec![0u64; 4], Prg::new(Seed::from_u64(4)).u64s(4)];
    check_privacy([&outputs[0], &outputs[1]], |z: &Vec<u64>, _| {
        owner_view_of_reveal(to_both, &z0, &subtract(z, &z0))
    })
}

#[test]
fn the_owner_learns_nothing_from_the_reveal_unless_it_is_sent_the_clients_share() {
    assert_eq!(reveal_leaks_to_owner(false), Ok(()));
    assert_caught(reveal_leaks_to_owner(true), "reveal to both");
}

/// P1 learns the output, and its view of a linear layer followed by the reveal must
/// depend on the weights only through the output: the reveal message is exactly the
/// output minus P1's own share, and everything else is a fresh pad.
const PIPELINE: MatMulShape = MatMulShape {
    rows: 1,
    inner: 4,
    out: 2,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pipeline {
    Honest,
    /// B = 0.
    ZeroWeightMask,
    /// C₀ = 0: P0's output share is not re-randomised by the helper.
    ZeroCorrectionMask,
}

/// Shares `x`, runs one layer with weights `w` and reveals; returns the output and P1's
/// view (F and C₁ at the layer, P0's share at the reveal, and what P1 computes).
fn client_view_of_layer_and_reveal(
    variant: Pipeline,
    seeds: &[PairwiseSeeds; 3],
    w: &[u64],
    x: &[u64],
) -> (Vec<u64>, View) {
    let f = &PIPELINE;
    let [x0, x1] = share_input(Sharing::Honest, seeds, x);
    let mut setup = Streams::of(seeds, StreamId::for_weight(0));
    let b = match variant {
        Pipeline::ZeroWeightMask => vec![0; f.weight_len()],
        _ => linear::weight_mask(f.weight_len(), &mut setup.owner_helper),
    };
    let masked = linear::masked_weight(w, b.clone()).into_words();
    let mut s = Streams::of(seeds, StreamId::for_step(0, 0));
    let (state, e) = linear::client_start(f, &x1, &mut s.client_helper);
    let e = e.into_words();
    let (c1, z0) = match variant {
        Pipeline::ZeroCorrectionMask => {
            let a = s.helper_client.u64s(f.input_len());
            let opened: Vec<u64> = reconstruct(&x0, &e);
            (f.apply(&b, &a), f.apply(w, &opened))
        }
        _ => {
            let c1 = linear::deal(f, &b, &mut s.helper_owner, &mut s.helper_client);
            (
                c1.into_words(),
                linear::owner_finish(f, w, &x0, e, &mut s.owner_helper).expect("sized"),
            )
        }
    };
    let z1 = state.finish(f, &masked, c1.clone()).expect("sized");
    let z = reveal_to_client(&z1, z0.clone()).expect("sized");
    let mut view = View::default();
    view.receive(Party::ModelOwner, "masked weight F", &masked);
    view.receive(Party::Helper, "linear correlation C1", &c1);
    view.derive("output share", &z1);
    view.receive(Party::ModelOwner, "output share", &z0);
    view.derive("output", &z);
    (z, view)
}

/// Two weight matrices with the same output on the client's input (its last element is
/// zero, and they differ only in the column it multiplies).
fn same_output_weights() -> ([Vec<u64>; 2], Vec<u64>) {
    let w = Prg::new(Seed::from_u64(5)).u64s(PIPELINE.weight_len());
    let mut other = w.clone();
    other[3] = other[3].wrapping_add(0x1234_5678);
    other[7] = other[7].wrapping_sub(99);
    let x: Vec<u64> = [5i64, -3, 9, 0].iter().map(|&v| v as u64).collect();
    ([w, other], x)
}

fn pipeline_leaks_to_client(variant: Pipeline) -> Result<(), Leak> {
    let ([w, other], x) = same_output_weights();
    check_privacy([&w, &other], |w: &Vec<u64>, trial| {
        let seeds = trial_seeds(Party::Client, trial);
        client_view_of_layer_and_reveal(variant, &seeds, w, &x).1
    })
}

#[test]
fn the_client_learns_the_weights_only_through_the_output() {
    let ([w, other], x) = same_output_weights();
    assert_eq!(PIPELINE.apply(&w, &x), PIPELINE.apply(&other, &x));
    assert_ne!(w, other);
    assert_eq!(pipeline_leaks_to_client(Pipeline::Honest), Ok(()));
}

#[test]
fn a_zero_weight_or_correction_mask_before_the_reveal_is_caught() {
    let ([w, _], x) = same_output_weights();
    for variant in [Pipeline::ZeroWeightMask, Pipeline::ZeroCorrectionMask] {
        assert_caught(pipeline_leaks_to_client(variant), &format!("{variant:?}"));
        let seeds = trial_seeds(Party::Helper, 1);
        let (z, _) = client_view_of_layer_and_reveal(variant, &seeds, &w, &x);
        assert_eq!(z, PIPELINE.apply(&w, &x), "{variant:?} still computes W·x");
    }
}

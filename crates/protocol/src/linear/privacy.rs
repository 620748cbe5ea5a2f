//! Privacy of the linear layer for each party that receives something: P0 (the masked
//! input E) and P1 (the masked weight F from P0 at setup, the correlation C₁ from the
//! helper). The helper receives nothing. Method: [`crate::testing::check_privacy`].
//!
//! Every run is two layers — weights W₁, W₂, inputs X, X′ — so that a mask reused
//! across two openings has two openings to show up in. Each broken variant changes
//! only where a mask comes from and still computes the right products.

use super::*;
use crate::testing::{
    assert_caught, check_privacy, reconstruct, subtract, trial_seeds, Leak, Streams, View,
};
use crate::{PairwiseSeeds, StreamId};
use cryptflow_ring::Seed;

const F: MatMulShape = MatMulShape {
    rows: 2,
    inner: 3,
    out: 2,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Honest,
    /// A = 0: P1 sends its input share itself.
    ZeroInputMask,
    /// A drawn from the seed P0 and P1 share.
    InputMaskFromOwnersSeed,
    /// The second layer's A is the first's (its stream derived again).
    ReusedInputMask,
    /// B = 0: P0 sends W itself.
    ZeroWeightMask,
    /// B drawn from the seed P0 and P1 share.
    WeightMaskFromClientsSeed,
    /// The second weight is masked with the first weight's B.
    ReusedWeightMask,
    /// C₀ drawn from a stream under the seed P1 shares with the helper, so P1 can strip
    /// it from C₁ and learn f(B, A).
    CorrectionMaskFromClientsSeed,
    /// The second layer's C₀ is the first's.
    ReusedCorrectionMask,
}

const VARIANTS: [Variant; 9] = [
    Variant::Honest,
    Variant::ZeroInputMask,
    Variant::InputMaskFromOwnersSeed,
    Variant::ReusedInputMask,
    Variant::ZeroWeightMask,
    Variant::WeightMaskFromClientsSeed,
    Variant::ReusedWeightMask,
    Variant::CorrectionMaskFromClientsSeed,
    Variant::ReusedCorrectionMask,
];

/// What the two layers compute on: weights, and each party's input shares.
struct Layers<'a> {
    w: [&'a [u64]; 2],
    x0: [&'a [u64]; 2],
    x1: [&'a [u64]; 2],
}

/// The two layers' output shares and P0's and P1's views.
struct Run {
    z0: [Vec<u64>; 2],
    z1: [Vec<u64>; 2],
    views: [View; 2],
}

/// Runs both layers. `seeds()` gives the same seeds on every call, with a fresh record
/// of used streams: the reuse variants take a stream a second time through it (which
/// the seeds' own debug check would refuse).
fn run(variant: Variant, seeds: &dyn Fn() -> [PairwiseSeeds; 3], layers: &Layers) -> Run {
    use Variant::*;
    let main = seeds();
    let [mut owner, mut client] = [View::default(), View::default()];
    // Setup: P0 and the helper derive each weight's B; P0 sends F = W − B.
    let mut masks = Vec::new();
    for k in 0..2 {
        let mut s = Streams::of(&main, StreamId::for_weight(k));
        let b = match variant {
            ZeroWeightMask => vec![0; F.weight_len()],
            WeightMaskFromClientsSeed => weight_mask(F.weight_len(), &mut s.owner_client),
            ReusedWeightMask if k == 1 => {
                let mut again = Streams::of(&seeds(), StreamId::for_weight(0));
                weight_mask(F.weight_len(), &mut again.owner_helper)
            }
            _ => {
                let b = weight_mask(F.weight_len(), &mut s.owner_helper);
                // The helper derives the same B from its end of the stream.
                assert_eq!(weight_mask(F.weight_len(), &mut s.helper_owner), b);
                b
            }
        };
        let f = receive_masked_weight(
            masked_weight(layers.w[k], b.clone()).into_words(),
            F.weight_len(),
        );
        client.receive(
            Party::ModelOwner,
            "masked weight F",
            f.as_ref().expect("sized").words(),
        );
        masks.push((b, f.expect("sized").into_words()));
    }
    let (mut z0, mut z1) = (Vec::new(), Vec::new());
    for (k, (b, masked)) in masks.iter().enumerate() {
        let mut s = Streams::of(&main, StreamId::for_step(3 + k, 0));
        let mut other = Streams::of(&main, StreamId::for_step(3 + k, 1));
        let mut first = Streams::of(&seeds(), StreamId::for_step(3, 0));
        let x1 = layers.x1[k];
        // The helper's C₁, P1's state and E, and the stream P0 draws C₀ from.
        let (c1, (state, e), owner_prg) = match variant {
            ZeroInputMask => {
                let c0 = s.helper_owner.u64s(F.output_len());
                let zero = vec![0; F.input_len()];
                let state = ClientLinear {
                    input_mask: zero,
                    product: vec![0; F.output_len()],
                };
                let c1 = LinearCorrection::new(c0.iter().map(|c| c.wrapping_neg()).collect());
                let e = MaskedInput::new(x1.to_vec());
                (c1, (state, e), &mut s.owner_helper)
            }
            InputMaskFromOwnersSeed => (
                deal(&F, b, &mut s.helper_owner, &mut s.owner_client),
                client_start(&F, x1, &mut s.client_owner),
                &mut s.owner_helper,
            ),
            ReusedInputMask if k == 1 => (
                deal(&F, b, &mut s.helper_owner, &mut first.helper_client),
                client_start(&F, x1, &mut first.client_helper),
                &mut s.owner_helper,
            ),
            CorrectionMaskFromClientsSeed => (
                deal(&F, b, &mut other.helper_client, &mut s.helper_client),
                client_start(&F, x1, &mut s.client_helper),
                &mut other.client_helper,
            ),
            ReusedCorrectionMask if k == 1 => (
                deal(&F, b, &mut first.helper_owner, &mut s.helper_client),
                client_start(&F, x1, &mut s.client_helper),
                &mut first.owner_helper,
            ),
            _ => (
                deal(&F, b, &mut s.helper_owner, &mut s.helper_client),
                client_start(&F, x1, &mut s.client_helper),
                &mut s.owner_helper,
            ),
        };
        let z = owner_finish(&F, layers.w[k], layers.x0[k], e.words().to_vec(), owner_prg);
        owner.receive(Party::Client, "masked input E", e.words());
        owner.derive("output share", z.as_ref().expect("sized"));
        client.receive(Party::Helper, "linear correlation C1", c1.words());
        let zc = state.finish(&F, masked, c1.into_words()).expect("sized");
        client.derive("output share", &zc);
        z0.push(z.expect("sized"));
        z1.push(zc);
    }
    Run {
        z0: [z0[0].clone(), z0[1].clone()],
        z1: [z1[0].clone(), z1[1].clone()],
        views: [owner, client],
    }
}

fn words(seed: u64, n: usize) -> Vec<u64> {
    Prg::new(Seed::from_u64(seed)).u64s(n)
}

/// The privacy check for `receiver`: what it holds is fixed; the other parties' values
/// are all zero in the first sample and random in the second.
fn leak_to(receiver: Party, variant: Variant) -> Result<(), Leak> {
    let (n, m) = (F.input_len(), F.weight_len());
    let zero = |len| vec![0u64; len];
    // [w₁, w₂, x, x′] in the clear: P0 holds the weights, nobody the inputs.
    let secrets = [
        [zero(m), zero(m), zero(n), zero(n)],
        [words(1, m), words(2, m), words(3, n), words(4, n)],
    ];
    let (fixed_w, known_shares) = ([words(5, m), words(6, m)], [words(7, n), words(8, n)]);
    check_privacy(
        [&secrets[0], &secrets[1]],
        |secret: &[Vec<u64>; 4], trial| {
            let [w1, w2, x, x2] = secret;
            let other = [
                subtract(x, &known_shares[0]),
                subtract(x2, &known_shares[1]),
            ];
            let known = [known_shares[0].as_slice(), &known_shares[1]];
            let other = [other[0].as_slice(), &other[1]];
            let layers = match receiver {
                Party::ModelOwner => Layers {
                    w: [&fixed_w[0], &fixed_w[1]],
                    x0: known,
                    x1: other,
                },
                _ => Layers {
                    w: [w1, w2],
                    x0: other,
                    x1: known,
                },
            };
            let [owner, client] = run(variant, &|| trial_seeds(receiver, trial), &layers).views;
            match receiver {
                Party::ModelOwner => owner,
                _ => client,
            }
        },
    )
}

#[test]
fn honest_views_do_not_depend_on_the_other_parties_values() {
    for receiver in [Party::ModelOwner, Party::Client] {
        assert_eq!(leak_to(receiver, Variant::Honest), Ok(()), "{receiver}");
    }
}

#[test]
fn every_broken_input_mask_is_caught_by_the_owner() {
    use Variant::*;
    for variant in [ZeroInputMask, InputMaskFromOwnersSeed, ReusedInputMask] {
        assert_caught(leak_to(Party::ModelOwner, variant), &format!("{variant:?}"));
        // The client's view does not involve A's secrecy.
        assert_eq!(leak_to(Party::Client, variant), Ok(()), "{variant:?}");
    }
}

#[test]
fn every_broken_weight_or_correction_mask_is_caught_by_the_client() {
    use Variant::*;
    for variant in [
        ZeroWeightMask,
        WeightMaskFromClientsSeed,
        ReusedWeightMask,
        CorrectionMaskFromClientsSeed,
        ReusedCorrectionMask,
    ] {
        assert_caught(leak_to(Party::Client, variant), &format!("{variant:?}"));
        assert_eq!(leak_to(Party::ModelOwner, variant), Ok(()), "{variant:?}");
    }
}

#[test]
fn broken_variants_still_compute_the_products() {
    let (n, m) = (F.input_len(), F.weight_len());
    let (w, x) = ([words(11, m), words(12, m)], [words(13, n), words(14, n)]);
    let (x0, x1) = (
        [words(15, n), words(16, n)],
        [
            subtract(&x[0], &words(15, n)),
            subtract(&x[1], &words(16, n)),
        ],
    );
    let layers = Layers {
        w: [&w[0], &w[1]],
        x0: [&x0[0], &x0[1]],
        x1: [&x1[0], &x1[1]],
    };
    for variant in VARIANTS {
        let out = run(variant, &|| PairwiseSeeds::for_test(9), &layers);
        for k in 0..2 {
            let z = reconstruct(&out.z0[k], &out.z1[k]);
            assert_eq!(z, F.apply(&w[k], &x[k]), "{variant:?} layer {k}");
        }
    }
}

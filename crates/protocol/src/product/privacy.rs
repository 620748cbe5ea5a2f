//! Privacy of the product of two shared values for each party that receives something:
//! P0 (P1's opening) and P1 (P0's opening, the helper's C₁). The helper receives
//! nothing. Method: [`crate::testing::check_privacy`].
//!
//! Every run is two products, so that a mask reused across them has two openings to
//! show up in. Each broken variant changes only where a mask comes from and still
//! computes the right product (asserted). A pad the receiver can strip from C₁ shows
//! in no sum or difference of words, so P1's view also records a hypothesis test any
//! P1 could run: C₁ plus the C₀ its own seed would give, minus A·B rebuilt from the
//! openings as if the secret were the first sample's. It is 0 exactly when the leak is
//! there and the guess is right; uniform when C₀ is unknown to P1.

use super::*;
use crate::testing::{
    assert_caught, check_privacy, reconstruct, subtract, trial_seeds, Leak, Streams, View,
};
use crate::{PairwiseSeeds, StreamId};
use cryptflow_ring::Seed;

const MAP: [usize; 3] = [0, 1, 1];
const SHAPE: ProductShape = ProductShape {
    map: &MAP,
    y_len: 2,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Honest,
    /// A = 0: each share-holder opens its share of X itself.
    ZeroInputMask,
    /// A drawn from the seed P0 and P1 share.
    InputMaskFromSharedSeed,
    /// The second product's A is the first's.
    ReusedInputMask,
    /// B = 0: each opens its share of Y itself.
    ZeroFactorMask,
    /// The second product's B is the first's.
    ReusedFactorMask,
    /// C₀ drawn from a stream under the seed P1 shares with the helper.
    CorrectionMaskFromClientsSeed,
}

const VARIANTS: [Variant; 7] = [
    Variant::Honest,
    Variant::ZeroInputMask,
    Variant::InputMaskFromSharedSeed,
    Variant::ReusedInputMask,
    Variant::ZeroFactorMask,
    Variant::ReusedFactorMask,
    Variant::CorrectionMaskFromClientsSeed,
];

/// The two products' factors.
struct Secret {
    x: [Vec<u64>; 2],
    y: [Vec<u64>; 2],
}

fn stream(k: usize) -> StreamId {
    StreamId::for_step(5 + k, 2)
}

/// The stream the leaky variant draws C₀ from, and P1's hypothesis test reads.
fn known_correction_stream(k: usize) -> StreamId {
    StreamId::for_step(5 + k, 3)
}

/// Both parties' triples of product `k` under `variant`: the real dealing when honest.
fn triples(
    variant: Variant,
    k: usize,
    seeds: &dyn Fn() -> [PairwiseSeeds; 3],
    main: &[PairwiseSeeds; 3],
) -> (TripleShare, TripleShare, Vec<u64>) {
    use Variant::*;
    let mut s = Streams::of(main, stream(k));
    if variant == Honest {
        let c1 = deal(&SHAPE, &mut s.helper_owner, &mut s.helper_client).into_words();
        let t0 = TripleShare::for_owner(&SHAPE, &mut s.owner_helper);
        let t1 = TripleShare::for_client(&SHAPE, &mut s.client_helper, c1.clone()).expect("sized");
        return (t0, t1, c1);
    }
    let (n, m) = (SHAPE.x_len(), SHAPE.y_len);
    let mut first = Streams::of(&seeds(), stream(0));
    let (mut a0, mut a1) = (s.owner_helper.u64s(n), s.client_helper.u64s(n));
    let (mut b0, mut b1) = (s.owner_helper.u64s(m), s.client_helper.u64s(m));
    let mut c0 = s.owner_helper.u64s(n);
    match variant {
        ZeroInputMask => (a0, a1) = (vec![0; n], vec![0; n]),
        InputMaskFromSharedSeed => (a0, a1) = (s.owner_client.u64s(n), s.client_owner.u64s(n)),
        ReusedInputMask if k == 1 => {
            (a0, a1) = (first.owner_helper.u64s(n), first.client_helper.u64s(n));
        }
        ZeroFactorMask => (b0, b1) = (vec![0; m], vec![0; m]),
        ReusedFactorMask if k == 1 => {
            let _ = (first.owner_helper.u64s(n), first.client_helper.u64s(n));
            (b0, b1) = (first.owner_helper.u64s(m), first.client_helper.u64s(m));
        }
        CorrectionMaskFromClientsSeed => {
            c0 = Streams::of(main, known_correction_stream(k))
                .helper_client
                .u64s(n);
        }
        _ => {}
    }
    let (a, b) = (reconstruct(&a0, &a1), reconstruct(&b0, &b1));
    let c1 = subtract(&ideal_product(&a, &b, &MAP), &c0);
    let t0 = TripleShare {
        a: a0,
        b: b0,
        c: c0,
    };
    let t1 = TripleShare {
        a: a1,
        b: b1,
        c: c1.clone(),
    };
    (t0, t1, c1)
}

/// Runs both products with `receiver`'s shares fixed; returns its view.
fn run(
    variant: Variant,
    receiver: Party,
    secret: &Secret,
    hypothesis: &Secret,
    trial: u64,
) -> View {
    let seeds = || trial_seeds(receiver, trial);
    let main = seeds();
    let mut view = View::default();
    let mut own = Prg::new(Seed::from_u64(77));
    for k in 0..2 {
        let (x_own, y_own) = (own.u64s(SHAPE.x_len()), own.u64s(SHAPE.y_len));
        let (x_other, y_other) = (
            subtract(&secret.x[k], &x_own),
            subtract(&secret.y[k], &y_own),
        );
        let ((x0, y0), (x1, y1)) = if receiver == Party::ModelOwner {
            ((&x_own, &y_own), (&x_other, &y_other))
        } else {
            ((&x_other, &y_other), (&x_own, &y_own))
        };
        let (t0, t1, c1) = triples(variant, k, &seeds, &main);
        let (a1, b1) = (t1.a.clone(), t1.b.clone());
        let (p0, m0) = SecureProduct::start(Party::ModelOwner, &SHAPE, (x0, y0), t0).expect("P0");
        let (p1, m1) = SecureProduct::start(Party::Client, &SHAPE, (x1, y1), t1).expect("P1");
        let (w0, w1) = (m0.words.clone(), m1.words.clone());
        let z0 = p0.finish(m1.words).expect("P0 finishes");
        let z1 = p1.finish(m0.words).expect("P1 finishes");
        let expected = ideal_product(&secret.x[k], &secret.y[k], &MAP);
        assert_eq!(
            reconstruct(&z0, &z1),
            expected,
            "{variant:?} still multiplies"
        );
        let opened = reconstruct(&w0, &w1);
        if receiver == Party::ModelOwner {
            view.receive(Party::Client, "opening E₁ F₁", &w1);
            view.derive("opened E F", &opened);
            view.derive("output share Z₀", &z0);
        } else {
            view.receive(Party::Helper, "correction C₁", &c1);
            view.receive(Party::ModelOwner, "opening E₀ F₀", &w0);
            view.derive("opened E F", &opened);
            view.derive("output share Z₁", &z1);
            // A₀ = X − X₁ − E₀ and B₀ = Y − Y₁ − F₀ under the hypothesis.
            let n = SHAPE.x_len();
            let a0 = subtract(&subtract(&hypothesis.x[k], x1), &w0[..n]);
            let b0 = subtract(&subtract(&hypothesis.y[k], y1), &w0[n..]);
            let ab = ideal_product(&reconstruct(&a0, &a1), &reconstruct(&b0, &b1), &MAP);
            let c0_guess = Streams::of(&seeds(), known_correction_stream(k))
                .client_helper
                .u64s(n);
            view.derive(
                "C₁ + C₀(P1's seed) − A·B (first secret)",
                &subtract(&reconstruct(&c1, &c0_guess), &ab),
            );
        }
    }
    view
}

fn secrets() -> [Secret; 2] {
    let mut data = Prg::new(Seed::from_u64(5));
    let mut secret = || Secret {
        x: [data.u64s(3), data.u64s(3)],
        y: [data.u64s(2), data.u64s(2)],
    };
    [secret(), secret()]
}

fn check(variant: Variant, receiver: Party) -> Result<(), Leak> {
    let [first, second] = secrets();
    check_privacy([&first, &second], |secret, trial| {
        run(variant, receiver, secret, &first, trial)
    })
}

#[test]
fn honest_products_show_each_receiver_nothing_of_the_factors() {
    for receiver in [Party::ModelOwner, Party::Client] {
        if let Err(leak) = check(Variant::Honest, receiver) {
            panic!("{receiver}: {leak}");
        }
    }
}

#[test]
fn every_broken_mask_is_caught_by_the_party_it_leaks_to() {
    use Variant::*;
    for variant in &VARIANTS[1..] {
        let receivers: &[Party] = match variant {
            CorrectionMaskFromClientsSeed => &[Party::Client],
            _ => &[Party::ModelOwner, Party::Client],
        };
        for &receiver in receivers {
            assert_caught(
                check(*variant, receiver),
                &format!("{variant:?} to {receiver}"),
            );
        }
    }
}

//! Test-only dealers of deliberately broken ReLU randomness, for showing that the
//! privacy tests catch each kind of leak. They run the production arithmetic
//! ([`ReluCorrelation::correct_client`]) on tweaked draws, so every broken dealing is
//! still a consistent correlation: the protocol stays correct and only a privacy test
//! can tell.

use super::{ReluCorrelation, Width};
use cryptflow_ring::Prg;

/// The two shares of a dealing and the helper's message to P1.
#[derive(Debug)]
pub(crate) struct Dealt {
    pub owner: ReluCorrelation,
    pub client: ReluCorrelation,
    pub message: Vec<u64>,
}

/// A way to break the dealer's masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Defect {
    /// None: the production dealing, through the draws of the given generators.
    Honest,
    /// The opening mask r is zero, so `y = x` is opened.
    ZeroMask,
    /// The selection mask a is r again: the openings `y = x + r` and `f = v − a` in
    /// one message share one pad.
    ReusedMask,
    /// P0's XOR share of r's bits is zero, so the helper sends P1 the bits of r itself.
    ClearCorrection,
    /// r is uniform on only the low half of the comparison's w bits, so the top of
    /// `y = x + r mod 2^w` shows the top of x (a mask narrower than its opening).
    NarrowMask,
    /// The first tree level's second pair reuses the first pair's AND mask a (in
    /// both shares), so the two openings of the shared operands differ by
    /// `P₃ ⊕ P₁`, a function of r and the public y.
    SharedAndMask,
}

/// Draws both shares (P0's from `owner_prg`, P1's from `client_prg`) without
/// correcting them yet.
pub(crate) fn draw(
    n: usize,
    width: Width,
    owner_prg: &mut Prg,
    client_prg: &mut Prg,
) -> [ReluCorrelation; 2] {
    [
        ReluCorrelation::draw(owner_prg, n, width),
        ReluCorrelation::draw(client_prg, n, width),
    ]
}

/// Breaks drawn shares as `defect` says.
pub(crate) fn apply(defect: Defect, [owner, client]: &mut [ReluCorrelation; 2]) {
    match defect {
        Defect::Honest => {}
        Defect::ZeroMask => {
            owner.r.fill(0);
            client.r.fill(0);
        }
        Defect::ReusedMask => {
            owner.a.clone_from(&owner.r);
            client.a.clone_from(&client.r);
        }
        Defect::ClearCorrection => owner.r_bits.fill(0),
        Defect::SharedAndMask => {
            let pairs = owner.width.pairs(0);
            for share in [owner, client] {
                let a = &mut share.levels[0].a;
                for block in a.chunks_exact_mut(pairs) {
                    block[1] = block[0];
                }
            }
        }
        Defect::NarrowMask => {
            let half = owner.width.mask() >> (owner.width.bits() / 2);
            owner.r.iter_mut().for_each(|r| *r &= half);
            client.r.iter_mut().for_each(|r| *r &= half);
        }
    }
}

/// Makes `to` mask its opening with the same r as `from` (a pad reused across two
/// batches), on the first elements the two have in common.
pub(crate) fn reuse_opening_mask(from: &[ReluCorrelation; 2], to: &mut [ReluCorrelation; 2]) {
    for (f, t) in from.iter().zip(to.iter_mut()) {
        let k = f.n.min(t.n);
        t.r[..k].copy_from_slice(&f.r[..k]);
    }
}

/// Makes the client's share consistent with the owner's, as the helper does.
pub(crate) fn finish([owner, mut client]: [ReluCorrelation; 2]) -> Dealt {
    ReluCorrelation::correct_client(&owner, &mut client);
    let message = client.corrections();
    Dealt {
        owner,
        client,
        message,
    }
}

/// Draws, breaks and corrects one batch.
pub(crate) fn deal(
    defect: Defect,
    n: usize,
    width: Width,
    owner_prg: &mut Prg,
    client_prg: &mut Prg,
) -> Dealt {
    let mut shares = draw(n, width, owner_prg, client_prg);
    apply(defect, &mut shares);
    finish(shares)
}

/// Draws a batch in chunks of `chunk` from the generators `owner()` and `client()`
/// make: correctly (`fresh: false`, one generator each, the production order) or with
/// every chunk drawn from a fresh generator (`fresh: true`): the bug a chunked dealer
/// can have, every chunk's masks the first chunk's.
pub(crate) fn deal_in_chunks(
    n: usize,
    width: Width,
    chunk: usize,
    fresh: bool,
    owner: impl Fn() -> Prg,
    client: impl Fn() -> Prg,
) -> Dealt {
    let mut owner_share = ReluCorrelation::with_capacity(n, width);
    let mut client_share = ReluCorrelation::with_capacity(n, width);
    let mut message = Vec::with_capacity(ReluCorrelation::message_len(n, width));
    let (mut owner_prg, mut client_prg) = (owner(), client());
    for c in super::correlation::chunks(n, chunk) {
        if fresh {
            (owner_prg, client_prg) = (owner(), client());
        }
        // Corrected chunk by chunk: the helper's message is chunk-major.
        let mut shares = draw(c, width, &mut owner_prg, &mut client_prg);
        let [o, cl] = &mut shares;
        ReluCorrelation::correct_client(o, cl);
        message.extend(cl.corrections());
        let [o, cl] = shares;
        owner_share.append(o);
        client_share.append(cl);
    }
    Dealt {
        owner: owner_share,
        client: client_share,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptflow_ring::Seed;

    #[test]
    fn the_honest_test_dealer_is_the_production_dealer() {
        let prg = |s| Prg::new(Seed::from_u64(s));
        for width in [Width::FULL, Width::new(16).expect("a width")] {
            let dealt = deal(Defect::Honest, 5, width, &mut prg(1), &mut prg(2));
            let message = ReluCorrelation::deal(5, width, &mut prg(1), &mut prg(2));
            assert_eq!(dealt.message, message);
            assert_eq!(dealt.owner, ReluCorrelation::draw(&mut prg(1), 5, width));
            let client = ReluCorrelation::for_client(5, width, &mut prg(2), &message);
            assert_eq!(dealt.client, client.expect("dealt"));
        }
    }

    #[test]
    fn the_chunked_test_dealer_is_the_production_dealer_in_small_chunks() {
        let prg = |s| Prg::new(Seed::from_u64(s));
        let n = 2 * 64 + 5;
        let w = Width::FULL;
        let dealt = deal_in_chunks(n, w, 64, false, || prg(1), || prg(2));
        let message = ReluCorrelation::deal_in_chunks(n, w, 64, &mut prg(1), &mut prg(2));
        assert_eq!(dealt.message, message);
        let owner = ReluCorrelation::draw_in_chunks(&mut prg(1), n, w, 64);
        assert_eq!(dealt.owner, owner);
        let client = ReluCorrelation::for_client_in_chunks(n, w, 64, &mut prg(2), &message);
        assert_eq!(dealt.client, client.expect("dealt"));
        // Small chunks draw other masks than one chunk would.
        assert_ne!(owner, ReluCorrelation::draw(&mut prg(1), n, w));
    }
}

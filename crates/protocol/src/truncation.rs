//! Local truncation of additive shares (SecureML: Mohassel & Zhang, S&P 2017, §4.1),
//! as in Porthos. P0 computes `⌊x₀ / 2^d⌋` and P1 computes `−⌊−x₁ / 2^d⌋` (shifts of
//! the unsigned ring elements); no communication.
//!
//! Error: when |x| < 2^ℓ, the result is `⌊x / 2^d⌋` or one more, except with probability
//! at most 2^(ℓ+1−64) over the randomness of the shares, when it is off by about
//! 2^(64−d). With activations below 2^40 at scale 2s (|real value| < 2^16 at s = 12)
//! that is below 2^-23 per element. The compiler keeps values far from that bound.
//!
//! Privacy: nothing is sent or received, so no party's view changes and there is
//! nothing for a privacy test to check; each party's result is a function of its own
//! share alone.

use cryptflow_ring::Party;

/// This party's share of `x / 2^bits`.
pub fn truncate_share(party: Party, share: &mut [u64], bits: u32) {
    match party {
        Party::ModelOwner => share.iter_mut().for_each(|v| *v >>= bits),
        Party::Client => share
            .iter_mut()
            .for_each(|v| *v = (v.wrapping_neg() >> bits).wrapping_neg()),
        Party::Helper => {}
    }
}

/// The cleartext twin: an arithmetic shift.
pub fn ideal_truncate(values: &mut [u64], bits: u32) {
    values
        .iter_mut()
        .for_each(|v| *v = cryptflow_ring::fixed::truncate(*v, bits));
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptflow_ring::{Prg, Seed};

    fn share(x: &[u64], prg: &mut Prg) -> (Vec<u64>, Vec<u64>) {
        let x0 = prg.u64s(x.len());
        let x1 = x.iter().zip(&x0).map(|(x, r)| x.wrapping_sub(*r)).collect();
        (x0, x1)
    }

    fn errors(magnitude_bits: u32, seed: u64) -> Vec<i64> {
        let mut prg = Prg::new(Seed::from_u64(seed));
        let x: Vec<u64> = prg
            .u64s(20_000)
            .iter()
            .map(|r| ((*r as i64) >> (64 - magnitude_bits)) as u64)
            .collect();
        let (mut x0, mut x1) = share(&x, &mut prg);
        truncate_share(Party::ModelOwner, &mut x0, 12);
        truncate_share(Party::Client, &mut x1, 12);
        let mut expected = x.clone();
        ideal_truncate(&mut expected, 12);
        (0..x.len())
            .map(|i| x0[i].wrapping_add(x1[i]).wrapping_sub(expected[i]) as i64)
            .collect()
    }

    #[test]
    fn small_values_are_off_by_at_most_one_unit() {
        let errs = errors(40, 1);
        assert!(
            errs.iter().all(|e| (0..=1).contains(e)),
            "{:?}",
            errs.iter().max()
        );
        // Both outcomes occur: the error is real, not an artefact of fixed randomness.
        assert!(errs.contains(&0) && errs.contains(&1));
    }

    #[test]
    fn values_near_the_ring_bound_fail_as_documented() {
        // |x| < 2^62: failure probability up to 2^(63-64) = 1/2 per element.
        let large = errors(63, 2).iter().filter(|e| e.abs() > 1).count();
        assert!(large > 1000, "expected frequent large errors, got {large}");
    }
}

//! Local division of additive shares by public positive integers: average pooling's
//! `window sum / window size`, exact to one unit in the last place at every scale and
//! with no communication.
//!
//! This is SecureML's local truncation (Mohassel & Zhang, S&P 2017, §4.1) with the power
//! of two replaced by any divisor d; CrypTen divides by public integers the same way.
//! P0 computes `⌊x₀ / d⌋` and P1 computes `−⌊−x₁ / d⌋` on the unsigned ring elements.
//! Write `r = −x₁`; then `x₀ = x + r`, and whenever that sum does not wrap around 2^64,
//! `⌊(x + r) / d⌋ − ⌊r / d⌋` is `⌊x / d⌋` or `⌊x / d⌋ + 1` (for any reals,
//! `⌊a + b⌋ − ⌊a⌋ ∈ {⌊b⌋, ⌊b⌋ + 1}`). It wraps with probability `|x| / 2^64` over the
//! uniform share, and then the result is off by about `2^64 / d`: below 2^-23 per
//! element for sums under 2^40, and far rarer than the truncations before it.
//!
//! The alternative, multiplying by the reciprocal at scale s and truncating, is off by
//! up to d·|x|·2^-(s+1) relative to the true average: 1 % after a 13×13 pool at s = 12.

use cryptflow_ring::Party;

/// This party's share of `x / d`, where element `j` is divided by
/// `divisors[j % divisors.len()]` (one divisor per position of a channel plane).
///
/// # Panics
/// If `divisors` is empty or holds a zero (validated programs have neither).
pub fn divide_share(party: Party, share: &mut [u64], divisors: &[u64]) {
    assert!(
        !divisors.is_empty() && !divisors.contains(&0),
        "division by zero"
    );
    let per_position = share.iter_mut().zip(divisors.iter().cycle());
    match party {
        Party::ModelOwner => per_position.for_each(|(v, d)| *v /= d),
        Party::Client => per_position.for_each(|(v, d)| *v = (v.wrapping_neg() / d).wrapping_neg()),
        Party::Helper => {}
    }
}

/// The cleartext twin: `⌊x / d⌋` of the signed values.
pub fn ideal_divide(values: &mut [u64], divisors: &[u64]) {
    assert!(
        !divisors.is_empty() && !divisors.contains(&0),
        "division by zero"
    );
    for (v, &d) in values.iter_mut().zip(divisors.iter().cycle()) {
        // Divisors are window sizes, far below 2^63.
        *v = (*v as i64).div_euclid(d as i64) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{reconstruct, share};
    use cryptflow_ring::{Prg, Seed};

    /// `⌊x / d⌋` by exact integer arithmetic, independent of the code under test.
    fn floor_div(x: i64, d: i64) -> i64 {
        let q = x / d;
        if x % d != 0 && x < 0 {
            q - 1
        } else {
            q
        }
    }

    #[test]
    fn shares_divide_to_within_one_unit_of_the_floor() {
        let divisors = [1u64, 2, 3, 7, 49, 169, 1000];
        let x: Vec<u64> = Prg::new(Seed::from_u64(4))
            .u64s(7000)
            .iter()
            .map(|r| ((*r as i64) >> 24) as u64)
            .collect();
        let (mut x0, mut x1) = share(&x, 5);
        divide_share(Party::ModelOwner, &mut x0, &divisors);
        divide_share(Party::Client, &mut x1, &divisors);
        let got = reconstruct(&x0, &x1);
        let mut offsets = [0usize; 2];
        for (j, (&g, &x)) in got.iter().zip(&x).enumerate() {
            let d = divisors[j % divisors.len()] as i64;
            let error = (g as i64).wrapping_sub(floor_div(x as i64, d));
            assert!(
                (0..=1).contains(&error),
                "x = {}, d = {d}: off by {error}",
                x as i64
            );
            offsets[error as usize] += 1;
        }
        // Both outcomes occur: real random shares, not a fixed mask.
        assert!(offsets[0] > 100 && offsets[1] > 100, "{offsets:?}");
    }

    #[test]
    fn the_twin_is_the_signed_floor() {
        let values: Vec<i64> = vec![0, 1, -1, 168, 169, -169, -170, i64::MAX, i64::MIN + 1];
        let mut v: Vec<u64> = values.iter().map(|&x| x as u64).collect();
        ideal_divide(&mut v, &[169]);
        let expected: Vec<u64> = values.iter().map(|&x| floor_div(x, 169) as u64).collect();
        assert_eq!(v, expected);
    }

    #[test]
    fn a_global_pool_average_is_exact_where_a_reciprocal_is_not() {
        // 169 values of 1.0 at scale 12 average to exactly 1.0 (4096). The reciprocal
        // 1/169 at scale 12 is 24/4096, which gives 4056: 1 % low.
        let sum = 169 * 4096u64;
        let (mut s0, mut s1) = share(&[sum], 9);
        divide_share(Party::ModelOwner, &mut s0, &[169]);
        divide_share(Party::Client, &mut s1, &[169]);
        let got = reconstruct(&s0, &s1)[0];
        assert!(got == 4096 || got == 4097, "{got}");
        let reciprocal = (4096.0f64 / 169.0).round() as u64;
        assert_eq!(reciprocal, 24);
        assert_eq!(sum.wrapping_mul(reciprocal) >> 12, 4056);
    }

    #[test]
    fn the_helper_holds_no_share_and_does_nothing() {
        let mut v = vec![5u64, 6];
        divide_share(Party::Helper, &mut v, &[2]);
        assert_eq!(v, [5, 6]);
    }
}

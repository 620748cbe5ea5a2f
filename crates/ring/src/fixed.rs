//! Fixed-point encoding of reals in Z_2^64.
//!
//! A real `x` at scale `s` is the ring element `round(x · 2^s) mod 2^64`; negative reals
//! wrap to the top half of the ring (two's complement). A product of two values at scale
//! `s` is at scale `2s` and is brought back by an arithmetic shift of `s` bits, which
//! rounds toward −∞: the result is within one unit in the last place (2^-s) of the exact
//! product. The secure truncation adds at most one more unit (see the protocol crate).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The number of fractional bits of a fixed-point value. Always at most
/// [`Scale::MAX`], also when read from a file or a peer (deserialized through
/// [`Scale::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Scale(u8);

impl TryFrom<u8> for Scale {
    type Error = String;

    fn try_from(bits: u8) -> Result<Scale, String> {
        Scale::new(bits).ok_or_else(|| format!("scale {bits} is above the maximum {}", Scale::MAX))
    }
}

impl From<Scale> for u8 {
    fn from(scale: Scale) -> u8 {
        scale.0
    }
}

impl Scale {
    /// The largest scale accepted: a product at scale 2s must keep room for the integer
    /// part and the sign in 64 bits.
    pub const MAX: u8 = 28;

    pub fn new(bits: u8) -> Option<Scale> {
        (bits <= Self::MAX).then_some(Scale(bits))
    }

    pub fn bits(self) -> u32 {
        u32::from(self.0)
    }

    /// 2^s as a float.
    pub fn factor(self) -> f64 {
        (1u64 << self.0) as f64
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Encodes a real at `scale`. Returns `None` for NaN, infinities and values whose
/// encoding does not fit in 63 bits plus sign.
pub fn encode(x: f64, scale: Scale) -> Option<u64> {
    encode_bits(x, scale.bits())
}

/// Encodes a real with `bits` fractional bits (biases live at twice the scale).
pub fn encode_bits(x: f64, bits: u32) -> Option<u64> {
    let scaled = (x * (1u64 << bits.min(62)) as f64).round();
    // 2^63 is exactly representable; anything at or beyond it does not fit an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (scaled.is_finite() && scaled.abs() < LIMIT).then_some(scaled as i64 as u64)
}

/// Decodes a ring element at `scale` back to a real.
pub fn decode(v: u64, scale: Scale) -> f64 {
    v as i64 as f64 / scale.factor()
}

/// The ring element read as a signed integer.
pub fn signed(v: u64) -> i64 {
    v as i64
}

/// Cleartext truncation by `bits`: an arithmetic shift (rounds toward −∞).
pub fn truncate(v: u64, bits: u32) -> u64 {
    ((v as i64) >> bits) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s12() -> Scale {
        Scale::new(12).expect("12 is a valid scale")
    }

    #[test]
    fn rejects_non_finite_and_huge() {
        assert_eq!(encode(f64::NAN, s12()), None);
        assert_eq!(encode(f64::INFINITY, s12()), None);
        assert_eq!(encode(1e30, s12()), None);
        assert_eq!(Scale::new(Scale::MAX + 1), None);
    }

    #[test]
    fn negative_values_wrap() {
        assert_eq!(encode(-1.0, s12()), Some(u64::MAX - 4095));
        assert_eq!(decode(u64::MAX - 4095, s12()), -1.0);
    }

    proptest! {
        #[test]
        fn encode_decode_within_half_ulp(x in -1.0e6f64..1.0e6) {
            let s = s12();
            let back = decode(encode(x, s).expect("in range"), s);
            prop_assert!((back - x).abs() <= 0.5 / s.factor() + 1e-9);
        }

        #[test]
        fn encoding_is_additive(a in -1.0e6f64..1.0e6, b in -1.0e6f64..1.0e6) {
            let s = s12();
            let (ea, eb) = (encode(a, s).expect("a"), encode(b, s).expect("b"));
            let sum = decode(ea.wrapping_add(eb), s);
            prop_assert!((sum - (a + b)).abs() <= 1.0 / s.factor() + 1e-9);
        }

        #[test]
        fn product_then_truncate_within_one_ulp(a in -1.0e3f64..1.0e3, b in -1.0e3f64..1.0e3) {
            let s = s12();
            let (ea, eb) = (encode(a, s).expect("a"), encode(b, s).expect("b"));
            let product = truncate(ea.wrapping_mul(eb), s.bits());
            let exact = decode(ea, s) * decode(eb, s);
            prop_assert!((decode(product, s) - exact).abs() <= 1.0 / s.factor());
        }

        #[test]
        fn ring_laws(a: u64, b: u64, c: u64) {
            prop_assert_eq!(a.wrapping_add(b), b.wrapping_add(a));
            prop_assert_eq!(a.wrapping_mul(b.wrapping_add(c)),
                a.wrapping_mul(b).wrapping_add(a.wrapping_mul(c)));
            prop_assert_eq!(a.wrapping_mul(b).wrapping_mul(c), a.wrapping_mul(b.wrapping_mul(c)));
            prop_assert_eq!(a.wrapping_add(a.wrapping_neg()), 0);
        }
    }
}

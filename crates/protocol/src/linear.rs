//! Linear layers whose weights the model owner holds in the clear: `Z = f(W, X)` for a
//! bilinear `f` (matrix product or convolution) with X additively shared.
//!
//! A Beaver-style product with the helper as dealer, specialised to a public-to-P0
//! operand (protocol-notes.md, "a variant when the model owner computes"; Beaver,
//! CRYPTO 1991; Porthos masks convolution inputs in their own shape, before im2col):
//!
//! * Once per weight and session (the runtime does it at the weight's first use): the
//!   helper and P0 draw B from their seed; P0 sends P1 `F = W − B` (uniform to P1,
//!   which does not know B).
//! * Per use: P1 and the helper draw A from their seed; P1 sends P0 `E = X₁ − A`
//!   (uniform to P0, which does not know A), in the shape of X, so convolution costs
//!   input-sized traffic, not im2col-sized. The helper sends P1 `C₁ = f(B, A) − C₀`,
//!   where P0 draws C₀ from its seed with the helper.
//! * P0: `Z₀ = f(W, X₀ + E) + C₀`;  P1: `Z₁ = f(F, A) + C₁`.
//!   Then Z₀ + Z₁ = f(W, X) − f(W, A) + f(W − B, A) + f(B, A) = f(W, X).
//!
//! Cost per use: |X| words P1→P0 and |Z| words helper→P1, one round; the products
//! f(F, A) and f(B, A) do not depend on the input.

use crate::error::ProtocolError;
use crate::msgs::{LinearCorrection, MaskedInput, MaskedWeight, Message};
use cryptflow_ring::conv::{self, ConvGeometry};
use cryptflow_ring::{gemm, Party, Prg};

/// A bilinear map `f(W, X)` over Z_2^64.
pub trait Bilinear {
    fn input_len(&self) -> usize;
    fn weight_len(&self) -> usize;
    fn output_len(&self) -> usize;
    fn apply(&self, weights: &[u64], input: &[u64]) -> Vec<u64>;
}

impl Bilinear for ConvGeometry {
    fn input_len(&self) -> usize {
        ConvGeometry::input_len(self)
    }
    fn weight_len(&self) -> usize {
        ConvGeometry::weight_len(self)
    }
    fn output_len(&self) -> usize {
        ConvGeometry::output_len(self)
    }
    fn apply(&self, weights: &[u64], input: &[u64]) -> Vec<u64> {
        conv::conv2d(self, input, weights)
    }
}

/// `Y[rows, out] = X[rows, inner] · Wᵀ` with `W[out, inner]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatMulShape {
    pub rows: usize,
    pub inner: usize,
    pub out: usize,
}

impl Bilinear for MatMulShape {
    fn input_len(&self) -> usize {
        self.rows * self.inner
    }
    fn weight_len(&self) -> usize {
        self.out * self.inner
    }
    fn output_len(&self) -> usize {
        self.rows * self.out
    }
    fn apply(&self, weights: &[u64], input: &[u64]) -> Vec<u64> {
        // Yᵀ = W · Xᵀ; for one row Xᵀ is X itself.
        if self.rows == 1 {
            return gemm::matmul(weights, input, self.out, self.inner, 1);
        }
        let xt = gemm::transpose(input, self.rows, self.inner);
        let yt = gemm::matmul(weights, &xt, self.out, self.inner, self.rows);
        gemm::transpose(&yt, self.out, self.rows)
    }
}

/// The weight mask B, drawn by the model owner and the helper from their seed.
pub fn weight_mask(len: usize, owner_helper_prg: &mut Prg) -> Vec<u64> {
    owner_helper_prg.u64s(len)
}

/// P0's message for one weight, once per session: `F = W − B`, written over the mask
/// (so masking a large weight holds two copies of it, not three).
pub fn masked_weight(weights: &[u64], mut mask: Vec<u64>) -> MaskedWeight {
    mask.iter_mut()
        .zip(weights)
        .for_each(|(b, w)| *b = w.wrapping_sub(*b));
    MaskedWeight::new(mask)
}

/// P1's check of the setup message for a weight of `len` elements.
pub fn receive_masked_weight(message: Vec<u64>, len: usize) -> Result<MaskedWeight, ProtocolError> {
    MaskedWeight::decode(Party::ModelOwner, message, len)
}

/// The helper's message to P1 for one use: `C₁ = f(B, A) − C₀`.
pub fn deal<F: Bilinear + ?Sized>(
    f: &F,
    weight_mask: &[u64],
    owner_helper_prg: &mut Prg,
    client_helper_prg: &mut Prg,
) -> LinearCorrection {
    let a = client_helper_prg.u64s(f.input_len());
    let c0 = owner_helper_prg.u64s(f.output_len());
    let mut c1 = f.apply(weight_mask, &a);
    c1.iter_mut()
        .zip(&c0)
        .for_each(|(c, c0)| *c = c.wrapping_sub(*c0));
    LinearCorrection::new(c1)
}

/// P1's state between sending `E` and receiving `C₁`.
#[derive(Debug)]
pub struct ClientLinear {
    input_mask: Vec<u64>,
}

/// P1: masks its input share. Returns the state and the message `E = X₁ − A` for P0.
pub fn client_start<F: Bilinear + ?Sized>(
    f: &F,
    x1: &[u64],
    client_helper_prg: &mut Prg,
) -> (ClientLinear, MaskedInput) {
    let a = client_helper_prg.u64s(f.input_len());
    let e = x1.iter().zip(&a).map(|(x, a)| x.wrapping_sub(*a)).collect();
    (ClientLinear { input_mask: a }, MaskedInput::new(e))
}

impl ClientLinear {
    /// P1's share `Z₁ = f(F, A) + C₁`.
    pub fn finish<F: Bilinear + ?Sized>(
        self,
        f: &F,
        masked_weight: &[u64],
        c1: Vec<u64>,
    ) -> Result<Vec<u64>, ProtocolError> {
        let c1 = LinearCorrection::decode(Party::Helper, c1, f.output_len())?;
        let mut z = f.apply(masked_weight, &self.input_mask);
        z.iter_mut()
            .zip(c1.words())
            .for_each(|(z, c)| *z = z.wrapping_add(*c));
        Ok(z)
    }
}

/// P0's share `Z₀ = f(W, X₀ + E) + C₀`.
pub fn owner_finish<F: Bilinear + ?Sized>(
    f: &F,
    weights: &[u64],
    x0: &[u64],
    e: Vec<u64>,
    owner_helper_prg: &mut Prg,
) -> Result<Vec<u64>, ProtocolError> {
    let e = MaskedInput::decode(Party::Client, e, f.input_len())?;
    let c0 = owner_helper_prg.u64s(f.output_len());
    let opened: Vec<u64> = x0
        .iter()
        .zip(e.words())
        .map(|(x, e)| x.wrapping_add(*e))
        .collect();
    let mut z = f.apply(weights, &opened);
    z.iter_mut()
        .zip(&c0)
        .for_each(|(z, c)| *z = z.wrapping_add(*c));
    Ok(z)
}

#[cfg(test)]
mod privacy;
#[cfg(test)]
mod tests;

/// `Z = W ⊙ X`, elementwise, for multiplications by model constants (e.g. a
/// BatchNorm that could not be folded into a convolution).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elementwise {
    pub len: usize,
}

impl Bilinear for Elementwise {
    fn input_len(&self) -> usize {
        self.len
    }
    fn weight_len(&self) -> usize {
        self.len
    }
    fn output_len(&self) -> usize {
        self.len
    }
    fn apply(&self, weights: &[u64], input: &[u64]) -> Vec<u64> {
        weights
            .iter()
            .zip(input)
            .map(|(w, x)| w.wrapping_mul(*x))
            .collect()
    }
}

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
//!
//! *Blocked* (a memory budget, after Aramis's blocked matrix products, CrypTFlow
//! §V-D-1): f is linear in W, so W splits by output units (rows of W: a convolution's
//! output channels, a product's output features) and each term is a sum over blocks:
//! P0 sends F block by block and adds f(W_b, X₀ + E) into its share, P1 adds
//! f(F_b, A), the helper adds f(B_b, A), with B_b the next words of the same mask
//! stream, so the blocked run sends and computes exactly the words of the whole run,
//! holding one block of W, F or B at a time. No extra rounds: F's blocks go one way.

use crate::error::ProtocolError;
use crate::msgs::{LinearCorrection, MaskedInput, MaskedWeight, Message};
use cryptflow_ring::conv::{self, ConvGeometry};
use cryptflow_ring::{gemm, Party, Prg};
use std::ops::Range;

/// A bilinear map `f(W, X)` over Z_2^64.
pub trait Bilinear {
    fn input_len(&self) -> usize;
    fn weight_len(&self) -> usize;
    fn output_len(&self) -> usize;
    fn apply(&self, weights: &[u64], input: &[u64]) -> Vec<u64>;

    /// The output units W splits into for blocking, each a run of
    /// `weight_len() / units()` words of W; 1 if it does not split.
    fn units(&self) -> usize {
        1
    }

    /// Adds f restricted to output units `units` into `out` (the whole output), with
    /// `weights` holding just those units' words of W.
    fn add_units(&self, weights: &[u64], input: &[u64], units: Range<usize>, out: &mut [u64]) {
        debug_assert_eq!(units, 0..self.units());
        add_into(out, &self.apply(weights, input));
    }
}

/// The words of W per output unit.
pub fn unit_len<F: Bilinear + ?Sized>(f: &F) -> usize {
    f.weight_len() / f.units().max(1)
}

/// The blocks of `per_block` output units each (`None`: one block) of `f`, in order.
pub fn blocks<F: Bilinear + ?Sized>(
    f: &F,
    per_block: Option<usize>,
) -> impl Iterator<Item = Range<usize>> {
    let units = f.units();
    let per_block = per_block.unwrap_or(units).clamp(1, units.max(1));
    (0..units.div_ceil(per_block)).map(move |b| b * per_block..((b + 1) * per_block).min(units))
}

fn add_into(out: &mut [u64], terms: &[u64]) {
    out.iter_mut()
        .zip(terms)
        .for_each(|(o, t)| *o = o.wrapping_add(*t));
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
    fn units(&self) -> usize {
        // A grouped convolution's weight is small (depthwise: one filter per channel).
        if self.groups == 1 {
            self.out_channels
        } else {
            1
        }
    }
    fn add_units(&self, weights: &[u64], input: &[u64], units: Range<usize>, out: &mut [u64]) {
        if self.groups != 1 {
            debug_assert_eq!(units, 0..1);
            return add_into(out, &self.apply(weights, input));
        }
        // Output channels are contiguous in [C, H, W]. The block recomputes im2col,
        // which costs |patches| per block against |patches| × block channels of MACs.
        let spatial = self.out_height() * self.out_width();
        let block = ConvGeometry {
            out_channels: units.len(),
            ..self.clone()
        };
        let z = conv::conv2d(&block, input, weights);
        add_into(&mut out[units.start * spatial..units.end * spatial], &z);
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
    fn units(&self) -> usize {
        self.out
    }
    fn add_units(&self, weights: &[u64], input: &[u64], units: Range<usize>, out: &mut [u64]) {
        // Y[rows, block]: the block's columns of each row of the output.
        let block = MatMulShape {
            out: units.len(),
            ..*self
        };
        let z = block.apply(weights, input);
        for (row, z) in z.chunks_exact(units.len().max(1)).enumerate() {
            let at = row * self.out;
            add_into(&mut out[at + units.start..at + units.end], z);
        }
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
    let mut dealer = Dealer::start(f, owner_helper_prg, client_helper_prg);
    dealer.add_block(f, 0..f.units(), weight_mask);
    dealer.finish()
}

/// The helper's `f(B, A)`, added up block by block, and the `C₀` to take off.
#[derive(Debug)]
pub struct Dealer {
    input_mask: Vec<u64>,
    c0: Vec<u64>,
    product: Vec<u64>,
}

impl Dealer {
    /// Draws A (with P1) and C₀ (with P0) for one use of `f`.
    pub fn start<F: Bilinear + ?Sized>(
        f: &F,
        owner_helper_prg: &mut Prg,
        client_helper_prg: &mut Prg,
    ) -> Self {
        Dealer {
            input_mask: client_helper_prg.u64s(f.input_len()),
            c0: owner_helper_prg.u64s(f.output_len()),
            product: vec![0; f.output_len()],
        }
    }

    /// Adds `f(B_b, A)` for the block of output units `units` (`mask`: its words of B).
    pub fn add_block<F: Bilinear + ?Sized>(&mut self, f: &F, units: Range<usize>, mask: &[u64]) {
        f.add_units(mask, &self.input_mask, units, &mut self.product);
    }

    /// `C₁ = f(B, A) − C₀`.
    pub fn finish(mut self) -> LinearCorrection {
        self.product
            .iter_mut()
            .zip(&self.c0)
            .for_each(|(c, c0)| *c = c.wrapping_sub(*c0));
        LinearCorrection::new(self.product)
    }
}

/// P1's state between sending `E` and receiving `C₁`.
#[derive(Debug)]
pub struct ClientLinear {
    input_mask: Vec<u64>,
    /// `f(F, A)` over the blocks of F added so far.
    product: Vec<u64>,
}

/// P1: masks its input share. Returns the state and the message `E = X₁ − A` for P0.
pub fn client_start<F: Bilinear + ?Sized>(
    f: &F,
    x1: &[u64],
    client_helper_prg: &mut Prg,
) -> (ClientLinear, MaskedInput) {
    let a = client_helper_prg.u64s(f.input_len());
    let e = mask_input(x1, &a);
    let state = ClientLinear {
        input_mask: a,
        product: vec![0; f.output_len()],
    };
    (state, e)
}

/// `E = X₁ − A`.
fn mask_input(x1: &[u64], a: &[u64]) -> MaskedInput {
    MaskedInput::new(x1.iter().zip(a).map(|(x, a)| x.wrapping_sub(*a)).collect())
}

impl ClientLinear {
    /// Adds `f(F_b, A)` for the block of output units `units`, `masked` its words of F.
    pub fn add_block<F: Bilinear + ?Sized>(&mut self, f: &F, units: Range<usize>, masked: &[u64]) {
        f.add_units(masked, &self.input_mask, units, &mut self.product);
    }

    /// P1's share `Z₁ = f(F, A) + C₁`, after every block of F.
    pub fn finish_blocks<F: Bilinear + ?Sized>(
        mut self,
        f: &F,
        c1: Vec<u64>,
    ) -> Result<Vec<u64>, ProtocolError> {
        let c1 = LinearCorrection::decode(Party::Helper, c1, f.output_len())?;
        add_into(&mut self.product, c1.words());
        Ok(self.product)
    }

    /// P1's share `Z₁ = f(F, A) + C₁` with F whole.
    pub fn finish<F: Bilinear + ?Sized>(
        mut self,
        f: &F,
        masked_weight: &[u64],
        c1: Vec<u64>,
    ) -> Result<Vec<u64>, ProtocolError> {
        self.add_block(f, 0..f.units(), masked_weight);
        self.finish_blocks(f, c1)
    }
}

/// P1's part of one use computed before its input share exists: `f(F, A) + C₁` and
/// the mask A (none of it depends on the input; the *offline* phase).
#[derive(Debug)]
pub struct PreparedLinear {
    input_mask: Vec<u64>,
    share: Vec<u64>,
}

/// P1, ahead of the input: draws A, computes `Z₁ = f(F, A) + C₁` with F whole.
pub fn client_prepare<F: Bilinear + ?Sized>(
    f: &F,
    masked_weight: &[u64],
    client_helper_prg: &mut Prg,
    c1: Vec<u64>,
) -> Result<PreparedLinear, ProtocolError> {
    let input_mask = client_helper_prg.u64s(f.input_len());
    let mut share = vec![0; f.output_len()];
    f.add_units(masked_weight, &input_mask, 0..f.units(), &mut share);
    let c1 = LinearCorrection::decode(Party::Helper, c1, f.output_len())?;
    add_into(&mut share, c1.words());
    Ok(PreparedLinear { input_mask, share })
}

impl PreparedLinear {
    /// The length of the input share the prepared mask is for.
    pub fn input_len(&self) -> usize {
        self.input_mask.len()
    }

    /// Online, with P1's input share `x1` (of [`input_len`](Self::input_len) words):
    /// its share Z₁ and the message `E = X₁ − A` for P0 (the same E and Z₁ as
    /// [`client_start`] then [`ClientLinear::finish`]).
    pub fn finish(self, x1: &[u64]) -> (Vec<u64>, MaskedInput) {
        debug_assert_eq!(x1.len(), self.input_mask.len(), "the runtime checks");
        (self.share, mask_input(x1, &self.input_mask))
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
    let mut owner = OwnerLinear::start(f, x0, e, owner_helper_prg)?;
    owner.add_block(f, 0..f.units(), weights);
    Ok(owner.finish())
}

/// P0's state for one use: the opened `X₀ + E`, and its share added up block by block.
#[derive(Debug)]
pub struct OwnerLinear {
    opened: Vec<u64>,
    share: Vec<u64>,
}

impl OwnerLinear {
    /// Opens `X₀ + E` (checking P1's message) and draws C₀ with the helper.
    pub fn start<F: Bilinear + ?Sized>(
        f: &F,
        x0: &[u64],
        e: Vec<u64>,
        owner_helper_prg: &mut Prg,
    ) -> Result<Self, ProtocolError> {
        let e = MaskedInput::decode(Party::Client, e, f.input_len())?;
        let opened = x0
            .iter()
            .zip(e.words())
            .map(|(x, e)| x.wrapping_add(*e))
            .collect();
        Ok(OwnerLinear {
            opened,
            share: owner_helper_prg.u64s(f.output_len()),
        })
    }

    /// Adds `f(W_b, X₀ + E)` for the block of output units `units` (`weights`: its
    /// words of W).
    pub fn add_block<F: Bilinear + ?Sized>(&mut self, f: &F, units: Range<usize>, weights: &[u64]) {
        f.add_units(weights, &self.opened, units, &mut self.share);
    }

    pub fn finish(self) -> Vec<u64> {
        self.share
    }
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

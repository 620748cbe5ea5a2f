//! Products of two shared values: `Z = X ⊙ Y[map]`, elementwise, with X and Y both
//! additively shared between P0 and P1 and Y broadcast to X's shape by a public index
//! `map` (a squeeze-excitation gate per channel, a HardSwish's `x · relu6(x + 3)`).
//!
//! Beaver's multiplication triples (Beaver, CRYPTO 1991), dealt by the helper as in
//! protocol-notes.md's dealer model (the setting of CrypTFlow's Porthos and SecureNN):
//!
//! * The helper draws with P0 (their seed): A₀ (|X| words), B₀ (|Y|), C₀ (|X|); with P1:
//!   A₁ (|X|), B₁ (|Y|). It sends P1 `C₁ = A ⊙ B[map] − C₀` for `A = A₀ + A₁`,
//!   `B = B₀ + B₁`: uniform to P1, which does not know C₀.
//! * Each share-holder sends the other `Eᵢ = Xᵢ − Aᵢ` and `Fᵢ = Yᵢ − Bᵢ` (one round, both
//!   ways). Each is padded by a mask the receiver does not hold (Aᵢ, Bᵢ come from the
//!   seed the sender shares with the helper), so both learn only `E = X − A` and
//!   `F = Y − B`, uniform while A and B stay unknown to them.
//! * `Zᵢ = Cᵢ + E ⊙ Bᵢ[map] + Aᵢ ⊙ F[map]`, and P0 adds `E ⊙ F[map]`. Then
//!   Z₀ + Z₁ = AB + (X − A)B + A(Y − B) + (X − A)(Y − B) = X ⊙ Y[map].
//!
//! The triple's B is drawn in Y's shape and broadcast like Y, so a broadcast factor
//! opens |Y| words, not |X|. Cost: |X| words helper → P1; |X| + |Y| words each way
//! between the share-holders, one round. The product of two values at scale s is at
//! scale 2s; a truncation follows, as after a linear layer.

use crate::error::ProtocolError;
use crate::msgs::{Message, Outgoing, ProductCorrection, ProductOpening};
use crate::Step;
use cryptflow_ring::{Party, Prg};

/// The public shape of a product: X's length is `map.len()`, Y's is `y_len`, and
/// element i of X meets element `map[i]` of Y.
#[derive(Clone, Copy, Debug)]
pub struct ProductShape<'m> {
    pub map: &'m [usize],
    pub y_len: usize,
}

impl ProductShape<'_> {
    pub fn x_len(&self) -> usize {
        self.map.len()
    }

    /// Whether every index of the map is inside Y (the runtime builds maps from checked
    /// shapes; this guards the indexing below).
    fn is_valid(&self) -> bool {
        self.map.iter().all(|&j| j < self.y_len)
    }
}

/// One share-holder's part of a multiplication triple.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TripleShare {
    a: Vec<u64>,
    b: Vec<u64>,
    c: Vec<u64>,
}

impl TripleShare {
    /// P0's part: A₀, B₀, C₀ from the stream it shares with the helper.
    pub fn for_owner(shape: ProductShape, owner_helper: &mut Prg) -> TripleShare {
        let a = owner_helper.u64s(shape.x_len());
        let b = owner_helper.u64s(shape.y_len);
        let c = owner_helper.u64s(shape.x_len());
        TripleShare { a, b, c }
    }

    /// P1's part: A₁, B₁ from the stream it shares with the helper, C₁ as the helper
    /// sent it.
    pub fn for_client(
        shape: ProductShape,
        client_helper: &mut Prg,
        correction: Vec<u64>,
    ) -> Result<TripleShare, ProtocolError> {
        let c = ProductCorrection::decode(Party::Helper, correction, shape.x_len())?;
        let a = client_helper.u64s(shape.x_len());
        let b = client_helper.u64s(shape.y_len);
        Ok(TripleShare {
            a,
            b,
            c: c.into_words(),
        })
    }
}

/// The helper's message: `C₁ = A ⊙ B[map] − C₀`, from the streams it shares with P0 and
/// P1 (drawn in the order the share-holders draw them).
pub fn deal(
    shape: ProductShape,
    owner_helper: &mut Prg,
    client_helper: &mut Prg,
) -> ProductCorrection {
    let owner = TripleShare::for_owner(shape, owner_helper);
    let a1 = client_helper.u64s(shape.x_len());
    let b1 = client_helper.u64s(shape.y_len);
    let b: Vec<u64> = owner
        .b
        .iter()
        .zip(&b1)
        .map(|(x, y)| x.wrapping_add(*y))
        .collect();
    let c1 = shape
        .map
        .iter()
        .zip(owner.a.iter().zip(&a1))
        .zip(&owner.c)
        .map(|((&j, (a0, a1)), c0)| a0.wrapping_add(*a1).wrapping_mul(b[j]).wrapping_sub(*c0))
        .collect();
    ProductCorrection::new(c1)
}

/// A share-holder's product in progress: its triple and shares, waiting for the other's
/// opening.
#[derive(Debug)]
pub struct SecureProduct<'m> {
    party: Party,
    shape: ProductShape<'m>,
    triple: TripleShare,
    /// This party's Eᵢ then Fᵢ, as sent.
    opening: Vec<u64>,
}

impl<'m> SecureProduct<'m> {
    /// Opens this party's `Eᵢ = Xᵢ − Aᵢ`, `Fᵢ = Yᵢ − Bᵢ`: the message to send the other
    /// share-holder.
    pub fn start(
        party: Party,
        shape: ProductShape<'m>,
        (x, y): (&[u64], &[u64]),
        triple: TripleShare,
    ) -> Result<(SecureProduct<'m>, Outgoing), ProtocolError> {
        if party.share_peer().is_none() {
            return Err(ProtocolError::WrongParty {
                party,
                protocol: "a product of two shared values",
                expected: "the two share-holders",
            });
        }
        let shaped = x.len() == shape.x_len()
            && y.len() == shape.y_len
            && triple.a.len() == x.len()
            && triple.c.len() == x.len()
            && triple.b.len() == y.len()
            && shape.is_valid();
        if !shaped {
            // The runtime builds every length from the validated program; a mismatch is
            // a program the parties disagree on, reported as the malformed triple.
            return Err(ProtocolError::MalformedMessage {
                from: Party::Helper,
                message: "multiplication triple",
                expected: shape.x_len(),
                actual: triple.c.len(),
            });
        }
        let opening: Vec<u64> = x
            .iter()
            .zip(&triple.a)
            .chain(y.iter().zip(&triple.b))
            .map(|(v, mask)| v.wrapping_sub(*mask))
            .collect();
        let message = Outgoing::new(ProductOpening::new(opening.clone()), 0);
        Ok((
            SecureProduct {
                party,
                shape,
                triple,
                opening,
            },
            message,
        ))
    }

    /// This party's share of the product, from the other share-holder's opening.
    pub fn finish(self, incoming: Vec<u64>) -> Result<Vec<u64>, ProtocolError> {
        let from = self.party.share_peer().unwrap_or(Party::ModelOwner);
        let expected = self.opening.len();
        let theirs = ProductOpening::decode(from, incoming, expected)?;
        let opened: Vec<u64> = self
            .opening
            .iter()
            .zip(theirs.words())
            .map(|(a, b)| a.wrapping_add(*b))
            .collect();
        let (e, f) = opened.split_at(self.shape.x_len());
        let TripleShare { a, b, c } = self.triple;
        let owner = self.party == Party::ModelOwner;
        Ok(self
            .shape
            .map
            .iter()
            .enumerate()
            .map(|(i, &j)| {
                let mut z = c[i]
                    .wrapping_add(e[i].wrapping_mul(b[j]))
                    .wrapping_add(a[i].wrapping_mul(f[j]));
                if owner {
                    z = z.wrapping_add(e[i].wrapping_mul(f[j]));
                }
                z
            })
            .collect())
    }
}

/// Drives a [`SecureProduct`] as an interactive step (one round).
#[derive(Debug)]
pub struct ProductStep<'m>(Option<SecureProduct<'m>>);

impl<'m> ProductStep<'m> {
    pub fn new(product: SecureProduct<'m>) -> Self {
        ProductStep(Some(product))
    }

    pub fn step(&mut self, incoming: Vec<u64>) -> Result<Step<Vec<u64>>, ProtocolError> {
        match self.0.take() {
            Some(product) => Ok(Step::Done(product.finish(incoming)?)),
            // The runtime drives a step until it is done; never called again.
            None => Ok(Step::Done(Vec::new())),
        }
    }
}

/// The cleartext twin: `X ⊙ Y[map]` over Z_2^64.
pub fn ideal_product(x: &[u64], y: &[u64], map: &[usize]) -> Vec<u64> {
    x.iter()
        .zip(map)
        .map(|(v, &j)| v.wrapping_mul(y[j]))
        .collect()
}

#[cfg(test)]
mod privacy;
#[cfg(test)]
mod tests;

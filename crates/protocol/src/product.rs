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
use cryptflow_ring::{gemm, Party, Prg};

/// A public bilinear pairing `f(X, Y)` of two shared operands: the elementwise product
/// with broadcasting ([`ProductShape`]) or the matrix product ([`MatrixProduct`]). The
/// protocol is the same for both: `Zᵢ = Cᵢ + f(E, Bᵢ) + f(Aᵢ, F)` (+ `f(E, F)` for P0).
pub trait Pairing {
    fn x_len(&self) -> usize;
    fn y_len(&self) -> usize;
    fn out_len(&self) -> usize;
    /// Whether the shape is consistent (checked before any indexing).
    fn is_valid(&self) -> bool {
        true
    }
    /// Adds `f(x, y)` into `out`.
    fn add_pair(&self, x: &[u64], y: &[u64], out: &mut [u64]);
}

/// The elementwise product: X's length is `map.len()`, Y's is `y_len`, and element i of
/// X meets element `map[i]` of Y.
#[derive(Clone, Copy, Debug)]
pub struct ProductShape<'m> {
    pub map: &'m [usize],
    pub y_len: usize,
}

impl Pairing for ProductShape<'_> {
    fn x_len(&self) -> usize {
        self.map.len()
    }
    fn y_len(&self) -> usize {
        self.y_len
    }
    fn out_len(&self) -> usize {
        self.map.len()
    }
    /// Every index of the map is inside Y (the runtime builds maps from checked shapes;
    /// this guards the indexing).
    fn is_valid(&self) -> bool {
        self.map.iter().all(|&j| j < self.y_len)
    }
    fn add_pair(&self, x: &[u64], y: &[u64], out: &mut [u64]) {
        for ((o, v), &j) in out.iter_mut().zip(x).zip(self.map) {
            *o = o.wrapping_add(v.wrapping_mul(y[j]));
        }
    }
}

/// `Z[rows, cols] = X[rows, inner] · Y[inner, cols]`, both factors shared (attention's
/// `Q·Kᵀ`, a product of two activations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatrixProduct {
    pub rows: usize,
    pub inner: usize,
    pub cols: usize,
}

impl Pairing for MatrixProduct {
    fn x_len(&self) -> usize {
        self.rows * self.inner
    }
    fn y_len(&self) -> usize {
        self.inner * self.cols
    }
    fn out_len(&self) -> usize {
        self.rows * self.cols
    }
    fn add_pair(&self, x: &[u64], y: &[u64], out: &mut [u64]) {
        gemm::matmul_into(x, y, out, self.rows, self.inner, self.cols);
    }
}

fn pair(f: &dyn Pairing, x: &[u64], y: &[u64]) -> Vec<u64> {
    let mut out = vec![0; f.out_len()];
    f.add_pair(x, y, &mut out);
    out
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
    pub fn for_owner(f: &dyn Pairing, owner_helper: &mut Prg) -> TripleShare {
        let a = owner_helper.u64s(f.x_len());
        let b = owner_helper.u64s(f.y_len());
        let c = owner_helper.u64s(f.out_len());
        TripleShare { a, b, c }
    }

    /// P1's part: A₁, B₁ from the stream it shares with the helper, C₁ as the helper
    /// sent it.
    pub fn for_client(
        f: &dyn Pairing,
        client_helper: &mut Prg,
        correction: Vec<u64>,
    ) -> Result<TripleShare, ProtocolError> {
        let c = ProductCorrection::decode(Party::Helper, correction, f.out_len())?;
        let a = client_helper.u64s(f.x_len());
        let b = client_helper.u64s(f.y_len());
        Ok(TripleShare {
            a,
            b,
            c: c.into_words(),
        })
    }
}

/// The helper's message: `C₁ = f(A, B) − C₀`, from the streams it shares with P0 and P1
/// (drawn in the order the share-holders draw them).
pub fn deal(f: &dyn Pairing, owner_helper: &mut Prg, client_helper: &mut Prg) -> ProductCorrection {
    let owner = TripleShare::for_owner(f, owner_helper);
    let a1 = client_helper.u64s(f.x_len());
    let b1 = client_helper.u64s(f.y_len());
    let sum = |p: &[u64], q: &[u64]| -> Vec<u64> {
        p.iter().zip(q).map(|(x, y)| x.wrapping_add(*y)).collect()
    };
    let (a, b) = (sum(&owner.a, &a1), sum(&owner.b, &b1));
    let c1 = pair(f, &a, &b)
        .iter()
        .zip(&owner.c)
        .map(|(c, c0)| c.wrapping_sub(*c0))
        .collect();
    ProductCorrection::new(c1)
}

/// A share-holder's product in progress: its triple and shares, waiting for the other's
/// opening.
pub struct SecureProduct<'f> {
    party: Party,
    f: &'f dyn Pairing,
    triple: TripleShare,
    /// This party's Eᵢ then Fᵢ, as sent.
    opening: Vec<u64>,
}

impl std::fmt::Debug for SecureProduct<'_> {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        out.debug_struct("SecureProduct")
            .field("party", &self.party)
            .field("opening_len", &self.opening.len())
            .finish()
    }
}

impl<'f> SecureProduct<'f> {
    /// Opens this party's `Eᵢ = Xᵢ − Aᵢ`, `Fᵢ = Yᵢ − Bᵢ`: the message to send the other
    /// share-holder.
    pub fn start(
        party: Party,
        f: &'f dyn Pairing,
        (x, y): (&[u64], &[u64]),
        triple: TripleShare,
    ) -> Result<(SecureProduct<'f>, Outgoing), ProtocolError> {
        if party.share_peer().is_none() {
            return Err(ProtocolError::WrongParty {
                party,
                protocol: "a product of two shared values",
                expected: "the two share-holders",
            });
        }
        let shaped = x.len() == f.x_len()
            && y.len() == f.y_len()
            && triple.a.len() == x.len()
            && triple.b.len() == y.len()
            && triple.c.len() == f.out_len()
            && f.is_valid();
        if !shaped {
            // The runtime builds every length from the validated program; a mismatch is
            // a program the parties disagree on, reported as the malformed triple.
            return Err(ProtocolError::MalformedMessage {
                from: Party::Helper,
                message: "multiplication triple",
                expected: f.out_len(),
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
                f,
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
        let (e, f_open) = opened.split_at(self.f.x_len());
        let TripleShare { a, b, mut c } = self.triple;
        self.f.add_pair(e, &b, &mut c);
        self.f.add_pair(&a, f_open, &mut c);
        if self.party == Party::ModelOwner {
            self.f.add_pair(e, f_open, &mut c);
        }
        Ok(c)
    }
}

/// Drives a [`SecureProduct`] as an interactive step (one round).
#[derive(Debug)]
pub struct ProductStep<'f>(Option<SecureProduct<'f>>);

impl<'f> ProductStep<'f> {
    pub fn new(product: SecureProduct<'f>) -> Self {
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

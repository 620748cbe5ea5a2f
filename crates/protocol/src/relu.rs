//! Secure ReLU and the comparison behind it: `select(x, v) = DReLU(x) · v`, where
//! `DReLU(x) = 1` if x ≥ 0 (as a signed 64-bit value) and 0 otherwise. ReLU is
//! `select(x, x)`; `max(a, b) = b + select(a − b, a − b)`.
//!
//! The protocol (semi-honest, the helper P2 deals all randomness ahead of time):
//!
//! 1. **Masked opening.** The helper deals a random `r` shared twice: additively over
//!    Z_2^64 and bitwise (XOR) over its 64 bits. P0 and P1 open `y = x + r`, which is
//!    uniform. Then `x = y − r`, and with `y'`, `r'` the low 63 bits,
//!    `MSB(x) = y₆₃ ⊕ r₆₃ ⊕ [y' < r']` (the borrow out of the low bits).
//!    This is the edaBits/Rabbit route: Escudero et al., "Improved primitives for MPC
//!    over mixed arithmetic-binary circuits", CRYPTO 2020; Makri et al., "Rabbit:
//!    efficient comparison for secure multi-party computation", FC 2021.
//! 2. **Comparison of a public value with shared bits.** `[r' > y']` is the carry out of
//!    `r' + ¬y'`: generate `gᵢ = rᵢ ∧ ¬y'ᵢ` and propagate `pᵢ = rᵢ ⊕ ¬y'ᵢ` are local
//!    (one operand is public); a log-depth tree of `(G, P) ∘ (G', P') = (G ⊕ P∧G',
//!    P∧P')` (Brent–Kung) combines them with 6 levels of AND gates on XOR shares
//!    ([`crate::bits`]), all elements and bit positions of a level in one message.
//! 3. **Selection.** With the comparison bit β in XOR shares and `v` additively shared,
//!    the helper deals a random bit `c` (XOR and additive shares), a random `a` and
//!    `c·a`. `v − a` is opened together with `y` in step 1, and `e = β ⊕ c` in one
//!    final round; then `β·v = e·f + e·a + (1 − 2e)(f·c + c·a)` with `f = v − a` is
//!    linear in the dealt shares.
//!
//! Cost per element: 8 rounds; each share-holder sends 16 bytes (step 1) + 31.5 bytes
//! (AND openings) + 1 bit; the helper sends the client 40 bytes (P0's share of every
//! dealt value comes from the seed it shares with the helper). The comparison is exact.
//!
//! Privacy: every opened value is a secret masked by fresh dealt randomness the
//! receiver does not know (`y` by `r`, `f` by `a`, AND openings by triple bits, `e` by
//! `c`), and the helper's corrections to P1 are masked by P0's shares, so each
//! share-holder's view is uniform whatever the input; the helper receives nothing.
//! `privacy.rs` tests this for P0 and P1, and that each broken dealer in `dealers.rs`
//! (zero mask, reused mask, a share from the receiver's seed, a clear correction) is
//! caught.

mod correlation;

pub use correlation::ReluCorrelation;
#[cfg(test)]
pub(crate) use correlation::DEAL_CHUNK;

use crate::bits::{self, compact_even};
use crate::error::ProtocolError;
use crate::msgs::{AndOpening, MaskedOpening, Message, Outgoing, SelectionOpening};
use crate::Step;
use cryptflow_ring::Party;

/// Levels of the carry tree: 64 → 32 → … → 1 blocks.
const LEVELS: u32 = 6;
/// Rounds of one select: the masked opening, one per tree level, the selection.
pub const ROUNDS: u16 = LEVELS as u16 + 2;

const LOW_63: u64 = (1 << 63) - 1;

/// Width in bits of one element's lane in the AND openings of `level`.
fn lane_width(level: u32) -> u32 {
    64 >> level
}

enum Stage {
    Open,
    Carry {
        level: u32,
        /// The G of the upper block of each pair, waiting for the AND's result.
        upper_g: Vec<u64>,
    },
    Select,
    Done,
}

/// One share-holder's run of `select(x, v)` on a batch.
pub struct SecureSelect {
    party: Party,
    correlation: ReluCorrelation,
    stage: Stage,
    /// The message this party sent last (the AND gate needs both openings).
    sent: Vec<u64>,
    /// Public `y₆₃` of each element.
    y_top: Vec<u64>,
    /// Public `f = v − a`.
    f: Vec<u64>,
}

impl std::fmt::Debug for SecureSelect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureSelect")
            .field("party", &self.party)
            .finish_non_exhaustive()
    }
}

impl SecureSelect {
    /// Starts the protocol: returns the state and the first message for the peer.
    pub fn start(
        party: Party,
        x: &[u64],
        v: &[u64],
        correlation: ReluCorrelation,
    ) -> Result<(SecureSelect, Outgoing), ProtocolError> {
        if party == Party::Helper {
            return Err(ProtocolError::WrongParty {
                party,
                protocol: "ReLU",
                expected: "P0 and P1",
            });
        }
        let n = correlation.n;
        assert!(
            x.len() == n && v.len() == n,
            "select: batch size differs from its correlation"
        );
        let opening = MaskedOpening::new(
            x.iter()
                .zip(&correlation.r)
                .map(|(x, r)| x.wrapping_add(*r)),
            v.iter()
                .zip(&correlation.a)
                .map(|(v, a)| v.wrapping_sub(*a)),
            n,
        );
        let state = SecureSelect {
            party,
            correlation,
            stage: Stage::Open,
            sent: opening.words().to_vec(),
            y_top: Vec::new(),
            f: Vec::new(),
        };
        Ok((state, Outgoing::new(opening, 0)))
    }

    fn peer(&self) -> Party {
        self.party.share_peer().unwrap_or(self.party)
    }

    fn is_owner(&self) -> bool {
        self.party == Party::ModelOwner
    }

    /// Consumes the peer's message for the current round.
    pub fn step(&mut self, incoming: Vec<u64>) -> Result<Step<Vec<u64>>, ProtocolError> {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Open => self.after_open(incoming),
            Stage::Carry { level, upper_g } => self.after_and(level, upper_g, incoming),
            Stage::Select => self.after_select(incoming).map(Step::Done),
            Stage::Done => panic!("SecureSelect stepped after it finished"),
        }
    }

    fn after_open(&mut self, incoming: Vec<u64>) -> Result<Step<Vec<u64>>, ProtocolError> {
        let n = self.correlation.n;
        let theirs = MaskedOpening::decode(self.peer(), incoming, n)?;
        let (their_y, their_f) = (theirs.y(), theirs.f());
        let mut g = Vec::with_capacity(n);
        let mut p = Vec::with_capacity(n);
        self.y_top = Vec::with_capacity(n);
        self.f = Vec::with_capacity(n);
        for i in 0..n {
            let y = self.sent[i].wrapping_add(their_y[i]);
            self.f.push(self.sent[n + i].wrapping_add(their_f[i]));
            self.y_top.push(y >> 63);
            // Bit 63 is padding: (g, p) = (0, 1) is neutral as the most significant block.
            let not_y = !y | (1 << 63);
            let r = self.correlation.r_bits[i] & LOW_63;
            g.push(r & not_y);
            p.push(if self.is_owner() { r ^ not_y } else { r });
        }
        Ok(self.open_level(0, &g, &p))
    }

    /// Opens the ANDs of one tree level: upper P with lower G and lower P.
    fn open_level(&mut self, level: u32, g: &[u64], p: &[u64]) -> Step<Vec<u64>> {
        let half = lane_width(level) / 2;
        let mut x = Vec::with_capacity(g.len());
        let mut y = Vec::with_capacity(g.len());
        let mut upper_g = Vec::with_capacity(g.len());
        for (&g, &p) in g.iter().zip(p) {
            let upper_p = compact_even(p >> 1);
            x.push(upper_p | upper_p << half);
            y.push(compact_even(g) | compact_even(p) << half);
            upper_g.push(compact_even(g >> 1));
        }
        let width = lane_width(level);
        let triples = &self.correlation.levels[level as usize];
        self.sent = bits::and_open(&bits::pack(&x, width), &bits::pack(&y, width), triples);
        self.stage = Stage::Carry { level, upper_g };
        let round = 1 + level as u16;
        Step::Send(Outgoing::new(AndOpening::new(self.sent.clone()), round))
    }

    fn after_and(
        &mut self,
        level: u32,
        upper_g: Vec<u64>,
        incoming: Vec<u64>,
    ) -> Result<Step<Vec<u64>>, ProtocolError> {
        let n = self.correlation.n;
        let theirs = AndOpening::decode(self.peer(), incoming, self.sent.len())?;
        let triples = &self.correlation.levels[level as usize];
        let z = bits::and_close(self.party, &self.sent, theirs.words(), triples)?;
        let width = lane_width(level);
        let half = width / 2;
        let half_mask = (1u64 << half) - 1;
        let lanes = bits::unpack(&z, width, n);
        let g: Vec<u64> = lanes
            .iter()
            .zip(&upper_g)
            .map(|(t, ug)| ug ^ (t & half_mask))
            .collect();
        if level + 1 < LEVELS {
            let p: Vec<u64> = lanes.iter().map(|t| t >> half).collect();
            return Ok(self.open_level(level + 1, &g, &p));
        }
        // g now holds the carry [r' > y'] in bit 0: β = 1 ⊕ MSB(x).
        let public = |i: usize| {
            if self.is_owner() {
                1 ^ self.y_top[i]
            } else {
                0
            }
        };
        let beta: Vec<u64> = (0..n)
            .map(|i| (g[i] & 1) ^ (self.correlation.r_bits[i] >> 63) ^ public(i))
            .collect();
        self.sent = bits::pack(&beta, 1)
            .iter()
            .zip(&self.correlation.c_bits)
            .map(|(b, c)| b ^ c)
            .collect();
        self.stage = Stage::Select;
        let opening = SelectionOpening::new(self.sent.clone());
        Ok(Step::Send(Outgoing::new(opening, ROUNDS - 1)))
    }

    fn after_select(&mut self, incoming: Vec<u64>) -> Result<Vec<u64>, ProtocolError> {
        let n = self.correlation.n;
        let theirs = SelectionOpening::decode(self.peer(), incoming, self.sent.len())?;
        let e_words: Vec<u64> = self
            .sent
            .iter()
            .zip(theirs.words())
            .map(|(a, b)| a ^ b)
            .collect();
        let corr = &self.correlation;
        Ok((0..n)
            .map(|i| {
                let e = (e_words[i / 64] >> (i % 64)) & 1;
                let f = self.f[i];
                let linear = f.wrapping_mul(corr.c_arith[i]).wrapping_add(corr.ca[i]);
                let signed = if e == 1 {
                    linear.wrapping_neg()
                } else {
                    linear
                };
                let public = if self.is_owner() {
                    e.wrapping_mul(f)
                } else {
                    0
                };
                public
                    .wrapping_add(e.wrapping_mul(corr.a[i]))
                    .wrapping_add(signed)
            })
            .collect())
    }
}

#[cfg(test)]
pub(crate) mod dealers;
#[cfg(test)]
pub(crate) mod privacy;
#[cfg(test)]
mod tests;

/// The cleartext twin: `DReLU(x) · v`.
pub fn ideal_select(x: &[u64], v: &[u64]) -> Vec<u64> {
    x.iter()
        .zip(v)
        .map(|(&x, &v)| if (x as i64) >= 0 { v } else { 0 })
        .collect()
}

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
//!    P∧P')` (Brent–Kung) combines them with log₂ w levels of AND gates on XOR shares
//!    ([`crate::bits`]), all elements and bit positions of a level in one message.
//!    The tree is *bit-sliced*: the share-holders transpose each block of 64 elements
//!    so that a word holds one bit position of 64 elements ([`bits::transpose64`]), and
//!    every level is word operations, 64 elements at once. The two ANDs of a pair share
//!    their first operand `P_up`, opened once ([`bits::PairedTriples`]: 3 openings for 2
//!    gates), and pair 0's `P` gate is dropped (only G reaches the carry).
//! 3. **Selection.** With the comparison bit β in XOR shares and `v` additively shared,
//!    the helper deals a random bit `c` (XOR and additive shares), a random `a` and
//!    `c·a`. `v − a` is opened together with `y` in step 1, and `e = β ⊕ c` in one
//!    final round; then `β·v = e·f + e·a + (1 − 2e)(f·c + c·a)` with `f = v − a` is
//!    linear in the dealt shares.
//!
//! **Width.** The comparison runs on the low `w` bits of x ([`Width`]: 8, 16, 32 or 64).
//! Shares reduced mod 2^w are shares of x mod 2^w, so everything above runs mod 2^w
//! (r uniform mod 2^w, `y` opened in w bits, a tree of log₂ w levels), and
//! `MSB_w(x mod 2^w)` is the sign of x exactly while |x| < 2^(w−1). The compiler picks
//! w per instruction from the values calibration saw, with a margin (DESIGN.md,
//! "Comparison width"); 64 is exact for every x. The selection (step 3) stays mod 2^64.
//! A narrow comparison is the bit-width reduction of SecureNN/Falcon-style protocols
//! and CrypTen's, and of SIRNN (Rathee et al., S&P 2021), which compare on the bits a
//! layer needs.
//!
//! Cost per element at width w: log₂ w + 2 rounds; each share-holder sends w/8 + 8
//! bytes (step 1) + (3(w − 1) − log₂ w)/8 bytes (AND openings) + 1 bit; the helper
//! sends the client w/8 + (2(w − 1) − log₂ w)/8 + 16 bytes (P0's share of every dealt
//! value comes from the seed it shares with the helper). At w = 64: 8 rounds and
//! ≈117 bytes in all (135 before the paired triples); at w = 32: 7 rounds and ≈73.
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

use crate::bits;
use crate::error::ProtocolError;
use crate::msgs::{AndOpening, MaskedOpening, Message, Outgoing, SelectionOpening};
use crate::Step;
use cryptflow_ring::Party;

/// The bits a comparison runs on: a power of two from 8 to 64 (see the module notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Width(u32);

impl Width {
    /// All 64 bits: exact for every value.
    pub const FULL: Width = Width(64);

    /// `bits` as a width, if it is one of 8, 16, 32, 64.
    pub fn new(bits: u32) -> Option<Width> {
        matches!(bits, 8 | 16 | 32 | 64).then_some(Width(bits))
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    /// Levels of the carry tree: w → w/2 → … → 1 blocks.
    fn levels(self) -> u32 {
        self.0.trailing_zeros()
    }

    /// Rounds of one select: the masked opening, one per tree level, the selection.
    pub fn rounds(self) -> u16 {
        self.levels() as u16 + 2
    }

    /// The low w bits.
    fn mask(self) -> u64 {
        u64::MAX >> (64 - self.0)
    }

    /// Bit positions per element entering tree level `level`.
    fn lane_width(self, level: u32) -> u32 {
        self.0 >> level
    }

    /// Pairs of positions combined at `level`.
    fn pairs(self, level: u32) -> usize {
        (self.lane_width(level) / 2) as usize
    }
}

enum Stage {
    Open,
    Carry {
        level: u32,
        /// The level's G (bit-sliced), whose upper positions join the AND's result.
        g: Vec<u64>,
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
    /// Public `y_{w−1}` of each element, packed one bit an element.
    y_top: Vec<u64>,
    /// This party's share of `r_{w−1}`, packed likewise.
    r_top: Vec<u64>,
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
        let width = correlation.width;
        let y: Vec<u64> = x
            .iter()
            .zip(&correlation.r)
            .map(|(x, r)| x.wrapping_add(*r) & width.mask())
            .collect();
        let opening = MaskedOpening::new(
            bits::pack(&y, width.bits()),
            v.iter()
                .zip(&correlation.a)
                .map(|(v, a)| v.wrapping_sub(*a)),
        );
        let state = SecureSelect {
            party,
            correlation,
            stage: Stage::Open,
            sent: opening.words().to_vec(),
            y_top: Vec::new(),
            r_top: Vec::new(),
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
            Stage::Carry { level, g } => self.after_and(level, g, incoming),
            Stage::Select => self.after_select(incoming).map(Step::Done),
            Stage::Done => panic!("SecureSelect stepped after it finished"),
        }
    }

    fn after_open(&mut self, incoming: Vec<u64>) -> Result<Step<Vec<u64>>, ProtocolError> {
        let n = self.correlation.n;
        let width = self.correlation.width;
        let y_words = bits::packed_len(n, width.bits());
        let theirs = MaskedOpening::decode_packed(self.peer(), incoming, y_words, n)?;
        let (mine_y, mine_f) = self.sent.split_at(y_words);
        let mine_y = bits::unpack(mine_y, width.bits(), n);
        let their_y = bits::unpack(theirs.y(), width.bits(), n);
        self.f = mine_f
            .iter()
            .zip(theirs.f())
            .map(|(a, b)| a.wrapping_add(*b))
            .collect();
        let (top, low) = (width.bits() - 1, width.mask() >> 1);
        let lanes = width.bits() as usize;
        let blocks = n.div_ceil(64);
        // Bit-sliced, block-major: word `block · w + i` holds bit i of the 64 elements of
        // the block, so that the tree's levels are word operations (see `open_level`).
        let mut g = Vec::with_capacity(blocks * lanes);
        let mut p = Vec::with_capacity(blocks * lanes);
        self.y_top = vec![0; blocks];
        self.r_top = vec![0; blocks];
        let (mut gb, mut pb) = ([0u64; 64], [0u64; 64]);
        for block in 0..blocks {
            gb.fill(0);
            // Elements past n: (g, p) = (0, 0), neutral to nothing that is read.
            pb.fill(0);
            for e in 0..64.min(n - block * 64) {
                let i = block * 64 + e;
                let y = mine_y[i].wrapping_add(their_y[i]) & width.mask();
                self.y_top[block] |= (y >> top) << e;
                self.r_top[block] |= ((self.correlation.r_bits[i] >> top) & 1) << e;
                // The top bit is padding: (g, p) = (0, 1) is neutral as the most
                // significant block.
                let not_y = (!y & low) | (1 << top);
                let r = self.correlation.r_bits[i] & low;
                gb[e] = r & not_y;
                pb[e] = if self.is_owner() { r ^ not_y } else { r };
            }
            bits::transpose64(&mut gb);
            bits::transpose64(&mut pb);
            g.extend_from_slice(&gb[..lanes]);
            p.extend_from_slice(&pb[..lanes]);
        }
        Ok(self.open_level(0, g, p))
    }

    /// Opens the ANDs of one tree level. `g`, `p` hold, per block of 64 elements, one
    /// word per bit position (L of them, L = w >> level); pair j combines positions 2j
    /// (lower) and 2j + 1 (upper): `G' = G_up ⊕ P_up ∧ G_lo`, `P' = P_up ∧ P_lo`. The
    /// two ANDs share `P_up`, which is opened once ([`bits::PairedTriples`]); pair 0's
    /// `P'` is never needed (only G reaches the carry), so it has no gate.
    fn open_level(&mut self, level: u32, g: Vec<u64>, p: Vec<u64>) -> Step<Vec<u64>> {
        let lanes = self.correlation.width.lane_width(level) as usize;
        let pairs = lanes / 2;
        let blocks = g.len() / lanes;
        let mut x = Vec::with_capacity(blocks * pairs);
        let mut y = Vec::with_capacity(blocks * bits::PairedTriples::gates(pairs));
        for (gs, ps) in g.chunks_exact(lanes).zip(p.chunks_exact(lanes)) {
            x.extend(ps.iter().skip(1).step_by(2));
            y.extend(gs.iter().step_by(2));
            y.extend(ps.iter().step_by(2).skip(1));
        }
        let triples = &self.correlation.levels[level as usize];
        self.sent = triples.open(&x, &y);
        self.stage = Stage::Carry { level, g };
        let round = 1 + level as u16;
        Step::Send(Outgoing::new(AndOpening::new(self.sent.clone()), round))
    }

    fn after_and(
        &mut self,
        level: u32,
        g: Vec<u64>,
        incoming: Vec<u64>,
    ) -> Result<Step<Vec<u64>>, ProtocolError> {
        let n = self.correlation.n;
        let theirs = AndOpening::decode(self.peer(), incoming, self.sent.len())?;
        let triples = &self.correlation.levels[level as usize];
        let z = triples.close(self.party, &self.sent, theirs.words())?;
        let lanes = self.correlation.width.lane_width(level) as usize;
        let pairs = lanes / 2;
        let gates = bits::PairedTriples::gates(pairs);
        let blocks = g.len() / lanes;
        let mut next_g = Vec::with_capacity(blocks * pairs);
        let mut next_p = Vec::with_capacity(blocks * pairs);
        for (gs, zs) in g.chunks_exact(lanes).zip(z.chunks_exact(gates)) {
            next_g.extend(
                gs.iter()
                    .skip(1)
                    .step_by(2)
                    .zip(zs)
                    .map(|(up, and)| up ^ and),
            );
            // Pair 0's P is never read.
            next_p.push(0);
            next_p.extend_from_slice(&zs[pairs..]);
        }
        if pairs > 1 {
            return Ok(self.open_level(level + 1, next_g, next_p));
        }
        // next_g now holds the carry [r' > y'] of each element: β = 1 ⊕ MSB_w(x), one
        // bit per element, as the selection bits c are packed.
        let owner = self.is_owner();
        self.sent = (0..blocks)
            .map(|b| {
                let public = if owner { !self.y_top[b] } else { 0 };
                let in_batch = match n - b * 64 {
                    64.. => u64::MAX,
                    k => (1u64 << k) - 1,
                };
                (next_g[b] ^ self.r_top[b] ^ public ^ self.correlation.c_bits[b]) & in_batch
            })
            .collect();
        self.stage = Stage::Select;
        let opening = SelectionOpening::new(self.sent.clone());
        let round = self.correlation.width.rounds() - 1;
        Ok(Step::Send(Outgoing::new(opening, round)))
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
    ideal_select_at(x, v, Width::FULL)
}

/// The cleartext twin at `width`: v where x mod 2^w, read as a signed w-bit value, is
/// ≥ 0 (the sign of x while |x| < 2^(w−1); outside that, the sign of the wrapped value).
pub fn ideal_select_at(x: &[u64], v: &[u64], width: Width) -> Vec<u64> {
    let top = width.bits() - 1;
    x.iter()
        .zip(v)
        .map(|(&x, &v)| if (x >> top) & 1 == 0 { v } else { 0 })
        .collect()
}

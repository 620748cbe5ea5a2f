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

use crate::bits::{self, compact_even, BitTriples};
use crate::error::{expect_len, ProtocolError};
use crate::msgs::{AndOpening, MaskedOpening, Message, Outgoing, SelectionOpening};
use crate::Step;
use cryptflow_ring::{Party, Prg};

/// Levels of the carry tree: 64 → 32 → … → 1 blocks.
const LEVELS: u32 = 6;
/// Rounds of one select: the masked opening, one per tree level, the selection.
pub const ROUNDS: u16 = LEVELS as u16 + 2;

/// The randomness of a batch is drawn and dealt this many elements at a time, so the
/// helper (which draws both shares to correct one) holds one chunk's worth, not a
/// whole layer's (a MobileNetV2 ReLU6 layer is 2.4M selects, ≈400 MB at once). A
/// multiple of 64, so that bit-packed fields of consecutive chunks concatenate.
pub(crate) const DEAL_CHUNK: usize = 1 << 16;

/// The sizes of the chunks of a batch of `n`.
fn chunks(n: usize) -> impl Iterator<Item = usize> {
    (0..n.div_ceil(DEAL_CHUNK)).map(move |i| DEAL_CHUNK.min(n - i * DEAL_CHUNK))
}
const LOW_63: u64 = (1 << 63) - 1;

/// Width in bits of one element's lane in the AND openings of `level`.
fn lane_width(level: u32) -> u32 {
    64 >> level
}

/// One party's share of the randomness the helper deals for a batch of `n` selections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReluCorrelation {
    n: usize,
    /// Additive share of the mask r.
    r: Vec<u64>,
    /// XOR share of the bits of r.
    r_bits: Vec<u64>,
    /// AND triples for each level of the carry tree.
    levels: Vec<BitTriples>,
    /// XOR share of the selection bit c, packed 64 elements per word.
    c_bits: Vec<u64>,
    /// Additive share of c.
    c_arith: Vec<u64>,
    /// Additive share of the selection mask a.
    a: Vec<u64>,
    /// Additive share of c·a.
    ca: Vec<u64>,
}

impl ReluCorrelation {
    /// The part a party draws from the seed it shares with the helper. For P0 this is
    /// its whole share; for P1 the corrected fields come from the helper's message.
    /// Drawn chunk after chunk (see [`DEAL_CHUNK`]), as the helper deals.
    pub fn draw(prg: &mut Prg, n: usize) -> ReluCorrelation {
        let mut whole = Self::with_capacity(n);
        for c in chunks(n) {
            whole.append(Self::draw_chunk(prg, c));
        }
        whole
    }

    /// No elements yet, with room for `n` (appending chunks never reallocates: a
    /// doubling vector would hold up to twice a layer's randomness at its peak).
    fn with_capacity(n: usize) -> ReluCorrelation {
        let words = |width| Vec::with_capacity(bits::packed_len(n, width));
        ReluCorrelation {
            n: 0,
            r: Vec::with_capacity(n),
            r_bits: Vec::with_capacity(n),
            levels: (0..LEVELS)
                .map(|l| BitTriples {
                    a: words(lane_width(l)),
                    b: words(lane_width(l)),
                    c: words(lane_width(l)),
                })
                .collect(),
            c_bits: words(1),
            c_arith: Vec::with_capacity(n),
            a: Vec::with_capacity(n),
            ca: Vec::with_capacity(n),
        }
    }

    fn draw_chunk(prg: &mut Prg, n: usize) -> ReluCorrelation {
        ReluCorrelation {
            n,
            r: prg.u64s(n),
            r_bits: prg.u64s(n),
            levels: (0..LEVELS)
                .map(|l| BitTriples::draw(prg, bits::packed_len(n, lane_width(l))))
                .collect(),
            c_bits: prg.u64s(bits::packed_len(n, 1)),
            c_arith: prg.u64s(n),
            a: prg.u64s(n),
            ca: prg.u64s(n),
        }
    }

    /// Appends the next chunk's elements (`self` ends on a multiple of 64 elements).
    fn append(&mut self, next: ReluCorrelation) {
        self.n += next.n;
        self.r.extend(next.r);
        self.r_bits.extend(next.r_bits);
        for (level, more) in self.levels.iter_mut().zip(next.levels) {
            level.a.extend(more.a);
            level.b.extend(more.b);
            level.c.extend(more.c);
        }
        self.c_bits.extend(next.c_bits);
        self.c_arith.extend(next.c_arith);
        self.a.extend(next.a);
        self.ca.extend(next.ca);
    }

    /// The helper: draws both shares and returns the client's corrections, one chunk
    /// at a time.
    pub fn deal(n: usize, owner_prg: &mut Prg, client_prg: &mut Prg) -> Vec<u64> {
        let mut message = Vec::with_capacity(Self::message_len(n));
        for c in chunks(n) {
            let owner = Self::draw_chunk(owner_prg, c);
            let mut client = Self::draw_chunk(client_prg, c);
            Self::correct_client(&owner, &mut client);
            message.extend(client.corrections());
        }
        message
    }

    /// Overwrites the client's consistency components so that the two shares are
    /// shares of one correlation. (Apart from `deal` so the tests can deal deliberately
    /// broken randomness through the same arithmetic.)
    fn correct_client(owner: &ReluCorrelation, client: &mut ReluCorrelation) {
        let n = owner.n;
        for i in 0..n {
            let r = owner.r[i].wrapping_add(client.r[i]);
            client.r_bits[i] = r ^ owner.r_bits[i];
            let c = ((owner.c_bits[i / 64] ^ client.c_bits[i / 64]) >> (i % 64)) & 1;
            client.c_arith[i] = c.wrapping_sub(owner.c_arith[i]);
            let a = owner.a[i].wrapping_add(client.a[i]);
            client.ca[i] = c.wrapping_mul(a).wrapping_sub(owner.ca[i]);
        }
        for (o, c) in owner.levels.iter().zip(client.levels.iter_mut()) {
            BitTriples::correct_client(o, c);
        }
    }

    /// The client: its seed-drawn part overwritten by the helper's corrections.
    pub fn for_client(
        n: usize,
        client_prg: &mut Prg,
        message: &[u64],
    ) -> Result<ReluCorrelation, ProtocolError> {
        expect_len(
            Party::Helper,
            "ReLU correlation",
            message,
            Self::message_len(n),
        )?;
        let mut whole = Self::with_capacity(n);
        let mut rest = message;
        for c in chunks(n) {
            let (mine, tail) = rest.split_at(Self::message_len(c));
            whole.append(Self::chunk_for_client(c, client_prg, mine));
            rest = tail;
        }
        Ok(whole)
    }

    /// One chunk of the client's share: drawn, then overwritten by its corrections
    /// (`message` has the chunk's length).
    fn chunk_for_client(n: usize, client_prg: &mut Prg, message: &[u64]) -> ReluCorrelation {
        let mut share = Self::draw_chunk(client_prg, n);
        let (r_bits, rest) = message.split_at(n);
        share.r_bits.copy_from_slice(r_bits);
        let mut rest = rest;
        for level in &mut share.levels {
            let (c, tail) = rest.split_at(level.c.len());
            level.c.copy_from_slice(c);
            rest = tail;
        }
        let (c_arith, ca) = rest.split_at(n);
        share.c_arith.copy_from_slice(c_arith);
        share.ca.copy_from_slice(ca);
        share
    }

    /// Length of the helper's message for a batch of `n` (chunks of a multiple of 64
    /// elements pack into exactly the words of the whole).
    pub fn message_len(n: usize) -> usize {
        3 * n
            + (0..LEVELS)
                .map(|l| bits::packed_len(n, lane_width(l)))
                .sum::<usize>()
    }

    fn corrections(&self) -> Vec<u64> {
        let mut m = Vec::with_capacity(Self::message_len(self.n));
        m.extend_from_slice(&self.r_bits);
        for level in &self.levels {
            m.extend_from_slice(&level.c);
        }
        m.extend_from_slice(&self.c_arith);
        m.extend_from_slice(&self.ca);
        m
    }
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

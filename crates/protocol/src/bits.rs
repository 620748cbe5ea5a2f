//! Boolean sharing (XOR) of bit vectors packed into words, and AND gates on shares with
//! Beaver triples dealt by the helper (Beaver, CRYPTO 1991, over GF(2)), in pairs that
//! share their first operand ([`PairedTriples`]).

use crate::error::{expect_len, ProtocolError};
use cryptflow_ring::{Party, Prg};

/// Packs `lanes` (each `width` bits, width a power of two ≤ 64) into words.
pub fn pack(lanes: &[u64], width: u32) -> Vec<u64> {
    let per_word = (64 / width) as usize;
    let mut words = vec![0u64; lanes.len().div_ceil(per_word)];
    for (i, &lane) in lanes.iter().enumerate() {
        words[i / per_word] |= lane << ((i % per_word) as u32 * width);
    }
    words
}

/// Inverse of [`pack`] for `n` lanes.
pub fn unpack(words: &[u64], width: u32, n: usize) -> Vec<u64> {
    let per_word = (64 / width) as usize;
    let mask = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    (0..n)
        .map(|i| (words[i / per_word] >> ((i % per_word) as u32 * width)) & mask)
        .collect()
}

/// Number of words that hold `n` lanes of `width` bits.
pub fn packed_len(n: usize, width: u32) -> usize {
    n.div_ceil((64 / width) as usize)
}

/// Transposes a 64×64 bit matrix in place: afterwards bit e of word i is what bit i of
/// word e was. The recursive block swap of Hacker's Delight (§7-3), bits LSB first:
/// the share-holders turn 64 elements' words into one word per bit position, so that
/// each AND level of the carry tree is word operations over 64 elements at once.
pub fn transpose64(m: &mut [u64; 64]) {
    let mut width = 32;
    let mut mask: u64 = 0x0000_0000_ffff_ffff;
    while width != 0 {
        for k in (0..64).filter(|k| k & width == 0) {
            let t = ((m[k] >> width) ^ m[k + width]) & mask;
            m[k] ^= t << width;
            m[k + width] ^= t;
        }
        width >>= 1;
        mask ^= mask << width;
    }
}

/// One party's share of AND triples in *pairs sharing their first operand*: for each
/// of `pairs` first operands x_j there are two ANDs, `x_j ∧ y_j` and `x_j ∧ y_{pairs+j−1}`,
/// except that pair 0 has only the first (the carry tree never needs the second). So
/// x_j is opened once for two gates: 3 openings per 2 ANDs instead of 4 (the triples
/// (a_j, b, c) share a_j, as in Beaver's pairs of products with a common factor).
/// Block-major: for each block of 64 elements, `pairs` words of a and
/// `2·pairs − 1` words of b and c; so blocks of consecutive chunks concatenate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairedTriples {
    pub a: Vec<u64>,
    pub b: Vec<u64>,
    pub c: Vec<u64>,
    pairs: usize,
}

impl PairedTriples {
    /// The ANDs per block of 64 elements.
    pub fn gates(pairs: usize) -> usize {
        (2 * pairs).saturating_sub(1)
    }

    /// Draws `blocks` blocks' worth from `prg` (the part both the helper and this party
    /// can compute from their common seed).
    pub fn draw(prg: &mut Prg, blocks: usize, pairs: usize) -> PairedTriples {
        let gates = Self::gates(pairs);
        PairedTriples {
            a: prg.u64s(blocks * pairs),
            b: prg.u64s(blocks * gates),
            c: prg.u64s(blocks * gates),
            pairs,
        }
    }

    /// No blocks yet, with room for `blocks`.
    pub fn with_capacity(blocks: usize, pairs: usize) -> PairedTriples {
        let gates = Self::gates(pairs);
        PairedTriples {
            a: Vec::with_capacity(blocks * pairs),
            b: Vec::with_capacity(blocks * gates),
            c: Vec::with_capacity(blocks * gates),
            pairs,
        }
    }

    pub fn append(&mut self, more: PairedTriples) {
        debug_assert_eq!(self.pairs, more.pairs);
        self.a.extend(more.a);
        self.b.extend(more.b);
        self.c.extend(more.c);
    }

    /// The pair (first operand) of gate `t` within a block.
    fn pair_of(&self, t: usize) -> usize {
        if t < self.pairs {
            t
        } else {
            t + 1 - self.pairs
        }
    }

    /// The helper's correction: the client's `c` so that the two shares multiply out.
    pub fn correct_client(owner: &PairedTriples, client: &mut PairedTriples) {
        let gates = Self::gates(owner.pairs);
        for (i, c) in client.c.iter_mut().enumerate() {
            let (block, t) = (i / gates, i % gates);
            let j = block * owner.pairs + owner.pair_of(t);
            let a = owner.a[j] ^ client.a[j];
            let b = owner.b[i] ^ client.b[i];
            *c = (a & b) ^ owner.c[i];
        }
    }

    /// Masks this party's shares of the operands (`x`: the block-major first operands,
    /// `y`: the second ones): the message to the other share-holder is `x ⊕ a ‖ y ⊕ b`.
    pub fn open(&self, x: &[u64], y: &[u64]) -> Vec<u64> {
        let mut message = Vec::with_capacity(x.len() + y.len());
        message.extend(x.iter().zip(&self.a).map(|(x, a)| x ^ a));
        message.extend(y.iter().zip(&self.b).map(|(y, b)| y ^ b));
        message
    }

    /// Completes the ANDs from both openings: this party's share of every gate, block
    /// by block in the order of `y`.
    pub fn close(
        &self,
        party: Party,
        mine: &[u64],
        theirs: &[u64],
    ) -> Result<Vec<u64>, ProtocolError> {
        let peer = party.share_peer().unwrap_or(party);
        expect_len(peer, "AND opening", theirs, mine.len())?;
        let (xs, gates) = (self.a.len(), Self::gates(self.pairs));
        let owner = party == Party::ModelOwner;
        Ok((0..self.b.len())
            .map(|i| {
                let j = (i / gates) * self.pairs + self.pair_of(i % gates);
                let d = mine[j] ^ theirs[j];
                let e = mine[xs + i] ^ theirs[xs + i];
                let public_term = if owner { d & e } else { 0 };
                self.c[i] ^ (d & self.b[i]) ^ (e & self.a[j]) ^ public_term
            })
            .collect())
    }
}

#[cfg(test)]
mod privacy;

#[cfg(test)]
mod tests {
    use super::*;
    use cryptflow_ring::Seed;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pack_unpack_roundtrip(values in proptest::collection::vec(any::<u64>(), 0..40), width_log in 0u32..7) {
            let width = 1u32 << width_log;
            let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
            let lanes: Vec<u64> = values.iter().map(|v| v & mask).collect();
            let packed = pack(&lanes, width);
            prop_assert_eq!(packed.len(), packed_len(lanes.len(), width));
            prop_assert_eq!(unpack(&packed, width, lanes.len()), lanes);
        }
    }

    #[test]
    fn transpose64_swaps_rows_and_columns() {
        let mut m = [0u64; 64];
        let original: Vec<u64> = Prg::new(Seed::from_u64(8)).u64s(64);
        m.copy_from_slice(&original);
        transpose64(&mut m);
        for (i, row) in m.iter().enumerate() {
            for (e, word) in original.iter().enumerate() {
                assert_eq!((row >> e) & 1, (word >> i) & 1, "bit {i} of word {e}");
            }
        }
        transpose64(&mut m);
        assert_eq!(m.to_vec(), original);
    }

    #[test]
    fn paired_and_gates_on_shares_match_cleartext_ands() {
        // Two blocks of 3 pairs: gates x0∧y0, x1∧y1, x2∧y2, x1∧y3, x2∧y4 per block.
        let (blocks, pairs) = (2, 3);
        let gates = PairedTriples::gates(pairs);
        assert_eq!(gates, 5);
        let mut data = Prg::new(Seed::from_u64(1));
        let (x, y) = (data.u64s(blocks * pairs), data.u64s(blocks * gates));
        let (x0, y0) = (data.u64s(x.len()), data.u64s(y.len()));
        let x1: Vec<u64> = x.iter().zip(&x0).map(|(a, b)| a ^ b).collect();
        let y1: Vec<u64> = y.iter().zip(&y0).map(|(a, b)| a ^ b).collect();
        let t0 = PairedTriples::draw(&mut Prg::new(Seed::from_u64(2)), blocks, pairs);
        let mut t1 = PairedTriples::draw(&mut Prg::new(Seed::from_u64(3)), blocks, pairs);
        PairedTriples::correct_client(&t0, &mut t1);
        let (m0, m1) = (t0.open(&x0, &y0), t1.open(&x1, &y1));
        assert_eq!(m0.len(), blocks * (pairs + gates));
        let z0 = t0.close(Party::ModelOwner, &m0, &m1).expect("well-formed");
        let z1 = t1.close(Party::Client, &m1, &m0).expect("well-formed");
        for block in 0..blocks {
            let first = [0, 1, 2, 1, 2];
            for (t, j) in first.iter().enumerate() {
                let i = block * gates + t;
                assert_eq!(
                    z0[i] ^ z1[i],
                    x[block * pairs + j] & y[i],
                    "block {block} gate {t}"
                );
            }
        }
        let err = t0.close(Party::ModelOwner, &m0, &m1[1..]).unwrap_err();
        assert!(matches!(err, ProtocolError::MalformedMessage { .. }));
    }
}

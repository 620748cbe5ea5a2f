//! The randomness the helper deals for a batch of selections (see the parent
//! module), drawn and dealt chunk after chunk.

use super::Width;
use crate::bits::{self, PairedTriples};
use crate::error::{expect_len, ProtocolError};
use cryptflow_ring::{Party, Prg};

/// The randomness of a batch is drawn and dealt this many elements at a time, so the
/// helper (which draws both shares to correct one) holds one chunk's worth, not a
/// whole layer's (a MobileNetV2 ReLU6 layer is 2.4M selects, ≈400 MB at once). A
/// multiple of 64, so that bit-packed fields of consecutive chunks concatenate.
pub(crate) const DEAL_CHUNK: usize = 1 << 16;

/// The sizes of the chunks of `chunk` elements (a multiple of 64) of a batch of `n`.
pub(super) fn chunks(n: usize, chunk: usize) -> impl Iterator<Item = usize> {
    debug_assert!(chunk > 0 && chunk.is_multiple_of(64));
    (0..n.div_ceil(chunk)).map(move |i| chunk.min(n - i * chunk))
}
/// One party's share of the randomness the helper deals for a batch of `n` selections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReluCorrelation {
    pub(super) n: usize,
    /// The bits the comparison runs on.
    pub(super) width: Width,
    /// Additive share of the mask r (mod 2^w: the bits above are ignored).
    pub(super) r: Vec<u64>,
    /// XOR share of the w bits of r (zero above).
    pub(super) r_bits: Vec<u64>,
    /// AND triples for each level of the carry tree, in pairs sharing an operand.
    pub(super) levels: Vec<PairedTriples>,
    /// XOR share of the selection bit c, packed 64 elements per word.
    pub(super) c_bits: Vec<u64>,
    /// Additive share of c.
    pub(super) c_arith: Vec<u64>,
    /// Additive share of the selection mask a.
    pub(super) a: Vec<u64>,
    /// Additive share of c·a.
    pub(super) ca: Vec<u64>,
}

impl ReluCorrelation {
    /// The bits its comparisons run on.
    pub fn width(&self) -> Width {
        self.width
    }

    /// The part a party draws from the seed it shares with the helper. For P0 this is
    /// its whole share; for P1 the corrected fields come from the helper's message.
    /// Drawn chunk after chunk (see [`DEAL_CHUNK`]), as the helper deals.
    pub fn draw(prg: &mut Prg, n: usize, width: Width) -> ReluCorrelation {
        Self::draw_in_chunks(prg, n, width, DEAL_CHUNK)
    }

    /// As [`draw`](Self::draw), in chunks of `chunk` (the tests use small ones).
    pub(super) fn draw_in_chunks(
        prg: &mut Prg,
        n: usize,
        width: Width,
        chunk: usize,
    ) -> ReluCorrelation {
        let mut whole = Self::with_capacity(n, width);
        for c in chunks(n, chunk) {
            whole.append(Self::draw_chunk(prg, c, width));
        }
        whole
    }

    /// No elements yet, with room for `n` (appending chunks never reallocates: a
    /// doubling vector would hold up to twice a layer's randomness at its peak).
    pub(super) fn with_capacity(n: usize, width: Width) -> ReluCorrelation {
        let words = |lane| Vec::with_capacity(bits::packed_len(n, lane));
        ReluCorrelation {
            n: 0,
            width,
            r: Vec::with_capacity(n),
            r_bits: Vec::with_capacity(n),
            levels: (0..width.levels())
                .map(|l| PairedTriples::with_capacity(n.div_ceil(64), width.pairs(l)))
                .collect(),
            c_bits: words(1),
            c_arith: Vec::with_capacity(n),
            a: Vec::with_capacity(n),
            ca: Vec::with_capacity(n),
        }
    }

    pub(super) fn draw_chunk(prg: &mut Prg, n: usize, width: Width) -> ReluCorrelation {
        let r = prg.u64s(n);
        let mut r_bits = prg.u64s(n);
        r_bits.iter_mut().for_each(|b| *b &= width.mask());
        ReluCorrelation {
            n,
            width,
            r,
            r_bits,
            levels: (0..width.levels())
                .map(|l| PairedTriples::draw(prg, n.div_ceil(64), width.pairs(l)))
                .collect(),
            c_bits: prg.u64s(bits::packed_len(n, 1)),
            c_arith: prg.u64s(n),
            a: prg.u64s(n),
            ca: prg.u64s(n),
        }
    }

    /// Appends the next chunk's elements (`self` ends on a multiple of 64 elements).
    pub(super) fn append(&mut self, next: ReluCorrelation) {
        debug_assert_eq!(self.width, next.width, "chunks of one batch share a width");
        self.n += next.n;
        self.r.extend(next.r);
        self.r_bits.extend(next.r_bits);
        for (level, more) in self.levels.iter_mut().zip(next.levels) {
            level.append(more);
        }
        self.c_bits.extend(next.c_bits);
        self.c_arith.extend(next.c_arith);
        self.a.extend(next.a);
        self.ca.extend(next.ca);
    }

    /// The helper: draws both shares and returns the client's corrections, one chunk
    /// at a time.
    pub fn deal(n: usize, width: Width, owner_prg: &mut Prg, client_prg: &mut Prg) -> Vec<u64> {
        Self::deal_in_chunks(n, width, DEAL_CHUNK, owner_prg, client_prg)
    }

    /// As [`deal`](Self::deal), in chunks of `chunk`.
    pub(super) fn deal_in_chunks(
        n: usize,
        width: Width,
        chunk: usize,
        owner_prg: &mut Prg,
        client_prg: &mut Prg,
    ) -> Vec<u64> {
        let mut message = Vec::with_capacity(Self::message_len(n, width));
        for c in chunks(n, chunk) {
            let owner = Self::draw_chunk(owner_prg, c, width);
            let mut client = Self::draw_chunk(client_prg, c, width);
            Self::correct_client(&owner, &mut client);
            message.extend(client.corrections());
        }
        message
    }

    /// Overwrites the client's consistency components so that the two shares are
    /// shares of one correlation. (Apart from `deal` so the tests can deal deliberately
    /// broken randomness through the same arithmetic.)
    pub(super) fn correct_client(owner: &ReluCorrelation, client: &mut ReluCorrelation) {
        let n = owner.n;
        let mask = owner.width.mask();
        for i in 0..n {
            let r = owner.r[i].wrapping_add(client.r[i]) & mask;
            client.r_bits[i] = (r ^ owner.r_bits[i]) & mask;
            let c = ((owner.c_bits[i / 64] ^ client.c_bits[i / 64]) >> (i % 64)) & 1;
            client.c_arith[i] = c.wrapping_sub(owner.c_arith[i]);
            let a = owner.a[i].wrapping_add(client.a[i]);
            client.ca[i] = c.wrapping_mul(a).wrapping_sub(owner.ca[i]);
        }
        for (o, c) in owner.levels.iter().zip(client.levels.iter_mut()) {
            PairedTriples::correct_client(o, c);
        }
    }

    /// The client: its seed-drawn part overwritten by the helper's corrections.
    pub fn for_client(
        n: usize,
        width: Width,
        client_prg: &mut Prg,
        message: &[u64],
    ) -> Result<ReluCorrelation, ProtocolError> {
        Self::for_client_in_chunks(n, width, DEAL_CHUNK, client_prg, message)
    }

    /// As [`for_client`](Self::for_client), in chunks of `chunk`.
    pub(super) fn for_client_in_chunks(
        n: usize,
        width: Width,
        chunk: usize,
        client_prg: &mut Prg,
        message: &[u64],
    ) -> Result<ReluCorrelation, ProtocolError> {
        expect_len(
            Party::Helper,
            "ReLU correlation",
            message,
            Self::message_len(n, width),
        )?;
        let mut whole = Self::with_capacity(n, width);
        let mut rest = message;
        for c in chunks(n, chunk) {
            let (mine, tail) = rest.split_at(Self::message_len(c, width));
            whole.append(Self::chunk_for_client(c, width, client_prg, mine));
            rest = tail;
        }
        Ok(whole)
    }

    /// One chunk of the client's share: drawn, then overwritten by its corrections
    /// (`message` has the chunk's length).
    fn chunk_for_client(
        n: usize,
        width: Width,
        client_prg: &mut Prg,
        message: &[u64],
    ) -> ReluCorrelation {
        let mut share = Self::draw_chunk(client_prg, n, width);
        let (r_bits, rest) = message.split_at(bits::packed_len(n, width.bits()));
        share.r_bits = bits::unpack(r_bits, width.bits(), n);
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
    pub fn message_len(n: usize, width: Width) -> usize {
        2 * n
            + bits::packed_len(n, width.bits())
            + (0..width.levels())
                .map(|l| n.div_ceil(64) * PairedTriples::gates(width.pairs(l)))
                .sum::<usize>()
    }

    pub(super) fn corrections(&self) -> Vec<u64> {
        let mut m = Vec::with_capacity(Self::message_len(self.n, self.width));
        m.extend(bits::pack(&self.r_bits, self.width.bits()));
        for level in &self.levels {
            m.extend_from_slice(&level.c);
        }
        m.extend_from_slice(&self.c_arith);
        m.extend_from_slice(&self.ca);
        m
    }
}

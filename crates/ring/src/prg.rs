//! The pseudo-random generator: AES-128 in counter mode, from the audited `aes`/`ctr`
//! crates (AES-NI is used when the CPU has it). Every random value in the protocols comes
//! from a `Prg` that the caller passes in, so runs are reproducible from their seeds.

use aes::Aes128;
use ctr::cipher::{KeyIvInit, StreamCipher};
use serde::{Deserialize, Serialize};
use std::fmt;

type Aes128Ctr = ctr::Ctr128LE<Aes128>;

/// A 128-bit PRG seed (the AES key).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seed(pub [u8; 16]);

impl Seed {
    /// A fresh seed from the operating system's random source.
    pub fn random() -> Result<Seed, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes)?;
        Ok(Seed(bytes))
    }

    /// A seed for tests and examples, derived from a small number.
    pub fn from_u64(n: u64) -> Seed {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        Seed(bytes)
    }
}

impl fmt::Debug for Seed {
    // Never print key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(..)")
    }
}

/// AES-128-CTR keystream generator.
pub struct Prg {
    cipher: Aes128Ctr,
}

impl fmt::Debug for Prg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Prg(..)")
    }
}

impl Prg {
    pub fn new(seed: Seed) -> Prg {
        Prg::with_stream(seed, 0)
    }

    /// An independent stream under the same key: the counter starts at `stream · 2^64`,
    /// so streams never overlap (no stream can use 2^64 blocks).
    pub fn with_stream(seed: Seed, stream: u64) -> Prg {
        let mut counter = [0u8; 16];
        counter[8..].copy_from_slice(&stream.to_le_bytes());
        Prg {
            cipher: Aes128Ctr::new(&seed.0.into(), &counter.into()),
        }
    }

    /// Fills `out` with uniform bytes.
    pub fn fill_bytes(&mut self, out: &mut [u8]) {
        out.fill(0);
        self.cipher.apply_keystream(out);
    }

    /// Fills `out` with uniform ring elements.
    pub fn fill_u64(&mut self, out: &mut [u64]) {
        const CHUNK: usize = 512;
        let mut buf = [0u8; CHUNK * 8];
        for block in out.chunks_mut(CHUNK) {
            let bytes = &mut buf[..block.len() * 8];
            self.fill_bytes(bytes);
            for (word, b) in block.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut le = [0u8; 8];
                le.copy_from_slice(b);
                *word = u64::from_le_bytes(le);
            }
        }
    }

    /// `n` uniform ring elements.
    pub fn u64s(&mut self, n: usize) -> Vec<u64> {
        let mut v = vec![0u64; n];
        self.fill_u64(&mut v);
        v
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut v = [0u64; 1];
        self.fill_u64(&mut v);
        v[0]
    }

    /// A fresh seed for a child generator.
    pub fn seed(&mut self) -> Seed {
        let mut bytes = [0u8; 16];
        self.fill_bytes(&mut bytes);
        Seed(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let a = Prg::new(Seed::from_u64(1)).u64s(64);
        let b = Prg::new(Seed::from_u64(1)).u64s(64);
        let c = Prg::new(Seed::from_u64(2)).u64s(64);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn streams_are_independent() {
        let seed = Seed::from_u64(5);
        let a = Prg::with_stream(seed, 1).u64s(8);
        let b = Prg::with_stream(seed, 2).u64s(8);
        assert_ne!(a, b);
        assert_eq!(Prg::with_stream(seed, 0).u64s(8), Prg::new(seed).u64s(8));
    }

    #[test]
    fn stream_continues_across_calls() {
        let whole = Prg::new(Seed::from_u64(7)).u64s(1000);
        let mut prg = Prg::new(Seed::from_u64(7));
        let mut parts = prg.u64s(300);
        parts.extend(prg.u64s(700));
        assert_eq!(whole, parts);
    }

    #[test]
    fn bits_are_balanced() {
        let words = Prg::new(Seed::from_u64(3)).u64s(4096);
        let ones: u32 = words.iter().map(|w| w.count_ones()).sum();
        let total = 4096.0 * 64.0;
        // 5 standard deviations of a binomial(total, 1/2).
        let sigma = (total / 4.0f64).sqrt();
        assert!((f64::from(ones) - total / 2.0).abs() < 5.0 * sigma);
    }

    #[test]
    fn matches_aes_ctr_test_vector() {
        // NIST SP 800-38A F.5.1 key with a zero counter block: the first keystream block
        // is AES_K(0^128).
        let key = [
            0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
            0x4f, 0x3c,
        ];
        let mut out = [0u8; 16];
        Prg::new(Seed(key)).fill_bytes(&mut out);
        use aes::cipher::{BlockEncrypt, KeyInit};
        let mut block = [0u8; 16].into();
        Aes128::new(&key.into()).encrypt_block(&mut block);
        assert_eq!(out, <[u8; 16]>::from(block));
    }
}

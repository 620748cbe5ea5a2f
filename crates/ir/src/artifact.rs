//! The compiled-model file (`.cfp`): a program and its weights, so that a model is
//! compiled once and run many times.
//!
//! Layout (little endian): magic `CFPROG\0\0`, format version (u32), program length
//! (u64) and the program in postcard, weight count (u64), then per weight its rank (u32),
//! dims (u64 each) and elements (u64 each), and last the 32-byte BLAKE3 hash of
//! everything before it. Weights are written raw rather than through serde because they
//! dominate the file and raw words load at memory speed. The hash makes any corruption
//! (one flipped bit in a weight would otherwise load and run, silently wrong) an error.

use crate::{Program, Weights};
use cryptflow_ring::Tensor;
use std::io::{self, Write};
use thiserror::Error;

pub const MAGIC: &[u8; 8] = b"CFPROG\0\0";
/// 2: BLAKE3 trailer; average pooling divides locally (no reciprocal).
pub const FORMAT_VERSION: u32 = 2;

const CHECKSUM_BYTES: usize = 32;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ArtifactError {
    #[error("not a compiled cryptflow model (no CFPROG header); compile one with `cryptflow compile MODEL.onnx -o MODEL.cfp`")]
    NotAnArtifact,
    #[error("compiled with format version {found}, this cryptflow reads version {FORMAT_VERSION}: compile the model again")]
    Version { found: u32 },
    #[error("the file is truncated or corrupt ({0}); compile the model again")]
    Corrupt(String),
    #[error("cannot write the compiled model: {0}")]
    Io(#[from] io::Error),
}

pub fn write(
    out: &mut impl Write,
    program: &Program,
    weights: &Weights,
) -> Result<(), ArtifactError> {
    let encoded =
        postcard::to_stdvec(program).map_err(|e| ArtifactError::Corrupt(e.to_string()))?;
    let mut out = Hashing {
        inner: out,
        hasher: blake3::Hasher::new(),
    };
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    out.write_all(&(encoded.len() as u64).to_le_bytes())?;
    out.write_all(&encoded)?;
    out.write_all(&(weights.tensors.len() as u64).to_le_bytes())?;
    for tensor in &weights.tensors {
        out.write_all(&(tensor.shape().len() as u32).to_le_bytes())?;
        for &d in tensor.shape() {
            out.write_all(&(d as u64).to_le_bytes())?;
        }
        let mut bytes = Vec::with_capacity(tensor.len() * 8);
        for &v in tensor.data() {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        out.write_all(&bytes)?;
    }
    let checksum = out.hasher.finalize();
    out.inner.write_all(checksum.as_bytes())?;
    Ok(())
}

/// Writes through to `inner` and hashes what passes.
struct Hashing<'a, W> {
    inner: &'a mut W,
    hasher: blake3::Hasher,
}

impl<W: Write> Write for Hashing<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads and checks a compiled model.
pub fn read(bytes: &[u8]) -> Result<(Program, Weights), ArtifactError> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(8).ok() != Some(MAGIC.as_slice()) {
        return Err(ArtifactError::NotAnArtifact);
    }
    let version = r.u32()?;
    if version != FORMAT_VERSION {
        return Err(ArtifactError::Version { found: version });
    }
    // Nothing after the header is trusted before the hash matches.
    let body_end = bytes
        .len()
        .checked_sub(CHECKSUM_BYTES)
        .filter(|&end| end >= r.at)
        .ok_or_else(|| ArtifactError::Corrupt("the checksum is missing".into()))?;
    if blake3::hash(&bytes[..body_end]).as_bytes() != &bytes[body_end..] {
        return Err(ArtifactError::Corrupt(
            "its checksum does not match: the file was changed or damaged".into(),
        ));
    }
    r.bytes = &bytes[..body_end];
    let len = r.len()?;
    let program: Program =
        postcard::from_bytes(r.take(len)?).map_err(|e| ArtifactError::Corrupt(e.to_string()))?;
    let count = r.len()?;
    let mut tensors = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let rank = r.u32()? as usize;
        let dims = (0..rank).map(|_| r.len()).collect::<Result<Vec<_>, _>>()?;
        let n = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| ArtifactError::Corrupt("weight size overflows".into()))?;
        let raw = r.take(
            n.checked_mul(8)
                .ok_or_else(|| ArtifactError::Corrupt("weight size overflows".into()))?,
        )?;
        let data = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        tensors.push(Tensor::new(dims, data).map_err(|e| ArtifactError::Corrupt(e.to_string()))?);
    }
    if r.at != r.bytes.len() {
        return Err(ArtifactError::Corrupt(format!(
            "{} unexpected bytes after the weights",
            r.bytes.len() - r.at
        )));
    }
    let weights = Weights { tensors };
    program
        .validate()
        .map_err(|e| ArtifactError::Corrupt(e.to_string()))?;
    if !program.matches(&weights) {
        return Err(ArtifactError::Corrupt(
            "the weights do not match the program".into(),
        ));
    }
    Ok((program, weights))
}

/// Whether `bytes` start like a compiled model.
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ArtifactError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                ArtifactError::Corrupt(format!("{n} bytes missing at offset {}", self.at))
            })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, ArtifactError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len(&mut self) -> Result<usize, ArtifactError> {
        let b = self.take(8)?;
        let mut le = [0u8; 8];
        le.copy_from_slice(b);
        usize::try_from(u64::from_le_bytes(le))
            .map_err(|_| ArtifactError::Corrupt("length does not fit".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Instruction, Kernel};
    use cryptflow_ring::Scale;

    fn sample() -> (Program, Weights) {
        let program = Program {
            scale: Scale::new(12).expect("valid"),
            softmax: Some(1),
            slot_shapes: vec![vec![1, 3], vec![1, 3]],
            input: 0,
            output: 1,
            weight_shapes: vec![vec![1, 3]],
            instructions: vec![Instruction {
                kernel: Kernel::AddConstant { weight: 0 },
                inputs: vec![0],
                output: 1,
                free: vec![0],
                source: "add".into(),
            }],
        };
        let weights = Weights {
            tensors: vec![Tensor::new(vec![1, 3], vec![1, u64::MAX, 7]).expect("sized")],
        };
        (program, weights)
    }

    #[test]
    fn roundtrip() {
        let (p, w) = sample();
        let mut bytes = Vec::new();
        write(&mut bytes, &p, &w).expect("writes");
        assert!(is_artifact(&bytes));
        let (p2, w2) = read(&bytes).expect("reads");
        assert_eq!((p2, w2), (p, w));
    }

    #[test]
    fn truncation_and_foreign_files_are_errors() {
        let (p, w) = sample();
        let mut bytes = Vec::new();
        write(&mut bytes, &p, &w).expect("writes");
        for cut in 0..bytes.len() {
            assert!(read(&bytes[..cut]).is_err(), "prefix {cut} accepted");
        }
        assert!(matches!(
            read(b"\x08\x01garbage"),
            Err(ArtifactError::NotAnArtifact)
        ));
        let mut newer = bytes.clone();
        newer[8] = 9;
        assert!(matches!(
            read(&newer),
            Err(ArtifactError::Version { found: 9 })
        ));
    }

    #[test]
    fn any_flipped_bit_is_caught_by_the_checksum() {
        let (p, w) = sample();
        let mut bytes = Vec::new();
        write(&mut bytes, &p, &w).expect("writes");
        // Past the magic and version, every bit matters: a flip in a weight (which would
        // otherwise parse and run), in the program or in the checksum itself.
        for byte in 12..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[byte] ^= 1 << bit;
                match read(&flipped) {
                    Err(ArtifactError::Corrupt(reason)) => {
                        assert!(reason.contains("checksum"), "byte {byte}: {reason}")
                    }
                    other => panic!("byte {byte} bit {bit}: {other:?}"),
                }
            }
        }
        let message = read(&{
            let mut b = bytes.clone();
            let last_weight = bytes.len() - CHECKSUM_BYTES - 1;
            b[last_weight] ^= 1;
            b
        })
        .unwrap_err()
        .to_string();
        assert!(message.contains("compile the model again"), "{message}");
    }

    #[test]
    fn trailing_bytes_inside_the_hash_are_refused() {
        let (p, w) = sample();
        let mut bytes = Vec::new();
        write(&mut bytes, &p, &w).expect("writes");
        // Append a byte to the body and re-hash: the hash matches, the layout does not.
        bytes.truncate(bytes.len() - CHECKSUM_BYTES);
        bytes.push(0);
        let hash = blake3::hash(&bytes);
        bytes.extend_from_slice(hash.as_bytes());
        let err = read(&bytes).unwrap_err().to_string();
        assert!(err.contains("unexpected bytes"), "{err}");
    }
}

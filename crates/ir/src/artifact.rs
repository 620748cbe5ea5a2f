//! The compiled-model file (`.cfp`): a program and its weights, so that a model is
//! compiled once and run many times.
//!
//! Layout (little endian): magic `CFPROG\0\0`, format version (u32), program length
//! (u64) and the program in postcard, weight count (u64), then per weight its rank (u32),
//! dims (u64 each) and elements (u64 each). Weights are written raw rather than through
//! serde because they dominate the file and raw words load at memory speed.

use crate::{Program, Weights};
use cryptflow_ring::Tensor;
use std::io::{self, Write};
use thiserror::Error;

pub const MAGIC: &[u8; 8] = b"CFPROG\0\0";
pub const FORMAT_VERSION: u32 = 1;

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
    Ok(())
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
}

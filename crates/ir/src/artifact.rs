//! The compiled-model file (`.cfp`): a program and its weights, so that a model is
//! compiled once and run many times.
//!
//! Layout (little endian):
//!
//! ```text
//! header:  magic `CFPROG\0\0` | format version (u32) | program length (u64) | program (postcard)
//!          | weight count (u64) | per weight: rank (u32), dims (u64 each), BLAKE3 of its elements (32 B)
//!          | BLAKE3 of all of the header before it (32 B)
//! weights: each weight's elements (u64 each), in order, and nothing after
//! ```
//!
//! Weights are written raw rather than through serde because they dominate the file
//! and raw words load at memory speed. The header comes first, with a hash per weight,
//! so that a model owner can read the small header, then each weight when the program
//! uses it ([`ModelFile`]), checking that weight's hash at every read: a model owner
//! under a memory budget never holds the whole model, and a flipped bit anywhere (a
//! weight would otherwise load and run, silently wrong) is an error, even in a file
//! changed after it was opened.

mod file;
mod header;
#[cfg(test)]
mod tests;

pub use file::ModelFile;

use crate::{Program, WeightId, Weights};
use cryptflow_ring::Tensor;
use header::Header;
use std::io::{self, Write};
use thiserror::Error;

pub const MAGIC: &[u8; 8] = b"CFPROG\0\0";
/// 2: BLAKE3 trailer; average pooling divides locally (no reciprocal).
/// 3: the header (with a hash per weight) before the weights, for reading per weight.
pub const FORMAT_VERSION: u32 = 4;

const HASH_BYTES: usize = 32;

/// Weights are hashed, encoded and copied this many words at a time, so that no
/// step holds a second copy of a whole weight.
const BLOCK_WORDS: usize = 1 << 13;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ArtifactError {
    #[error("not a compiled cryptflow model (no CFPROG header); compile one with `cryptflow compile MODEL.onnx -o MODEL.cfp`")]
    NotAnArtifact,
    #[error("compiled with format version {found}, this cryptflow reads version {FORMAT_VERSION}: compile the model again")]
    Version { found: u32 },
    #[error("the file is truncated or corrupt ({0}); compile the model again")]
    Corrupt(String),
    #[error("weight {0} of the compiled model changed after it was opened (its checksum does not match): the file was replaced or damaged while running")]
    Changed(WeightId),
    #[error("the model has no weight {0}")]
    NoSuchWeight(WeightId),
    #[error("cannot read the compiled model: {0}")]
    Read(io::Error),
    #[error("cannot write the compiled model: {0}")]
    Write(io::Error),
}

/// Writes `program` and its `weights` as a compiled model.
pub fn write(
    out: &mut impl Write,
    program: &Program,
    weights: &Weights,
) -> Result<(), ArtifactError> {
    if !program.matches(weights) {
        return Err(ArtifactError::Corrupt(
            "the weights do not match the program".into(),
        ));
    }
    let hashes = weights.tensors.iter().map(|t| hash_words(t.data()));
    header::write(out, program, hashes).map_err(ArtifactError::Write)?;
    for tensor in &weights.tensors {
        for_each_le_block(tensor.data(), |bytes| out.write_all(bytes))
            .map_err(ArtifactError::Write)?;
    }
    Ok(())
}

/// Reads and checks a whole compiled model held in memory.
pub fn read(bytes: &[u8]) -> Result<(Program, Weights), ArtifactError> {
    let Header { program, entries } = header::read(&mut &bytes[..], bytes.len() as u64)?;
    let mut tensors = Vec::with_capacity(entries.len());
    for (id, entry) in entries.into_iter().enumerate() {
        // The header checked that the offsets lie inside the file.
        let raw = usize::try_from(entry.offset)
            .ok()
            .and_then(|start| bytes.get(start..start.checked_add(entry.byte_len())?))
            .ok_or_else(|| ArtifactError::Corrupt(format!("weight {id} lies outside the file")))?;
        if blake3::hash(raw).as_bytes() != &entry.hash {
            return Err(weight_checksum_mismatch(id));
        }
        let data = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        tensors.push(
            Tensor::new(entry.shape, data).map_err(|e| ArtifactError::Corrupt(e.to_string()))?,
        );
    }
    Ok((program, Weights { tensors }))
}

/// Whether `bytes` start like a compiled model.
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// A read that ends early found a truncated file; any other failure is the system's.
fn read_error_of(e: io::Error) -> ArtifactError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ArtifactError::Corrupt("the file ends early".into())
    } else {
        ArtifactError::Read(e)
    }
}

fn weight_checksum_mismatch(id: WeightId) -> ArtifactError {
    ArtifactError::Corrupt(format!(
        "the checksum of weight {id} does not match: the file was changed or damaged"
    ))
}

/// BLAKE3 of `words` as they are stored (little endian).
fn hash_words(words: &[u64]) -> [u8; HASH_BYTES] {
    let mut hasher = blake3::Hasher::new();
    // Writing to a hasher cannot fail.
    let _ = for_each_le_block(words, |bytes| {
        hasher.update(bytes);
        Ok(())
    });
    *hasher.finalize().as_bytes()
}

/// Calls `f` with `words` as little-endian bytes, [`BLOCK_WORDS`] at a time.
fn for_each_le_block(words: &[u64], mut f: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut buffer = Vec::with_capacity(BLOCK_WORDS.min(words.len()) * 8);
    for block in words.chunks(BLOCK_WORDS) {
        buffer.clear();
        for &w in block {
            buffer.extend_from_slice(&w.to_le_bytes());
        }
        f(&buffer)?;
    }
    Ok(())
}

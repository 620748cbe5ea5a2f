//! The compiled model's header: the program and each weight's shape and hash, hashed
//! as a whole. Read through [`Limited`], so that no length in an unchecked header
//! makes us allocate more than the file holds.

use super::{ArtifactError, FORMAT_VERSION, HASH_BYTES, MAGIC};
use crate::Program;
use std::io::{self, Read, Write};

/// A weight as the header describes it.
#[derive(Debug)]
pub(super) struct Entry {
    pub shape: Vec<usize>,
    /// Elements.
    pub len: usize,
    /// Where its elements start in the file.
    pub offset: u64,
    pub hash: [u8; HASH_BYTES],
}

impl Entry {
    /// Its elements' size in the file (checked against the file's size when read).
    pub fn byte_len(&self) -> usize {
        self.len * 8
    }
}

/// What the header says, checked: the hash matches, the program is valid, the
/// weights have the program's shapes and exactly fill the rest of the file.
#[derive(Debug)]
pub(super) struct Header {
    pub program: Program,
    pub entries: Vec<Entry>,
}

/// Writes the header of `program`, whose weights hash to `hashes`.
pub(super) fn write(
    out: &mut impl Write,
    program: &Program,
    hashes: impl Iterator<Item = [u8; HASH_BYTES]>,
) -> io::Result<()> {
    let encoded = postcard::to_stdvec(program).map_err(io::Error::other)?;
    let shapes = &program.weight_shapes;
    let mut header = Vec::with_capacity(encoded.len() + 64 * shapes.len() + 64);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&(encoded.len() as u64).to_le_bytes());
    header.extend_from_slice(&encoded);
    header.extend_from_slice(&(shapes.len() as u64).to_le_bytes());
    for (shape, hash) in shapes.iter().zip(hashes) {
        header.extend_from_slice(&(shape.len() as u32).to_le_bytes());
        for &d in shape {
            header.extend_from_slice(&(d as u64).to_le_bytes());
        }
        header.extend_from_slice(&hash);
    }
    let hash = blake3::hash(&header);
    out.write_all(&header)?;
    out.write_all(hash.as_bytes())
}

/// Reads the header of a file of `file_len` bytes from its start.
pub(super) fn read(input: &mut impl Read, file_len: u64) -> Result<Header, ArtifactError> {
    let mut r = Limited {
        input,
        left: file_len,
        hasher: blake3::Hasher::new(),
    };
    if r.take(MAGIC.len()).ok().as_deref() != Some(MAGIC.as_slice()) {
        return Err(ArtifactError::NotAnArtifact);
    }
    let version = r.u32()?;
    if version != super::FORMAT_VERSION {
        return Err(ArtifactError::Version { found: version });
    }
    // Nothing read here is decoded or trusted before the hash matches; the lengths
    // are used only to read, within the file's size.
    let program_len = r.len()?;
    let program = r.take(program_len)?;
    let count = r.len()?;
    let mut shapes = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let rank = r.u32()? as usize;
        let dims = (0..rank).map(|_| r.len()).collect::<Result<Vec<_>, _>>()?;
        let hash: [u8; HASH_BYTES] = r.take(HASH_BYTES)?.try_into().map_err(|_| short())?;
        shapes.push((dims, hash));
    }
    let expected = r.hasher.finalize();
    let mut stored = [0u8; HASH_BYTES];
    r.read_unhashed(&mut stored)?;
    if expected.as_bytes() != &stored {
        return Err(ArtifactError::Corrupt(
            "the header's checksum does not match: the file was changed or damaged".into(),
        ));
    }
    let program: Program =
        postcard::from_bytes(&program).map_err(|e| ArtifactError::Corrupt(e.to_string()))?;
    program
        .validate()
        .map_err(|e| ArtifactError::Corrupt(e.to_string()))?;
    if shapes.len() != program.weight_shapes.len()
        || shapes
            .iter()
            .zip(&program.weight_shapes)
            .any(|((dims, _), expected)| dims != expected)
    {
        return Err(ArtifactError::Corrupt(
            "the weights do not match the program".into(),
        ));
    }
    let mut offset = file_len - r.left;
    let mut entries = Vec::with_capacity(shapes.len());
    for (shape, hash) in shapes {
        let len = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|n| n.checked_mul(8).is_some())
            .ok_or_else(|| ArtifactError::Corrupt("weight size overflows".into()))?;
        entries.push(Entry {
            shape,
            len,
            offset,
            hash,
        });
        offset = offset
            .checked_add(len as u64 * 8)
            .ok_or_else(|| ArtifactError::Corrupt("weight size overflows".into()))?;
    }
    match offset.cmp(&file_len) {
        std::cmp::Ordering::Less => Err(ArtifactError::Corrupt(format!(
            "{} unexpected bytes after the weights",
            file_len - offset
        ))),
        std::cmp::Ordering::Greater => Err(ArtifactError::Corrupt(format!(
            "{} bytes of weights missing",
            offset - file_len
        ))),
        std::cmp::Ordering::Equal => Ok(Header { program, entries }),
    }
}

fn short() -> ArtifactError {
    ArtifactError::Corrupt("the header ends early".into())
}

/// Reads at most `left` bytes (the rest of the file), hashing what it reads.
struct Limited<'a, R> {
    input: &'a mut R,
    left: u64,
    hasher: blake3::Hasher,
}

impl<R: Read> Limited<'_, R> {
    fn take(&mut self, n: usize) -> Result<Vec<u8>, ArtifactError> {
        let mut bytes = vec![0u8; self.claim(n)?];
        self.input
            .read_exact(&mut bytes)
            .map_err(super::read_error_of)?;
        self.hasher.update(&bytes);
        Ok(bytes)
    }

    fn read_unhashed(&mut self, into: &mut [u8]) -> Result<(), ArtifactError> {
        self.claim(into.len())?;
        self.input.read_exact(into).map_err(super::read_error_of)
    }

    /// Checks that `n` more bytes are in the file before anything is allocated.
    fn claim(&mut self, n: usize) -> Result<usize, ArtifactError> {
        match u64::try_from(n).ok().filter(|&n| n <= self.left) {
            Some(n64) => {
                self.left -= n64;
                Ok(n)
            }
            None => Err(ArtifactError::Corrupt(format!(
                "the header claims {n} more bytes, the file has {} left",
                self.left
            ))),
        }
    }

    fn u32(&mut self) -> Result<u32, ArtifactError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len(&mut self) -> Result<usize, ArtifactError> {
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| short())?;
        usize::try_from(u64::from_le_bytes(b))
            .map_err(|_| ArtifactError::Corrupt("length does not fit".into()))
    }
}

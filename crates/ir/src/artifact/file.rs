//! A compiled model read from its file one weight at a time.

use super::header::{self, Entry, Header};
use super::{read_error_of, weight_checksum_mismatch, ArtifactError, BLOCK_WORDS};
use crate::source::Runs;
use crate::{Program, WeightId, WeightSource, Weights};
use cryptflow_ring::Tensor;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Mutex;

/// An open compiled model: the program in memory, the weights in the file, each read
/// when it is loaded and checked against its hash in the header at every read.
#[derive(Debug)]
pub struct ModelFile {
    program: Program,
    entries: Vec<Entry>,
    /// Loads seek and read; two threads (the masking thread and the protocol) load.
    file: Mutex<File>,
}

impl ModelFile {
    /// Opens `path`: reads the header and checks every weight's hash (reading the file
    /// once, a block at a time), so a damaged file fails here rather than in the middle
    /// of a protocol run.
    pub fn open(path: &Path) -> Result<Self, ArtifactError> {
        let file = File::open(path).map_err(ArtifactError::Read)?;
        let file_len = file.metadata().map_err(ArtifactError::Read)?.len();
        let mut input = BufReader::new(file);
        let Header { program, entries } = header::read(&mut input, file_len)?;
        let mut block = vec![0u8; BLOCK_WORDS * 8];
        for (id, entry) in entries.iter().enumerate() {
            let mut hasher = blake3::Hasher::new();
            let mut left = entry.byte_len();
            while left > 0 {
                let n = left.min(block.len());
                input.read_exact(&mut block[..n]).map_err(read_error_of)?;
                hasher.update(&block[..n]);
                left -= n;
            }
            if hasher.finalize().as_bytes() != &entry.hash {
                return Err(weight_checksum_mismatch(id));
            }
        }
        Ok(Self {
            program,
            entries,
            file: Mutex::new(input.into_inner()),
        })
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Every weight in memory at once (for the plaintext runs).
    pub fn load_all(&self) -> Result<Weights, ArtifactError> {
        let tensors = (0..self.entries.len())
            .map(|id| {
                let data = self.load(id)?.into_owned();
                Tensor::new(self.entries[id].shape.clone(), data)
                    .map_err(|e| ArtifactError::Corrupt(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Weights { tensors })
    }
}

impl WeightSource for ModelFile {
    fn count(&self) -> usize {
        self.entries.len()
    }

    fn shape(&self, id: WeightId) -> Option<&[usize]> {
        self.entries.get(id).map(|e| e.shape.as_slice())
    }

    fn load(&self, id: WeightId) -> Result<Cow<'_, [u64]>, ArtifactError> {
        let entry = self.entry(id)?;
        let mut runs = self.load_runs(id, entry.len)?;
        match (runs.next(), entry.len) {
            (Some(run), _) => run,
            (None, 0) => Ok(Cow::Owned(Vec::new())),
            (None, _) => Err(ArtifactError::Changed(id)),
        }
    }

    fn load_runs(&self, id: WeightId, run_len: usize) -> Result<Runs<'_>, ArtifactError> {
        let entry = self.entry(id)?;
        let mut hasher = blake3::Hasher::new();
        let mut at = 0;
        Ok(Box::new(std::iter::from_fn(move || {
            if at >= entry.len {
                return None;
            }
            let n = run_len.clamp(1, entry.len - at);
            let run = self.read_words(id, entry.offset + at as u64 * 8, n);
            at += n;
            let checked = run.and_then(|words| {
                hasher.update(bytemuck::cast_slice(&words));
                if at == entry.len && hasher.finalize().as_bytes() != &entry.hash {
                    return Err(ArtifactError::Changed(id));
                }
                Ok(Cow::Owned(words.into_iter().map(u64::from_le).collect()))
            });
            // The first error ends the runs.
            if checked.is_err() {
                at = entry.len;
            }
            Some(checked)
        })))
    }
}

impl ModelFile {
    fn entry(&self, id: WeightId) -> Result<&Entry, ArtifactError> {
        self.entries.get(id).ok_or(ArtifactError::NoSuchWeight(id))
    }

    /// `n` words at byte `offset`, as stored (little endian).
    fn read_words(&self, id: WeightId, offset: u64, n: usize) -> Result<Vec<u64>, ArtifactError> {
        let mut words = vec![0u64; n];
        // Read straight into the words (no second buffer of their size).
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        let mut file = self
            .file
            .lock()
            .map_err(|_| ArtifactError::Read(std::io::Error::other("a reader panicked")))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(ArtifactError::Read)?;
        file.read_exact(bytes).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ArtifactError::Changed(id),
            _ => ArtifactError::Read(e),
        })?;
        Ok(words)
    }
}

//! Where the model owner's weights come from when it runs: all in memory
//! ([`Weights`]), or read from the compiled file one weight at a time as the
//! program uses them ([`crate::artifact::ModelFile`]), so that a model owner under a
//! memory budget never holds a whole model's weights.

use crate::artifact::ArtifactError;
use crate::{WeightId, Weights};
use std::borrow::Cow;

/// The model owner's weights, one at a time.
pub trait WeightSource: Sync {
    /// How many weights there are.
    fn count(&self) -> usize;

    /// The shape of weight `id` (`None` if there is no such weight).
    fn shape(&self, id: WeightId) -> Option<&[usize]>;

    /// The elements of weight `id`: borrowed when they are in memory, read (and
    /// checked against the file's hash) when they are not.
    fn load(&self, id: WeightId) -> Result<Cow<'_, [u64]>, ArtifactError>;

    /// The elements of weight `id` in runs of `run_len` (the last shorter), in order,
    /// so that a large weight is held one run at a time (a memory budget's blocks).
    /// Read from the file, the weight's hash is checked as the runs go by: a mismatch
    /// (the file changed since it was opened and checked whole) is the last run's
    /// error, so a run may be used before the weight is known to be unchanged, and
    /// the caller must not finish (send an output) before the last run.
    fn load_runs(&self, id: WeightId, run_len: usize) -> Result<Runs<'_>, ArtifactError>;
}

/// The runs of one weight, from [`WeightSource::load_runs`].
pub type Runs<'s> = Box<dyn Iterator<Item = Result<Cow<'s, [u64]>, ArtifactError>> + 's>;

impl WeightSource for Weights {
    fn count(&self) -> usize {
        self.tensors.len()
    }

    fn shape(&self, id: WeightId) -> Option<&[usize]> {
        self.tensors.get(id).map(|t| t.shape())
    }

    fn load(&self, id: WeightId) -> Result<Cow<'_, [u64]>, ArtifactError> {
        self.tensors
            .get(id)
            .map(|t| Cow::Borrowed(t.data()))
            .ok_or(ArtifactError::NoSuchWeight(id))
    }

    fn load_runs(&self, id: WeightId, run_len: usize) -> Result<Runs<'_>, ArtifactError> {
        let data = self
            .tensors
            .get(id)
            .ok_or(ArtifactError::NoSuchWeight(id))?
            .data();
        Ok(Box::new(
            data.chunks(run_len.max(1))
                .map(|run| Ok(Cow::Borrowed(run))),
        ))
    }
}

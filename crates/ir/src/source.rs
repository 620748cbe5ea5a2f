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
}

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
}

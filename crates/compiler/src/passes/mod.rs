//! The passes, one per file, run in order by [`crate::compile`].

pub mod batchnorm;
pub mod comparisons;
pub mod fold;
pub mod liveness;
pub mod lower;
pub mod memory;
pub mod shapes;

//! Arithmetic over the ring Z_2^64 and the vocabulary every other crate shares.
//!
//! * [`Tensor`]: a dense row-major tensor; ring tensors are `Tensor<u64>` and all
//!   arithmetic on them wraps modulo 2^64.
//! * [`Scale`] and [`fixed`]: the fixed-point encoding of reals (x ↦ round(x·2^s)) and
//!   truncation with its documented error.
//! * [`Prg`]: the AES-128-CTR pseudo-random generator all randomness comes from.
//! * [`gemm`], [`conv`], [`pool`]: the hot kernels and the index geometry of
//!   convolution and pooling windows, shared by the cleartext and the secure backends.
//! * [`size`]: checked, capped sizes for shapes that come from files and peers.
//! * [`Party`]: who is who in the three-party protocol.

pub mod conv;
pub mod fixed;
pub mod gemm;
pub mod layout;
mod party;
pub mod pool;
mod prg;
pub mod size;
mod tensor;

pub use fixed::Scale;
pub use party::Party;
pub use prg::{Prg, Seed};
pub use tensor::{Tensor, TensorError};

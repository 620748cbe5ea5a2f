//! Attested execution: the paper's F_attest (§V-C), and what Aramis builds on it.
//!
//! * [`identity`]: what a boundary commits to (protocol code, protocol version,
//!   compiled program) and its measurement.
//! * [`token`]: claims (party, code identity, an X25519 key made inside, the
//!   session's nonces) and backend evidence binding them, as REPORT_DATA in a quote.
//! * [`software`]: the software backend, like SGX's simulation mode: an Ed25519
//!   attestation root (`cryptflow attest init`). No protection against a host that
//!   holds `root.key`.
//! * [`Enclave`] and [`run_prelude`]: a party's boundary, and the prelude in which
//!   every party checks every other's token and the pairs agree on seeds and MAC keys.
//! * [`AttestedChannel`]: every later message framed with session, sender, receiver,
//!   sequence number and a MAC; faults are caught and the misbehaving host named.
//!
//! No I/O here besides the host [`Transport`](cryptflow_net::Transport) the channel
//! wraps, and reading the running binary to measure it.

mod channel;
mod enclave;
mod error;
pub mod identity;
mod prelude;
pub mod software;
pub mod token;
pub mod transcript;

pub use channel::AttestedChannel;
pub use enclave::Enclave;
pub use error::AttestError;
pub use identity::{CodeIdentity, Digest, PROTOCOL_VERSION};
pub use prelude::{run_prelude, AttestedSession, Hello, PreludeConfig};
pub use software::SoftwareRoot;
pub use token::{Claims, Evidence, Token, TokenRejection};

//! Mutually authenticated TLS 1.3 between the parties (rustls with the ring
//! provider), with pinned self-signed certificates instead of a CA.
//!
//! * [`TlsIdentity`]: our key and the three pinned certificates; put it in
//!   [`TcpConfig::tls`](crate::TcpConfig::tls).
//! * [`generate`]: a fresh key pair and self-signed certificate for one party.
//! * `setup`: the handshake on a new socket (the dialler is the client, the
//!   acceptor the server); `verify`: the pinning verifiers; `channel`: the
//!   established connection split between the link and its writer thread.

pub(crate) mod channel;
mod identity;
mod keygen;
pub(crate) mod setup;
mod verify;

pub use identity::{certificate_file_name, certificate_fingerprint, key_file_name, TlsIdentity};
pub use keygen::{generate, PartyCertificate};

//! The transport between the three parties.
//!
//! * [`Transport`]: ordered point-to-point messages; what protocol drivers use.
//! * [`TcpTransport`]: one TCP connection per pair of parties, each opened with a
//!   handshake (magic, protocol version, party, session id) and carrying
//!   length-prefixed frames; with a [`tls::TlsIdentity`] in the [`TcpConfig`], all
//!   of it inside mutually authenticated TLS 1.3 with pinned certificates.
//! * [`MemoryTransport`]: the same behaviour over in-process channels, for tests
//!   that run the three parties on threads.
//! * [`CommStats`]: bytes and messages per peer and in total.
//! * [`fault::FaultyHost`]: a host that tampers with one outgoing message, for testing
//!   attested mode (`--inject-fault`).
//!
//! **Blocking.** `send` never waits for the peer to read: TCP connections have a
//! writer thread each, so P0 and P1 can both send a large message and then both
//! receive. `recv` blocks until a whole message from that peer arrived, failing with
//! [`NetError::RecvTimeout`] if no byte comes for the I/O timeout. A timeout before
//! the message's first byte leaves the stream intact and `recv` may be called again;
//! after any other failed `recv` the stream from that peer may be mid-frame, so later
//! `recv`s from it fail with [`NetError::ConnectionFailed`]; a write that failed in the background is
//! reported by the next `send` or `recv` (to any peer).
//!
//! **Bytes.** A message counts as its payload plus its 8-byte length header, on both
//! transports; the handshake is not counted. Sent bytes are counted when `send`
//! accepts the message, not when the OS has transmitted it.
//!
//! **Wire format.** After the 23-byte hello each way, every message is its length as
//! a little-endian u64 followed by the payload. Ring elements
//! ([`Transport::send_words`]) are little-endian u64s. Over TLS nothing else is on
//! the wire: the TLS handshake, then the same bytes as TLS application data.

mod duplex;
mod error;
pub mod fault;
mod frame;
mod handshake;
mod link;
mod memory;
mod mesh;
mod stats;
mod tcp;
pub mod tls;
mod transport;
mod words;
mod writer;

pub use cryptflow_ring::Party;
pub use error::{Misbehaviour, NetError};
pub use memory::MemoryTransport;
pub use stats::CommStats;
pub use tcp::{TcpConfig, TcpTransport};
pub use tls::TlsIdentity;
pub use transport::Transport;
pub use words::{extend_words, words_to_bytes_with_room};

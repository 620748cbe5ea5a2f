//! The semi-honest three-party protocols of secure inference (CrypTFlow's Porthos
//! setting): P0 (model owner) and P1 (client) hold additive shares over Z_2^64, P2
//! (helper) deals correlated randomness and never sees a share of a secret.
//!
//! Every protocol here is pure: a step takes the peer's message (ring words) and
//! returns the next message or the result. No step touches a socket; the runtime moves
//! the messages, and the tests step all parties in one thread. Every protocol has a
//! cleartext twin (`ideal_*`) that the tests compare against.
//!
//! Randomness: each pair of parties holds a fresh per-session seed ([`PairwiseSeeds`]).
//! The helper derives a party's share of dealt randomness from the seed it shares with
//! that party, so it sends only the corrections that make shares consistent, and only
//! to the client; the model owner's shares cost no communication at all.

mod error;

pub mod bits;
pub mod division;
pub mod linear;
pub mod msgs;
pub mod pool;
pub mod product;
pub mod relu;
mod seeds;
pub mod sharing;
pub mod truncation;

#[cfg(test)]
mod testing;

pub use error::ProtocolError;
pub use seeds::{PairwiseSeeds, StreamId};

/// What a share-holder does after consuming a message: send another, or finish.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<T> {
    Send(msgs::Outgoing),
    Done(T),
}

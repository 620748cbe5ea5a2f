use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the three parties of the protocol.
///
/// * `ModelOwner` (P0) holds the model's weights.
/// * `Client` (P1) holds the input and is the only party that learns the output.
/// * `Helper` (P2) holds nothing secret; it deals correlated randomness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Party {
    ModelOwner,
    Client,
    Helper,
}

impl Party {
    pub const ALL: [Party; 3] = [Party::ModelOwner, Party::Client, Party::Helper];

    /// The party's number in the paper's notation (P0, P1, P2).
    pub fn index(self) -> usize {
        match self {
            Party::ModelOwner => 0,
            Party::Client => 1,
            Party::Helper => 2,
        }
    }

    pub fn from_index(index: usize) -> Option<Party> {
        Party::ALL.get(index).copied()
    }

    /// The other party that holds a share: P0 <-> P1. The helper has no such peer.
    pub fn share_peer(self) -> Option<Party> {
        match self {
            Party::ModelOwner => Some(Party::Client),
            Party::Client => Some(Party::ModelOwner),
            Party::Helper => None,
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self {
            Party::ModelOwner => "model owner",
            Party::Client => "client",
            Party::Helper => "helper",
        };
        write!(f, "P{} ({role})", self.index())
    }
}

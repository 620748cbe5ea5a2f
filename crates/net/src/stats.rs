use cryptflow_ring::Party;
use serde::Serialize;

use crate::frame::HEADER_BYTES;

/// Bytes and messages one party sent and received.
///
/// A message counts as its payload plus the 8-byte frame header, i.e. what TCP
/// carries; the one-off handshake is not counted. Both transports count the same
/// way, so a run over [`MemoryTransport`](crate::MemoryTransport) reports the bytes
/// the same run would put on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CommStats {
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub messages_sent: u64,
    pub messages_received: u64,
}

impl CommStats {
    /// What happened between `earlier` (a snapshot of the same counters) and now,
    /// e.g. the traffic of one layer.
    pub fn since(&self, earlier: &CommStats) -> CommStats {
        CommStats {
            bytes_sent: self.bytes_sent.saturating_sub(earlier.bytes_sent),
            bytes_received: self.bytes_received.saturating_sub(earlier.bytes_received),
            messages_sent: self.messages_sent.saturating_sub(earlier.messages_sent),
            messages_received: self
                .messages_received
                .saturating_sub(earlier.messages_received),
        }
    }

    fn add(&mut self, other: &CommStats) {
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.messages_sent += other.messages_sent;
        self.messages_received += other.messages_received;
    }
}

/// One [`CommStats`] per peer, indexed by party; our own slot stays zero.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerStats {
    per_peer: [CommStats; 3],
}

impl PeerStats {
    pub(crate) fn record_sent(&mut self, to: Party, payload_len: usize) {
        let stats = &mut self.per_peer[to.index()];
        stats.bytes_sent += wire_bytes(payload_len);
        stats.messages_sent += 1;
    }

    pub(crate) fn record_received(&mut self, from: Party, payload_len: usize) {
        let stats = &mut self.per_peer[from.index()];
        stats.bytes_received += wire_bytes(payload_len);
        stats.messages_received += 1;
    }

    pub(crate) fn with(&self, peer: Party) -> CommStats {
        self.per_peer[peer.index()].clone()
    }

    pub(crate) fn total(&self) -> CommStats {
        let mut total = CommStats::default();
        for stats in &self.per_peer {
            total.add(stats);
        }
        total
    }
}

fn wire_bytes(payload_len: usize) -> u64 {
    payload_len as u64 + HEADER_BYTES as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_the_peers_and_count_headers() {
        let mut stats = PeerStats::default();
        stats.record_sent(Party::Client, 10);
        stats.record_sent(Party::Helper, 0);
        stats.record_received(Party::Client, 24);
        assert_eq!(
            stats.total(),
            CommStats {
                bytes_sent: 10 + 8 + 8,
                bytes_received: 24 + 8,
                messages_sent: 2,
                messages_received: 1,
            }
        );
        assert_eq!(stats.with(Party::Helper).bytes_sent, 8);
        assert_eq!(stats.with(Party::ModelOwner), CommStats::default());
    }

    #[test]
    fn since_subtracts_a_snapshot() {
        let mut stats = PeerStats::default();
        stats.record_sent(Party::Client, 8);
        let before = stats.total();
        stats.record_sent(Party::Client, 16);
        let delta = stats.total().since(&before);
        assert_eq!(delta.bytes_sent, 24);
        assert_eq!(delta.messages_sent, 1);
    }
}

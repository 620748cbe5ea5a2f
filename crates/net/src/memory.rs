use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use cryptflow_ring::Party;

use crate::stats::PeerStats;
use crate::{CommStats, NetError, Transport};

/// How long [`MemoryTransport::triple`] waits for a message: long enough for any
/// test, short enough that a protocol bug fails instead of hanging the test run.
const DEFAULT_RECV_TIMEOUT: Duration = Duration::from_secs(120);

/// Three endpoints joined by in-process channels, for running the parties on threads.
///
/// Behaves like [`TcpTransport`](crate::TcpTransport) (unbounded queues, ordered
/// delivery, same byte counting) without sockets. Dropping an endpoint disconnects
/// it: the others first receive whatever it had sent, then
/// [`NetError::PeerDisconnected`].
#[derive(Debug)]
pub struct MemoryTransport {
    me: Party,
    /// Indexed by the receiving party; `None` in our own slot.
    outboxes: [Option<Sender<Vec<u8>>>; 3],
    /// Indexed by the sending party; `None` in our own slot.
    inboxes: [Option<Receiver<Vec<u8>>>; 3],
    recv_timeout: Duration,
    stats: PeerStats,
}

impl MemoryTransport {
    /// The endpoints of P0, P1 and P2, in that order.
    pub fn triple() -> [MemoryTransport; 3] {
        MemoryTransport::triple_with_timeout(DEFAULT_RECV_TIMEOUT)
    }

    /// Like [`triple`](MemoryTransport::triple), but `recv` gives up with
    /// [`NetError::RecvTimeout`] after `recv_timeout` (zero: waits forever).
    pub fn triple_with_timeout(recv_timeout: Duration) -> [MemoryTransport; 3] {
        // outboxes[from][to] sends into inboxes[to][from].
        let mut outboxes: [[Option<Sender<Vec<u8>>>; 3]; 3] = Default::default();
        let mut inboxes: [[Option<Receiver<Vec<u8>>>; 3]; 3] = Default::default();
        for from in Party::ALL {
            for to in Party::ALL.into_iter().filter(|&to| to != from) {
                let (sender, receiver) = mpsc::channel();
                outboxes[from.index()][to.index()] = Some(sender);
                inboxes[to.index()][from.index()] = Some(receiver);
            }
        }
        Party::ALL.map(|me| MemoryTransport {
            me,
            outboxes: std::mem::take(&mut outboxes[me.index()]),
            inboxes: std::mem::take(&mut inboxes[me.index()]),
            recv_timeout,
            stats: PeerStats::default(),
        })
    }

    /// Traffic with one peer only.
    pub fn stats_with(&self, peer: Party) -> CommStats {
        self.stats.with(peer)
    }
}

impl Transport for MemoryTransport {
    fn me(&self) -> Party {
        self.me
    }

    fn send(&mut self, to: Party, payload: Vec<u8>) -> Result<(), NetError> {
        let outbox = self.outboxes[to.index()]
            .as_ref()
            .ok_or(NetError::SelfMessage { party: self.me })?;
        let length = payload.len();
        outbox
            .send(payload)
            .map_err(|_| NetError::PeerDisconnected { peer: to })?;
        self.stats.record_sent(to, length);
        Ok(())
    }

    fn recv(&mut self, from: Party) -> Result<Vec<u8>, NetError> {
        let inbox = self.inboxes[from.index()]
            .as_ref()
            .ok_or(NetError::SelfMessage { party: self.me })?;
        let payload = if self.recv_timeout.is_zero() {
            inbox
                .recv()
                .map_err(|_| NetError::PeerDisconnected { peer: from })?
        } else {
            inbox
                .recv_timeout(self.recv_timeout)
                .map_err(|error| match error {
                    RecvTimeoutError::Timeout => NetError::RecvTimeout {
                        peer: from,
                        timeout: self.recv_timeout,
                    },
                    RecvTimeoutError::Disconnected => NetError::PeerDisconnected { peer: from },
                })?
        };
        self.stats.record_received(from, payload.len());
        Ok(payload)
    }

    fn stats(&self) -> CommStats {
        self.stats.total()
    }
}

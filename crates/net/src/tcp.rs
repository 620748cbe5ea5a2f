use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use cryptflow_ring::Party;

use crate::link::Link;
use crate::mesh::{self, Setup};
use crate::stats::PeerStats;
use crate::tls::TlsIdentity;
use crate::{CommStats, NetError, Transport};

/// How a [`TcpTransport`] connects and how long it waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpConfig {
    /// The whole setup (dialling, accepting, handshakes) must finish within this.
    pub connect_timeout: Duration,
    /// Longest wait for *progress* on a connection: `recv` fails if no byte arrives
    /// for this long, and a send fails if the peer takes no byte for this long.
    /// A large message that keeps flowing may take longer. Zero: wait forever.
    pub io_timeout: Duration,
    /// Must be the same on all three parties; tells runs apart.
    pub session_id: [u8; 16],
    /// Largest message accepted from or sent to a peer, in payload bytes.
    pub max_frame_bytes: u64,
    /// At most this many payload bytes wait in a connection's send queue: `send`
    /// blocks (the peer reading is what frees it) until they fit, or the queue is
    /// empty. Only for a party that never needs to receive while it sends, or two
    /// parties could block each other: the helper, which only sends during a run,
    /// so that it deals in step with the share-holders instead of queueing a whole
    /// model's randomness ([`TcpConfig::for_party`] sets it). `None`: unbounded.
    pub send_queue_limit: Option<usize>,
    /// Mutually authenticated TLS 1.3 with pinned certificates; `None`: plaintext
    /// (for a trusted network or loopback only). All three parties must agree.
    pub tls: Option<TlsIdentity>,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            connect_timeout: Duration::from_secs(30),
            io_timeout: Duration::from_secs(120),
            session_id: [0; 16],
            max_frame_bytes: 4 << 30,
            send_queue_limit: None,
            tls: None,
        }
    }
}

impl TcpConfig {
    /// The helper's queue of dealt randomness, at most this far ahead of the client.
    pub const HELPER_SEND_QUEUE_BYTES: usize = 16 << 20;

    /// The defaults for `me`: the helper's send queue is bounded (see
    /// [`send_queue_limit`](TcpConfig::send_queue_limit)).
    pub fn for_party(me: Party) -> TcpConfig {
        TcpConfig {
            send_queue_limit: (me == Party::Helper).then_some(Self::HELPER_SEND_QUEUE_BYTES),
            ..TcpConfig::default()
        }
    }
}

/// A party's two TCP connections to the others.
///
/// Each connection has a writer thread, so [`send`](Transport::send) only queues;
/// [`recv`](Transport::recv) reads from the socket on the calling thread. Dropping
/// the transport (or calling [`close`](TcpTransport::close)) blocks until every
/// queued message has been handed to the OS, so a party may send its last message
/// and exit.
#[derive(Debug)]
pub struct TcpTransport {
    me: Party,
    /// Indexed by party; `None` in our own slot.
    links: [Option<Link>; 3],
    stats: PeerStats,
}

impl TcpTransport {
    /// Listens on `addrs[me]`, dials every lower-indexed party and accepts every
    /// higher-indexed one (see [`connect_with_listener`](Self::connect_with_listener)).
    pub fn connect(
        me: Party,
        addrs: [SocketAddr; 3],
        config: &TcpConfig,
    ) -> Result<TcpTransport, NetError> {
        let addr = addrs[me.index()];
        let listener = TcpListener::bind(addr).map_err(|source| NetError::Io {
            context: format!("listening on {addr} as {me}"),
            source,
        })?;
        TcpTransport::connect_with_listener(me, listener, addrs, config)
    }

    /// Like [`connect`](Self::connect) with a listener the caller bound (tests bind
    /// port 0 to learn a free port). `addrs[me]` is not used.
    ///
    /// Party i dials every party with a lower index, retrying with a short backoff
    /// because peers start in any order, and accepts one connection from every party
    /// with a higher index. Every connection starts with a handshake checking magic,
    /// protocol version, party and session id; with `config.tls`, a TLS handshake
    /// checking both certificates comes first and the hello travels inside it. All
    /// of it must finish within `config.connect_timeout`; otherwise the error names
    /// the party that is missing.
    pub fn connect_with_listener(
        me: Party,
        listener: TcpListener,
        addrs: [SocketAddr; 3],
        config: &TcpConfig,
    ) -> Result<TcpTransport, NetError> {
        if let Some(identity) = &config.tls {
            if identity.party() != me {
                return Err(NetError::WrongIdentity {
                    me,
                    identity: identity.party(),
                });
            }
        }
        let setup = Setup {
            me,
            session_id: &config.session_id,
            connect_timeout: config.connect_timeout,
            deadline: Instant::now() + config.connect_timeout,
            tls: config.tls.as_ref(),
        };
        let streams = mesh::establish(&setup, &listener, &addrs)?;
        let mut links: [Option<Link>; 3] = Default::default();
        for (peer, stream) in Party::ALL.into_iter().zip(streams) {
            if let Some(stream) = stream {
                links[peer.index()] = Some(Link::new(
                    me,
                    peer,
                    stream,
                    config.io_timeout,
                    config.max_frame_bytes,
                    config.send_queue_limit,
                )?);
            }
        }
        Ok(TcpTransport {
            me,
            links,
            stats: PeerStats::default(),
        })
    }

    /// Traffic with one peer only.
    pub fn stats_with(&self, peer: Party) -> CommStats {
        self.stats.with(peer)
    }

    /// Delivers every queued message, closes the connections and reports a write
    /// failure that no `send`/`recv` has reported yet. Dropping does the same but
    /// cannot report.
    pub fn close(mut self) -> Result<(), NetError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), NetError> {
        let mut first_error = None;
        for link in self.links.iter_mut().flatten() {
            if let Err(error) = link.close() {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn link(&mut self, peer: Party) -> Result<&mut Link, NetError> {
        // Our own slot is the only empty one.
        self.links[peer.index()]
            .as_mut()
            .ok_or(NetError::SelfMessage { party: peer })
    }

    /// A write to *any* peer that failed in the background surfaces here, on the
    /// next call, rather than being lost.
    fn check_writers(&mut self) -> Result<(), NetError> {
        for link in self.links.iter_mut().flatten() {
            link.check_writer()?;
        }
        Ok(())
    }
}

impl Transport for TcpTransport {
    fn me(&self) -> Party {
        self.me
    }

    fn send(&mut self, to: Party, payload: Vec<u8>) -> Result<(), NetError> {
        self.check_writers()?;
        let length = payload.len();
        self.link(to)?.send(payload)?;
        self.stats.record_sent(to, length);
        Ok(())
    }

    fn recv(&mut self, from: Party) -> Result<Vec<u8>, NetError> {
        self.check_writers()?;
        let payload = self.link(from)?.recv()?;
        self.stats.record_received(from, payload.len());
        Ok(payload)
    }

    fn stats(&self) -> CommStats {
        self.stats.total()
    }
}

impl Drop for TcpTransport {
    fn drop(&mut self) {
        // Errors were either reported already or have nobody left to go to; use
        // `close` to see them.
        let _ = self.shut_down();
    }
}

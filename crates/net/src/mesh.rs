//! Setting up the three connections. Party i dials every party with a lower index
//! and accepts every party with a higher one, so each pair has exactly one
//! connection and nobody waits on someone who is waiting on them: P1 dials P0, then
//! accepts P2; P2 dials P0 and then P1. The whole setup shares one deadline,
//! `connect_timeout` from the start.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use cryptflow_ring::Party;

use crate::error::is_timeout;
use crate::handshake::{self, HELLO_BYTES};
use crate::NetError;

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(250);
/// How often a listener with nothing pending is polled (std has no accept timeout).
const ACCEPT_POLL: Duration = Duration::from_millis(5);

/// Shared by every step of the setup.
pub(crate) struct Setup<'a> {
    pub(crate) me: Party,
    pub(crate) session_id: &'a [u8; 16],
    pub(crate) connect_timeout: Duration,
    pub(crate) deadline: Instant,
}

/// Returns a handshaken stream for every peer, indexed by party (`None` for us).
pub(crate) fn establish(
    setup: &Setup<'_>,
    listener: &TcpListener,
    addrs: &[SocketAddr; 3],
) -> Result<[Option<TcpStream>; 3], NetError> {
    let mut streams: [Option<TcpStream>; 3] = Default::default();
    for peer in Party::ALL
        .into_iter()
        .filter(|peer| peer.index() < setup.me.index())
    {
        streams[peer.index()] = Some(dial(setup, peer, addrs[peer.index()])?);
    }
    accept_all(setup, listener, &mut streams)?;
    Ok(streams)
}

/// Dials `peer` until it answers (it may not have started yet) or the deadline.
fn dial(setup: &Setup<'_>, peer: Party, addr: SocketAddr) -> Result<TcpStream, NetError> {
    let timed_out = |last_error| NetError::ConnectTimeout {
        peer,
        addr,
        timeout: setup.connect_timeout,
        last_error,
    };
    let mut backoff = FIRST_BACKOFF;
    let mut last_error = None;
    loop {
        let remaining = setup.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(timed_out(last_error));
        }
        match TcpStream::connect_timeout(&addr, remaining) {
            Ok(mut stream) => {
                return match offer_hello(setup, peer, addr, &mut stream) {
                    Ok(()) => Ok(stream),
                    // Connected, but the peer never answered: it is as good as absent.
                    Err(HelloFailure::Io(error)) if is_timeout(&error) => {
                        Err(timed_out(Some(error)))
                    }
                    Err(HelloFailure::Io(error)) => Err(handshake_io(peer, addr, error)),
                    Err(HelloFailure::Rejected(error)) => Err(error),
                };
            }
            Err(error) => {
                last_error = Some(error);
                thread::sleep(backoff.min(remaining));
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The dialling side: hello out, the peer's hello in, both checked.
fn offer_hello(
    setup: &Setup<'_>,
    peer: Party,
    addr: SocketAddr,
    stream: &mut TcpStream,
) -> Result<(), HelloFailure> {
    configure(stream, setup.deadline)?;
    stream.write_all(&handshake::encode(setup.me, setup.session_id))?;
    let mut answer = [0; HELLO_BYTES];
    stream.read_exact(&mut answer)?;
    let hello = handshake::parse(&answer, addr)?;
    handshake::check(&hello, setup.me, addr, &[peer], setup.session_id)?;
    Ok(())
}

/// Accepts one connection from each higher-indexed party, in whatever order they
/// come.
fn accept_all(
    setup: &Setup<'_>,
    listener: &TcpListener,
    streams: &mut [Option<TcpStream>; 3],
) -> Result<(), NetError> {
    let mut missing: Vec<Party> = Party::ALL
        .into_iter()
        .filter(|peer| peer.index() > setup.me.index())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let listen_addr = listener.local_addr().map_err(|source| NetError::Io {
        context: "reading the listener's address".to_owned(),
        source,
    })?;
    let timed_out = |missing: &[Party]| NetError::AcceptTimeout {
        me: setup.me,
        listen_addr,
        missing: missing.to_vec(),
        timeout: setup.connect_timeout,
    };
    listener
        .set_nonblocking(true)
        .map_err(|source| NetError::Io {
            context: format!("polling the listener on {listen_addr}"),
            source,
        })?;
    while !missing.is_empty() {
        match listener.accept() {
            Ok((mut stream, addr)) => match answer_hello(setup, addr, &missing, &mut stream) {
                Ok(peer) => {
                    missing.retain(|&waiting| waiting != peer);
                    streams[peer.index()] = Some(stream);
                }
                // We cannot tell who connected and fell silent; name all we lack.
                Err(HelloFailure::Io(error)) if is_timeout(&error) => {
                    return Err(timed_out(&missing))
                }
                Err(HelloFailure::Io(source)) => {
                    return Err(NetError::Io {
                        context: format!("handshaking with {addr}"),
                        source,
                    })
                }
                Err(HelloFailure::Rejected(error)) => return Err(error),
            },
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= setup.deadline {
                    return Err(timed_out(&missing));
                }
                thread::sleep(ACCEPT_POLL);
            }
            // A connection that died in the backlog, or a signal: keep waiting.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                ) => {}
            Err(source) => {
                return Err(NetError::Io {
                    context: format!("accepting connections on {listen_addr}"),
                    source,
                })
            }
        }
    }
    Ok(())
}

/// The accepting side: read the hello, answer with ours once we know it is one of
/// us (so the dialler can diagnose a mismatch too), then check.
fn answer_hello(
    setup: &Setup<'_>,
    addr: SocketAddr,
    expected: &[Party],
    stream: &mut TcpStream,
) -> Result<Party, HelloFailure> {
    // Some platforms hand out accepted sockets non-blocking like their listener.
    stream.set_nonblocking(false)?;
    configure(stream, setup.deadline)?;
    let mut offer = [0; HELLO_BYTES];
    stream.read_exact(&mut offer)?;
    let hello = handshake::parse(&offer, addr)?;
    stream.write_all(&handshake::encode(setup.me, setup.session_id))?;
    Ok(handshake::check(
        &hello,
        setup.me,
        addr,
        expected,
        setup.session_id,
    )?)
}

/// No Nagle delay (the protocol is many small request/response rounds), and no
/// handshake read or write outliving the setup deadline.
fn configure(stream: &TcpStream, deadline: Instant) -> io::Result<()> {
    stream.set_nodelay(true)?;
    // A zero timeout is refused by the OS; a millisecond fails promptly instead.
    let remaining = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    stream.set_read_timeout(Some(remaining))?;
    stream.set_write_timeout(Some(remaining))
}

fn handshake_io(peer: Party, addr: SocketAddr, source: io::Error) -> NetError {
    if crate::error::is_disconnect(&source) {
        // It hung up on our hello; it will have reported why on its side.
        NetError::PeerDisconnected { peer }
    } else {
        NetError::Io {
            context: format!("handshaking with {peer} at {addr}"),
            source,
        }
    }
}

enum HelloFailure {
    Io(io::Error),
    Rejected(NetError),
}

impl From<io::Error> for HelloFailure {
    fn from(error: io::Error) -> Self {
        HelloFailure::Io(error)
    }
}

impl From<NetError> for HelloFailure {
    fn from(error: NetError) -> Self {
        HelloFailure::Rejected(error)
    }
}

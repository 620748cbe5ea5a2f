//! Setting up the three connections. Party i dials every party with a lower index
//! and accepts every party with a higher one, so each pair has exactly one
//! connection and nobody waits on someone who is waiting on them: P1 dials P0, then
//! accepts P2; P2 dials P0 and then P1. The whole setup shares one deadline,
//! `connect_timeout` from the start.
//!
//! With a TLS identity the TLS handshake comes first (see `tls::setup`) and the
//! hello travels inside it; without, the hello is the first thing on the wire.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use cryptflow_ring::Party;

use crate::duplex::Established;
use crate::error::is_timeout;
use crate::handshake::{self, Expected, HELLO_BYTES};
use crate::tls::setup::{self as tls_setup, close_gently};
use crate::tls::TlsIdentity;
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
    pub(crate) tls: Option<&'a TlsIdentity>,
}

/// Returns a handshaken connection for every peer, indexed by party (`None` for us).
pub(crate) fn establish(
    setup: &Setup<'_>,
    listener: &TcpListener,
    addrs: &[SocketAddr; 3],
) -> Result<[Option<Established>; 3], NetError> {
    let mut streams: [Option<Established>; 3] = Default::default();
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
fn dial(setup: &Setup<'_>, peer: Party, addr: SocketAddr) -> Result<Established, NetError> {
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
            Ok(stream) => {
                return match open(setup, peer, addr, stream) {
                    Ok(established) => Ok(established),
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

/// The dialling side of a new connection: TLS (if configured), then the hellos.
fn open(
    setup: &Setup<'_>,
    peer: Party,
    addr: SocketAddr,
    mut stream: TcpStream,
) -> Result<Established, HelloFailure> {
    configure(&stream, setup.deadline)?;
    let Some(identity) = setup.tls else {
        offer_hello(setup, peer, addr, &mut stream, Expected::OneOf(&[peer]))?;
        return Ok(Established::Plain(stream));
    };
    let mut tls = tls_setup::dial(identity, peer, addr, &mut stream)?;
    let mut channel = tls_setup::Blocking::new(&mut tls, &mut stream);
    offer_hello(setup, peer, addr, &mut channel, Expected::Certified(peer))
        .map_err(|failure| tls_setup::explain_failure(identity, Some(peer), addr, failure))?;
    Ok(Established::Tls {
        socket: stream,
        tls: Box::new(tls),
    })
}

/// Hello out, the peer's hello in, both checked.
fn offer_hello(
    setup: &Setup<'_>,
    peer: Party,
    addr: SocketAddr,
    channel: &mut (impl Read + Write),
    expected: Expected<'_>,
) -> Result<(), HelloFailure> {
    channel.write_all(&handshake::encode(setup.me, setup.session_id))?;
    channel.flush()?;
    let mut answer = [0; HELLO_BYTES];
    let read = read_up_to(channel, &mut answer)?;
    if read < HELLO_BYTES {
        // A TLS party answers a plaintext hello with an alert and hangs up.
        if handshake::looks_like_tls(&answer[..read]) {
            return Err(NetError::TlsPeer {
                peer: Some(peer),
                addr,
            }
            .into());
        }
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    let hello = handshake::parse(&answer, addr)?;
    handshake::check(&hello, setup.me, addr, expected, setup.session_id)?;
    Ok(())
}

/// Reads until `buffer` is full or the stream ends; returns how much was read.
fn read_up_to(input: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Accepts one connection from each higher-indexed party, in whatever order they
/// come.
fn accept_all(
    setup: &Setup<'_>,
    listener: &TcpListener,
    streams: &mut [Option<Established>; 3],
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
            Ok((stream, addr)) => match admit(setup, addr, &missing, stream) {
                Ok((peer, established)) => {
                    missing.retain(|&waiting| waiting != peer);
                    streams[peer.index()] = Some(established);
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

/// The accepting side of a new connection: TLS (if configured), then the hellos.
fn admit(
    setup: &Setup<'_>,
    addr: SocketAddr,
    expected: &[Party],
    mut stream: TcpStream,
) -> Result<(Party, Established), HelloFailure> {
    // Some platforms hand out accepted sockets non-blocking like their listener.
    stream.set_nonblocking(false)?;
    configure(&stream, setup.deadline)?;
    let Some(identity) = setup.tls else {
        let peer = answer_hello(setup, addr, Expected::OneOf(expected), &mut stream).inspect_err(
            |failure| {
                if matches!(failure, HelloFailure::Rejected(NetError::TlsPeer { .. })) {
                    // Our hello went out so that the TLS dialler can tell why too.
                    close_gently(&mut stream);
                }
            },
        )?;
        return Ok((peer, Established::Plain(stream)));
    };
    let (claimed, mut tls) = tls_setup::accept(identity, addr, expected, &mut stream)?;
    let mut channel = tls_setup::Blocking::new(&mut tls, &mut stream);
    let peer = answer_hello(setup, addr, Expected::Certified(claimed), &mut channel)
        .map_err(|failure| tls_setup::explain_failure(identity, Some(claimed), addr, failure))?;
    Ok((
        peer,
        Established::Tls {
            socket: stream,
            tls: Box::new(tls),
        },
    ))
}

/// Read the hello, answer with ours once we know it is one of us (so the dialler
/// can diagnose a mismatch too), then check.
fn answer_hello(
    setup: &Setup<'_>,
    addr: SocketAddr,
    expected: Expected<'_>,
    channel: &mut (impl Read + Write),
) -> Result<Party, HelloFailure> {
    let mut offer = [0; HELLO_BYTES];
    channel.read_exact(&mut offer)?;
    let ours = handshake::encode(setup.me, setup.session_id);
    let hello = handshake::parse(&offer, addr).inspect_err(|error| {
        if matches!(error, NetError::TlsPeer { .. }) {
            // The TLS dialler reads our plaintext hello and reports the mix-up.
            let _ = channel.write_all(&ours).and_then(|()| channel.flush());
        }
    })?;
    channel.write_all(&ours)?;
    channel.flush()?;
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

/// Why setting up one connection failed: an I/O error (the caller knows whether
/// that means a timeout or a hang-up), or a precise refusal.
pub(crate) enum HelloFailure {
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

//! The TLS handshake on a freshly connected socket, before the hello and the link.
//!
//! The dialler is the TLS client and names itself in the server name indication
//! (`p2.cryptflow` for P2); the acceptor reads that claim from the ClientHello and
//! then requires exactly the certificate pinned for that party. So when a
//! certificate is refused, both ends know which party it was meant to be.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use cryptflow_ring::Party;
use rustls::pki_types::ServerName;
use rustls::server::Acceptor;
use rustls::{AlertDescription, CertificateError, ClientConnection, Connection};

use super::verify::NotPinned;
use super::TlsIdentity;
use crate::error::tls_source;
use crate::handshake::{HELLO_BYTES, MAGIC};
use crate::mesh::HelloFailure;
use crate::NetError;

const SERVER_NAME_SUFFIX: &str = ".cryptflow";

/// How long a refused peer gets to read our refusal before we close.
const REFUSAL_GRACE: Duration = Duration::from_millis(500);

/// The server name a dialler sends: its own party, e.g. `p2.cryptflow`.
pub(crate) fn server_name(party: Party) -> String {
    format!("p{}{SERVER_NAME_SUFFIX}", party.index())
}

/// The party a server name claims, if it is one of ours.
pub(crate) fn party_from_server_name(name: &str) -> Option<Party> {
    let index = name.strip_prefix('p')?.strip_suffix(SERVER_NAME_SUFFIX)?;
    if index.len() != 1 {
        return None;
    }
    Party::from_index(index.parse().ok()?)
}

/// The dialling side: a TLS client that accepts only `peer`'s pinned certificate.
pub(crate) fn dial(
    identity: &TlsIdentity,
    peer: Party,
    addr: SocketAddr,
    stream: &mut TcpStream,
) -> Result<Connection, HelloFailure> {
    let me = identity.party();
    let failed = |source| HelloFailure::Rejected(explain(identity, Some(peer), addr, source));
    let config = identity
        .client_config(peer)
        .ok_or(NetError::SelfMessage { party: me })?;
    let name = ServerName::try_from(server_name(me)).map_err(|_| {
        failed(rustls::Error::General(
            "our own server name is invalid".to_owned(),
        ))
    })?;
    let mut tls = Connection::Client(ClientConnection::new(config, name).map_err(failed)?);
    while tls.wants_write() {
        tls.write_tls(stream)?;
    }
    // A plaintext party answers a ClientHello with its own hello, so that we can
    // tell the user what is wrong rather than report garbage.
    let opening = read_opening(stream)?;
    if opening.starts_with(&MAGIC) {
        return Err(NetError::PlaintextPeer {
            peer: Some(peer),
            addr,
        }
        .into());
    }
    feed(&mut tls, &opening, stream)
        .and_then(|()| complete_handshake(&mut tls, stream))
        .map_err(|failure| explain_failure(identity, Some(peer), addr, failure))?;
    Ok(tls)
}

/// The accepting side: reads the ClientHello, takes the party it claims (which
/// must be one we expect), and requires that party's pinned certificate.
pub(crate) fn accept(
    identity: &TlsIdentity,
    addr: SocketAddr,
    expected: &[Party],
    stream: &mut TcpStream,
) -> Result<(Party, Connection), HelloFailure> {
    let me = identity.party();
    let mut opening = read_opening(stream)?;
    if opening.starts_with(&MAGIC) {
        let claimed = opening
            .get(6)
            .and_then(|&index| Party::from_index(index.into()));
        refuse_plaintext(stream, &opening);
        return Err(NetError::PlaintextPeer {
            peer: claimed,
            addr,
        }
        .into());
    }
    let failed = |peer, source| HelloFailure::Rejected(explain(identity, peer, addr, source));
    let mut acceptor = Acceptor::default();
    let accepted = loop {
        let mut unread = opening.as_slice();
        while !unread.is_empty() {
            acceptor.read_tls(&mut unread)?;
        }
        match acceptor.accept() {
            Ok(Some(accepted)) => break accepted,
            Ok(None) => opening = read_some(stream)?,
            Err((error, mut alert)) => {
                let _ = alert.write_all(stream);
                return Err(failed(None, error));
            }
        }
    };
    let server_name = accepted.client_hello().server_name().map(str::to_owned);
    let Some(claimed) = server_name.as_deref().and_then(party_from_server_name) else {
        return Err(NetError::UnnamedTlsPeer { addr, server_name }.into());
    };
    if !expected.contains(&claimed) {
        return Err(NetError::UnexpectedParty {
            me,
            addr,
            found: claimed.index() as u8,
            expected: expected.to_vec(),
        }
        .into());
    }
    let config = identity
        .server_config(claimed)
        .ok_or(NetError::SelfMessage { party: me })?;
    let mut tls = match accepted.into_connection(config) {
        Ok(server) => Connection::Server(server),
        Err((error, mut alert)) => {
            let _ = alert.write_all(stream);
            return Err(failed(Some(claimed), error));
        }
    };
    complete_handshake(&mut tls, stream)
        .map_err(|failure| explain_failure(identity, Some(claimed), addr, failure))?;
    Ok((claimed, tls))
}

/// Plaintext I/O on a connection during setup, on the calling thread (the link's
/// split comes after): the hello exchange inside TLS.
pub(crate) struct Blocking<'a> {
    tls: &'a mut Connection,
    socket: &'a mut TcpStream,
}

impl<'a> Blocking<'a> {
    pub(crate) fn new(tls: &'a mut Connection, socket: &'a mut TcpStream) -> Blocking<'a> {
        Blocking { tls, socket }
    }
}

impl Read for Blocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                // Data, a clean close (0), or the socket ended without one.
                other => return other,
            }
            // 0 bytes marks the end of the stream for rustls; the next `reader`
            // call then reports it.
            self.tls.read_tls(self.socket)?;
            if let Err(error) = self.tls.process_new_packets() {
                // Send the alert rustls prepared, so the peer learns why too.
                let _ = self.tls.write_tls(self.socket);
                return Err(io::Error::new(io::ErrorKind::InvalidData, error));
            }
        }
    }
}

impl Write for Blocking<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.tls.writer().write(buf)?;
        self.flush()?;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            self.tls.write_tls(self.socket)?;
        }
        self.socket.flush()
    }
}

/// Turns a rustls error carried by an I/O error (as `complete_io` and
/// `rustls::Stream` report them) into the precise [`NetError`].
pub(crate) fn explain_failure(
    identity: &TlsIdentity,
    peer: Option<Party>,
    addr: SocketAddr,
    failure: HelloFailure,
) -> HelloFailure {
    match failure {
        HelloFailure::Io(error) => match tls_source(&error) {
            Some(source) => HelloFailure::Rejected(explain(identity, peer, addr, source.clone())),
            None => HelloFailure::Io(error),
        },
        rejected => rejected,
    }
}

/// Names the party and the certificates involved in a TLS failure.
fn explain(
    identity: &TlsIdentity,
    peer: Option<Party>,
    addr: SocketAddr,
    source: rustls::Error,
) -> NetError {
    match &source {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            if let Some(refusal) = other.0.downcast_ref::<NotPinned>() {
                let pinned = identity.pinned(refusal.party);
                return NetError::PeerCertificateRejected {
                    peer: refusal.party,
                    addr,
                    pinned: pinned.label.clone(),
                    presented: refusal.presented.clone(),
                    expected: pinned.fingerprint.clone(),
                };
            }
        }
        rustls::Error::AlertReceived(alert) if is_certificate_alert(*alert) => {
            return NetError::CertificateRefusedByPeer {
                me: identity.party(),
                peer,
                addr,
                ours: identity.fingerprint().to_owned(),
                alert: format!("{alert:?}"),
            };
        }
        _ => {}
    }
    NetError::TlsHandshake { peer, addr, source }
}

/// The alerts a TLS stack sends when it does not accept the certificate it got.
fn is_certificate_alert(alert: AlertDescription) -> bool {
    matches!(
        alert,
        AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateRequired
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied
    )
}

/// Drives the handshake on the blocking socket (its timeouts bound each wait).
fn complete_handshake(tls: &mut Connection, stream: &mut TcpStream) -> Result<(), HelloFailure> {
    while tls.is_handshaking() {
        tls.complete_io(stream)?;
    }
    Ok(())
}

/// Hands bytes we read ourselves to rustls and processes them; on a TLS error the
/// alert rustls prepared is sent before reporting it.
fn feed(tls: &mut Connection, bytes: &[u8], stream: &mut TcpStream) -> Result<(), HelloFailure> {
    let mut unread = bytes;
    while !unread.is_empty() {
        tls.read_tls(&mut unread)?;
        if let Err(error) = tls.process_new_packets() {
            let _ = tls.write_tls(stream);
            return Err(io::Error::new(io::ErrorKind::InvalidData, error).into());
        }
    }
    Ok(())
}

/// The first bytes the other end sends: at least the 4 of a magic, unless it hangs
/// up first; all 23 of a hello if it is one.
fn read_opening(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut opening = read_some(stream)?;
    while opening.len() < MAGIC.len() {
        opening.extend(read_some(stream)?);
    }
    if opening.starts_with(&MAGIC) && opening.len() < HELLO_BYTES {
        // The whole hello, so that closing leaves nothing unread (which would turn
        // our close into a reset that could swallow our refusal).
        let mut rest = vec![0; HELLO_BYTES - opening.len()];
        stream.read_exact(&mut rest)?;
        opening.extend(rest);
    }
    Ok(opening)
}

/// One read; the end of the stream here is an error (the peer hung up).
fn read_some(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut buffer = vec![0; 4096];
    let read = stream.read(&mut buffer)?;
    if read == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    buffer.truncate(read);
    Ok(buffer)
}

/// Answers a plaintext hello with the TLS alert rustls gives for it, so the
/// plaintext party can report that we speak TLS, then closes gently.
fn refuse_plaintext(stream: &mut TcpStream, hello: &[u8]) {
    let mut acceptor = Acceptor::default();
    let mut unread = hello;
    while !unread.is_empty() {
        if acceptor.read_tls(&mut unread).is_err() {
            break;
        }
    }
    if let Err((_, mut alert)) = acceptor.accept() {
        let _ = alert.write_all(stream);
    }
    close_gently(stream);
}

/// Closes our sending half and waits briefly for the peer to hang up, so our last
/// bytes are read rather than lost to a reset.
pub(crate) fn close_gently(stream: &mut TcpStream) {
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(REFUSAL_GRACE));
    let mut scratch = [0; 4096];
    for _ in 0..64 {
        match stream.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use cryptflow_ring::Party;
use thiserror::Error;

/// What a host did to a message between two attested boundaries. Indices are the
/// sender's count of its outgoing messages (to any peer, from 0), which every message
/// carries under its authentication tag.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Misbehaviour {
    /// The bytes fail authentication: changed on the way (or made up).
    #[error("changed the bytes of its message {}", index_or_unknown(.message))]
    Changed { message: Option<u64> },
    /// An authentic message arrived a second time.
    #[error("replayed its message {message}")]
    Replayed { message: u64 },
    /// An authentic message arrived before one that was sent earlier.
    #[error("reordered its messages: message {message} arrived before an earlier one")]
    Reordered { message: u64 },
    /// A message never arrived: dropped or held back. `waited` is how long we waited
    /// for it, if nothing came; without it, a later message came in its place.
    #[error("dropped or withheld a message{}{}", after_index(.after), waited_for(.waited))]
    Dropped {
        after: Option<u64>,
        waited: Option<Duration>,
    },
}

impl Misbehaviour {
    /// Whether this was seen in an authentic message (or a failed tag), not inferred
    /// from silence.
    pub fn is_proven(&self) -> bool {
        !matches!(
            self,
            Misbehaviour::Dropped {
                waited: Some(_),
                ..
            }
        )
    }
}

fn index_or_unknown(message: &Option<u64>) -> String {
    message.map_or_else(|| "(index unreadable)".to_string(), |m| m.to_string())
}

fn after_index(after: &Option<u64>) -> String {
    after.map_or_else(String::new, |m| format!(" after its message {m}"))
}

fn waited_for(waited: &Option<Duration>) -> String {
    waited.map_or_else(
        || ": a later message came first".to_string(),
        |t| format!(": nothing arrived within {t:?}"),
    )
}

/// Everything that can go wrong between the parties.
///
/// A peer that misbehaves on the wire (wrong magic, wrong session, oversized frame,
/// malformed message) gets its own variant naming it, so a failed run says whom to
/// look at.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NetError {
    /// We dialled a peer until the connect timeout ran out.
    #[error(
        "could not connect to {peer} at {addr} within {timeout:?}: \
         is it running, and is {addr} its right address?"
    )]
    ConnectTimeout {
        peer: Party,
        addr: SocketAddr,
        timeout: Duration,
        /// The error of the last attempt (refused, timed out, ...), if there was one.
        #[source]
        last_error: Option<io::Error>,
    },

    /// Peers that should have dialled us did not complete a handshake in time.
    #[error(
        "{} never connected to {me} listening on {listen_addr} within {timeout:?}: \
         is it running, and does it have {listen_addr} as {me}'s address?",
        party_list(missing)
    )]
    AcceptTimeout {
        me: Party,
        listen_addr: SocketAddr,
        missing: Vec<Party>,
        timeout: Duration,
    },

    /// The peer closed its connection (it exited, crashed or aborted).
    #[error("{peer} disconnected: it exited or failed; its own output says why")]
    PeerDisconnected { peer: Party },

    /// No data arrived from the peer for the whole I/O timeout.
    #[error("timed out after {timeout:?} waiting for a message from {peer}")]
    RecvTimeout { peer: Party, timeout: Duration },

    /// The peer did not take any of our data for the whole I/O timeout.
    #[error("timed out after {timeout:?} sending to {peer}: it is stuck or not reading")]
    SendTimeout { peer: Party, timeout: Duration },

    /// An earlier error left the connection mid-frame or closed; it cannot be reused.
    #[error("the connection to {peer} failed earlier and cannot be used any more")]
    ConnectionFailed { peer: Party },

    /// Attested mode: a message from `culprit` failed authentication or ordering, so
    /// its host (which only carries bytes it cannot forge) changed, replayed,
    /// reordered or withheld it.
    #[error("{culprit}'s host {what}")]
    HostMisbehaved { culprit: Party, what: Misbehaviour },

    /// Attested mode: `reporter`'s boundary aborted the session and said why, in a
    /// message authenticated with the key only its boundary holds.
    #[error("{reporter} aborted the session: {reason}")]
    PeerAborted {
        reporter: Party,
        /// Whom the reporter blames, if it found a culprit.
        culprit: Option<Party>,
        /// Whether the reporter had proof (a failed tag, an authentic message out of
        /// place), not just silence, which a stall elsewhere can also explain.
        proven: bool,
        reason: String,
    },

    /// Whoever is at `addr` does not speak this protocol.
    #[error(
        "{addr} is not a cryptflow party: it opened with {found:?} instead of \"CFLW\"; \
         check the address"
    )]
    BadMagic { addr: SocketAddr, found: [u8; 4] },

    /// The peer runs an incompatible build.
    #[error(
        "{addr} speaks protocol version {theirs} but we speak {ours}: \
         run the same cryptflow version on every party"
    )]
    VersionMismatch {
        addr: SocketAddr,
        ours: u16,
        theirs: u16,
    },

    /// The peer claims a party index we did not expect (a duplicate, ourselves, a
    /// party that should be accepting rather than dialling, or no party at all).
    #[error(
        "{addr} says it is party index {found}, but {me} expected {}: \
         check each party's --party and address list",
        party_list(expected)
    )]
    UnexpectedParty {
        me: Party,
        addr: SocketAddr,
        found: u8,
        expected: Vec<Party>,
    },

    /// The peer belongs to another run.
    #[error(
        "{peer} is in session {} but we are in session {}: \
         give every party the same session id",
        hex(theirs),
        hex(ours)
    )]
    SessionMismatch {
        peer: Party,
        ours: [u8; 16],
        theirs: [u8; 16],
    },

    /// We require TLS but the peer opened (or answered) with the plaintext hello.
    #[error(
        "{} speaks plaintext, but this party requires TLS: start every party with \
         --key and --certs, or every party with --plaintext",
        who(peer, addr)
    )]
    PlaintextPeer {
        peer: Option<Party>,
        addr: SocketAddr,
    },

    /// We run in plaintext but the peer opened (or answered) with TLS.
    #[error(
        "{} speaks TLS, but this party runs with --plaintext: give every party --key \
         and --certs, or every party --plaintext",
        who(peer, addr)
    )]
    TlsPeer {
        peer: Option<Party>,
        addr: SocketAddr,
    },

    /// The peer's certificate is not the one pinned for the party it is (the one we
    /// dialled) or claims to be (the one named in its TLS server name).
    #[error(
        "a connection claiming to be {peer} presented a certificate that is not {pinned} \
         (it presented fingerprint {presented}; {pinned} has {expected}; peer address \
         {addr}): if {peer} made a new key, copy its new certificate into every party's \
         --certs directory; otherwise something else is posing as {peer}"
    )]
    PeerCertificateRejected {
        peer: Party,
        addr: SocketAddr,
        /// The pinned certificate, e.g. `certs/party2.crt`.
        pinned: String,
        presented: String,
        expected: String,
    },

    /// The peer refused our certificate during the TLS handshake.
    #[error(
        "{} rejected our certificate (TLS alert {alert}): check that its --certs \
         directory holds our current certificate as party{}.crt (fingerprint {ours}), \
         and that we run with the right --key",
        who(peer, addr),
        me.index()
    )]
    CertificateRefusedByPeer {
        me: Party,
        peer: Option<Party>,
        addr: SocketAddr,
        ours: String,
        alert: String,
    },

    /// The peer authenticated as one party but its hello (inside TLS) claims another.
    #[error(
        "{addr} authenticated with the certificate of {certified} but its hello says it \
         is party index {claimed}: refusing it"
    )]
    PartyNotCertified {
        addr: SocketAddr,
        certified: Party,
        claimed: u8,
    },

    /// A TLS dialler did not name a party in its server name (`p0.cryptflow` ...).
    #[error(
        "the TLS connection from {addr} does not say which party it is (server name \
         {server_name:?}): is it a cryptflow party of this version?"
    )]
    UnnamedTlsPeer {
        addr: SocketAddr,
        server_name: Option<String>,
    },

    /// The TLS handshake failed for a reason other than the certificates.
    #[error("the TLS handshake with {} failed", who(peer, addr))]
    TlsHandshake {
        peer: Option<Party>,
        addr: SocketAddr,
        #[source]
        source: rustls::Error,
    },

    /// A record from the peer failed to decrypt or parse after the handshake: the
    /// traffic was tampered with or corrupted on the way.
    #[error("the TLS channel with {peer} failed: its traffic was corrupted or tampered with")]
    TlsChannel {
        peer: Party,
        #[source]
        source: rustls::Error,
    },

    /// A key or certificate file could not be read or holds no PEM item of its kind.
    #[error("cannot load {what} from {}: {hint}", path.display())]
    TlsFile {
        path: PathBuf,
        what: &'static str,
        /// What to do about it.
        hint: &'static str,
        #[source]
        source: rustls::pki_types::pem::Error,
    },

    /// The private key is not the one of our own pinned certificate.
    #[error(
        "{key} is not the private key of {certificate}: {me} must run with its own \
         --key and a --certs directory holding the certificate made with that key"
    )]
    KeyMismatch {
        me: Party,
        key: String,
        certificate: String,
    },

    /// The private key is malformed or of a kind the TLS provider cannot sign with.
    #[error("cannot use {key} as a TLS key: make a new one with `cryptflow keygen`")]
    UnusableKey {
        key: String,
        #[source]
        source: rustls::Error,
    },

    /// Making a key pair and certificate failed.
    #[error("cannot make a key and certificate for {party}")]
    KeyGeneration {
        party: Party,
        #[source]
        source: rcgen::Error,
    },

    /// The TLS identity in the configuration is another party's.
    #[error("{me} was given the TLS identity of {identity}")]
    WrongIdentity { me: Party, identity: Party },

    /// A frame over the configured limit (announced by the peer, or one we were asked
    /// to send).
    #[error(
        "a message of {length} bytes exchanged with {peer} exceeds the frame limit of \
         {limit} bytes"
    )]
    FrameTooLarge {
        peer: Party,
        length: u64,
        limit: u64,
    },

    /// A message arrived whole but its contents do not fit what was expected.
    #[error("malformed message from {peer}: {reason}")]
    MalformedMessage { peer: Party, reason: String },

    /// An authentic message labelled for another protocol step than the one the
    /// receiver is at: the sender's code follows another schedule. The labels are
    /// the protocol's (`cryptflow_protocol::msgs::Label::code`).
    #[error("{peer} sent a message labelled {got:#x} where one labelled {expected:#x} was due")]
    OutOfStep {
        peer: Party,
        expected: u64,
        got: u64,
    },

    /// A party tried to send to or receive from itself.
    #[error("{party} tried to exchange a message with itself")]
    SelfMessage { party: Party },

    /// Any other I/O failure; `context` says what we were doing.
    #[error("I/O error while {context}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl NetError {
    /// The party this error proves or says misbehaved (its host, or its boundary's
    /// schedule), if it names one.
    pub fn culprit(&self) -> Option<Party> {
        match self {
            NetError::HostMisbehaved { culprit, .. } => Some(*culprit),
            NetError::PeerAborted { culprit, .. } => *culprit,
            NetError::OutOfStep { peer, .. } => Some(*peer),
            _ => None,
        }
    }
}

/// "P1 (client) and P2 (helper)".
fn party_list(parties: &[Party]) -> String {
    match parties {
        [] => "no party".to_owned(),
        [only] => only.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(Party::to_string).collect();
            format!("{} and {last}", init.join(", "))
        }
    }
}

/// "P2 (helper) at 127.0.0.1:7002", or "the peer at 127.0.0.1:7002" when we do not
/// know which party it is.
fn who(peer: &Option<Party>, addr: &SocketAddr) -> String {
    match peer {
        Some(peer) => format!("{peer} at {addr}"),
        None => format!("the peer at {addr}"),
    }
}

fn hex(bytes: &[u8; 16]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether an I/O error means the other end has gone away.
pub(crate) fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
    )
}

/// The TLS error an I/O error carries, if it came out of rustls (which reports
/// bad records as `InvalidData` with the rustls error inside).
pub(crate) fn tls_source(error: &io::Error) -> Option<&rustls::Error> {
    if error.kind() != io::ErrorKind::InvalidData {
        return None;
    }
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

/// Whether an I/O error is a socket timeout (Unix reports `WouldBlock`, Windows
/// `TimedOut`).
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_parties() {
        let error = NetError::AcceptTimeout {
            me: Party::ModelOwner,
            listen_addr: "127.0.0.1:7000".parse().unwrap(),
            missing: vec![Party::Client, Party::Helper],
            timeout: Duration::from_secs(1),
        };
        let text = error.to_string();
        assert!(text.starts_with("P1 (client) and P2 (helper) never connected to P0"));

        let error = NetError::SessionMismatch {
            peer: Party::Helper,
            ours: [0; 16],
            theirs: [0xab; 16],
        };
        assert!(error.to_string().contains(&"ab".repeat(16)));
    }
}

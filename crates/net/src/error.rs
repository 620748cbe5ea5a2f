use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use cryptflow_ring::Party;
use thiserror::Error;

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

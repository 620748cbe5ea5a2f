//! The hello both ends of a new connection exchange, with no I/O: encoding, parsing
//! and the checks. The dialling side sends its hello first; the accepting side
//! answers with its own as soon as it has seen the magic, so that on a version,
//! party or session mismatch *both* ends can report the precise reason.
//!
//! Layout (23 bytes): magic `b"CFLW"`, protocol version (u16 little-endian), the
//! sender's party index (u8), the 16-byte session id.

use std::net::SocketAddr;

use cryptflow_ring::Party;

use crate::NetError;

const MAGIC: [u8; 4] = *b"CFLW";

/// Bumped whenever the framing or the hello changes; the magic and this field stay
/// where they are so that any two versions can tell each other apart.
pub(crate) const PROTOCOL_VERSION: u16 = 1;

pub(crate) const HELLO_BYTES: usize = 4 + 2 + 1 + 16;

/// A hello whose magic was right; the rest is still unchecked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hello {
    version: u16,
    party_index: u8,
    session_id: [u8; 16],
}

pub(crate) fn encode(me: Party, session_id: &[u8; 16]) -> [u8; HELLO_BYTES] {
    let mut bytes = [0; HELLO_BYTES];
    bytes[..4].copy_from_slice(&MAGIC);
    bytes[4..6].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    // Three parties: the index always fits a byte.
    bytes[6] = me.index() as u8;
    bytes[7..].copy_from_slice(session_id);
    bytes
}

/// Checks only the magic: enough to know the sender speaks this protocol and is
/// worth answering.
pub(crate) fn parse(bytes: &[u8; HELLO_BYTES], addr: SocketAddr) -> Result<Hello, NetError> {
    let [m0, m1, m2, m3, v0, v1, party_index, session @ ..] = *bytes;
    let found = [m0, m1, m2, m3];
    if found != MAGIC {
        return Err(NetError::BadMagic { addr, found });
    }
    Ok(Hello {
        version: u16::from_le_bytes([v0, v1]),
        party_index,
        session_id: session,
    })
}

/// Checks version, party and session, in that order (a different version may mean
/// the later fields mean something else). Returns the party the peer is.
pub(crate) fn check(
    hello: &Hello,
    me: Party,
    addr: SocketAddr,
    expected: &[Party],
    session_id: &[u8; 16],
) -> Result<Party, NetError> {
    if hello.version != PROTOCOL_VERSION {
        return Err(NetError::VersionMismatch {
            addr,
            ours: PROTOCOL_VERSION,
            theirs: hello.version,
        });
    }
    let peer = Party::from_index(usize::from(hello.party_index))
        .filter(|party| expected.contains(party))
        .ok_or_else(|| NetError::UnexpectedParty {
            me,
            addr,
            found: hello.party_index,
            expected: expected.to_vec(),
        })?;
    if hello.session_id != *session_id {
        return Err(NetError::SessionMismatch {
            peer,
            ours: *session_id,
            theirs: hello.session_id,
        });
    }
    Ok(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:9000".parse().unwrap()
    }

    fn parse_and_check(bytes: &[u8; HELLO_BYTES], expected: &[Party]) -> Result<Party, NetError> {
        let hello = parse(bytes, addr())?;
        check(&hello, Party::ModelOwner, addr(), expected, &[7; 16])
    }

    #[test]
    fn a_matching_hello_names_the_sender() {
        let bytes = encode(Party::Helper, &[7; 16]);
        assert_eq!(&bytes[..4], b"CFLW");
        let peer = parse_and_check(&bytes, &[Party::Client, Party::Helper]).unwrap();
        assert_eq!(peer, Party::Helper);
    }

    #[test]
    fn each_tampered_field_gives_its_own_error() {
        let good = encode(Party::Client, &[7; 16]);
        let expected = [Party::Client, Party::Helper];

        let mut bytes = good;
        bytes[0] = b'X';
        assert!(matches!(
            parse_and_check(&bytes, &expected),
            Err(NetError::BadMagic { found, .. }) if found == *b"XFLW"
        ));

        let mut bytes = good;
        bytes[4] ^= 1;
        assert!(matches!(
            parse_and_check(&bytes, &expected),
            Err(NetError::VersionMismatch {
                ours: 1,
                theirs: 0,
                ..
            })
        ));

        for index in [0, 3, 255] {
            let mut bytes = good;
            bytes[6] = index;
            assert!(matches!(
                parse_and_check(&bytes, &expected),
                Err(NetError::UnexpectedParty { found, .. }) if found == index
            ));
        }

        let mut bytes = good;
        bytes[22] ^= 1;
        assert!(matches!(
            parse_and_check(&bytes, &expected),
            Err(NetError::SessionMismatch {
                peer: Party::Client,
                ..
            })
        ));
    }

    #[test]
    fn a_party_already_connected_is_unexpected() {
        let bytes = encode(Party::Client, &[7; 16]);
        assert!(matches!(
            parse_and_check(&bytes, &[Party::Helper]),
            Err(NetError::UnexpectedParty { found: 1, .. })
        ));
    }
}

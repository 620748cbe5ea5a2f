//! The hello both ends of a new connection exchange, with no I/O: encoding, parsing
//! and the checks. The dialling side sends its hello first; the accepting side
//! answers with its own as soon as it has seen the magic, so that on a version,
//! party or session mismatch *both* ends can report the precise reason.
//!
//! Layout (23 bytes): magic `b"CFLW"`, protocol version (u16 little-endian), the
//! sender's party index (u8), the 16-byte session id.
//!
//! Over TLS the same hello travels inside the encrypted channel, after the
//! certificates have been checked, and the party it claims must be the one whose
//! certificate the peer presented. A plaintext party that receives the start of a
//! TLS handshake (or the reverse) recognises it, so a mix of the two modes fails
//! with a clear error on both ends.

use std::net::SocketAddr;

use cryptflow_ring::Party;

use crate::NetError;

pub(crate) const MAGIC: [u8; 4] = *b"CFLW";

/// Bumped whenever the framing or the hello changes; the magic and this field stay
/// where they are so that any two versions can tell each other apart.
/// 2: TLS between the parties, the hello inside it.
pub(crate) const PROTOCOL_VERSION: u16 = 2;

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

/// Whom a hello may come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expected<'a> {
    /// Plaintext: any of these parties (their claim is all we have).
    OneOf(&'a [Party]),
    /// TLS: exactly the party whose certificate the peer presented.
    Certified(Party),
}

/// Whether `bytes` start like a TLS record (a handshake, alert, ...): content type
/// 20..=23, then the major version 3.
pub(crate) fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [20..=23, 3, ..])
}

/// Checks only the magic: enough to know the sender speaks this protocol and is
/// worth answering. A TLS record where the hello should be is its own error.
pub(crate) fn parse(bytes: &[u8; HELLO_BYTES], addr: SocketAddr) -> Result<Hello, NetError> {
    let [m0, m1, m2, m3, v0, v1, party_index, session @ ..] = *bytes;
    let found = [m0, m1, m2, m3];
    if looks_like_tls(bytes) {
        return Err(NetError::TlsPeer { peer: None, addr });
    }
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
    expected: Expected<'_>,
    session_id: &[u8; 16],
) -> Result<Party, NetError> {
    if hello.version != PROTOCOL_VERSION {
        return Err(NetError::VersionMismatch {
            addr,
            ours: PROTOCOL_VERSION,
            theirs: hello.version,
        });
    }
    let claimed = Party::from_index(usize::from(hello.party_index));
    let peer =
        match expected {
            Expected::OneOf(parties) => claimed
                .filter(|party| parties.contains(party))
                .ok_or_else(|| NetError::UnexpectedParty {
                    me,
                    addr,
                    found: hello.party_index,
                    expected: parties.to_vec(),
                })?,
            Expected::Certified(certified) => {
                claimed
                    .filter(|&party| party == certified)
                    .ok_or(NetError::PartyNotCertified {
                        addr,
                        certified,
                        claimed: hello.party_index,
                    })?
            }
        };
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
        check(
            &hello,
            Party::ModelOwner,
            addr(),
            Expected::OneOf(expected),
            &[7; 16],
        )
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
                ours: 2,
                theirs: 3,
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
    fn the_start_of_a_tls_handshake_is_recognised() {
        // What a TLS client sends first: a handshake record, legacy version 3.1.
        let mut bytes = [0; HELLO_BYTES];
        bytes[..3].copy_from_slice(&[0x16, 0x03, 0x01]);
        assert!(matches!(
            parse_and_check(&bytes, &[Party::Client]),
            Err(NetError::TlsPeer { peer: None, .. })
        ));
        // A TLS alert, as a TLS party answers a plaintext hello.
        assert!(looks_like_tls(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]));
        assert!(!looks_like_tls(b"CFLW"));
        assert!(!looks_like_tls(&[0x16]));
    }

    #[test]
    fn over_tls_the_hello_must_claim_the_certified_party() {
        let hello = parse(&encode(Party::Client, &[7; 16]), addr()).unwrap();
        let check_certified = |certified| {
            check(
                &hello,
                Party::ModelOwner,
                addr(),
                Expected::Certified(certified),
                &[7; 16],
            )
        };
        assert_eq!(check_certified(Party::Client).unwrap(), Party::Client);
        assert!(matches!(
            check_certified(Party::Helper),
            Err(NetError::PartyNotCertified {
                certified: Party::Helper,
                claimed: 1,
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

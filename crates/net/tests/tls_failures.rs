//! What a party sees when a peer's certificate, mode or hello is wrong over TLS.

mod tcp_support;
mod tls_support;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use cryptflow_net::tls::{generate, PartyCertificate};
use cryptflow_net::{NetError, Party, TcpConfig, TcpTransport, TlsIdentity, Transport};
use tcp_support::{config, listeners, run_parties};
use tls_support::{hello, keys, pinning, tls_config, RawClient};

/// Runs the parties in `present` and returns their setup errors, checking that
/// they fail at once rather than waiting for anyone's timeout.
fn setup_errors(present: &[(Party, TcpConfig)]) -> Vec<Option<NetError>> {
    let start = Instant::now();
    let errors = run_parties(present, |transport| transport.err());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    errors
}

#[test]
fn an_acceptor_refuses_a_certificate_not_pinned_for_the_party_and_both_ends_say_so() {
    // P2 made a new key, but P0 still pins its old certificate.
    let old = keys();
    let new = generate(Party::Helper).unwrap();
    let p2 = pinning(Party::Helper, &new, [&old[0], &old[1], &new]);
    let errors = setup_errors(&[
        (Party::ModelOwner, tls_config(Party::ModelOwner, &old)),
        (Party::Helper, p2),
    ]);
    match &errors[..] {
        [Some(
            p0 @ NetError::PeerCertificateRejected {
                peer: Party::Helper,
                presented,
                expected,
                ..
            },
        ), Some(
            p2 @ NetError::CertificateRefusedByPeer {
                me: Party::Helper,
                peer: Some(Party::ModelOwner),
                ours,
                ..
            },
        )] => {
            assert_eq!(presented, &new.fingerprint);
            assert_eq!(expected, &old[2].fingerprint);
            assert_eq!(ours, &new.fingerprint);
            let text = p0.to_string();
            assert!(
                text.starts_with("a connection claiming to be P2 (helper)")
                    && text.contains("the certificate pinned for P2 (helper)")
                    && text.contains(&new.fingerprint),
                "{text}"
            );
            let text = p2.to_string();
            assert!(
                text.starts_with("P0 (model owner)") && text.contains("rejected our certificate"),
                "{text}"
            );
        }
        other => panic!("expected the certificate refused on both ends, got {other:?}"),
    }
}

#[test]
fn a_dialler_refuses_a_certificate_not_pinned_for_the_party_it_dialled() {
    // P1 pins a certificate for P0 that P0 does not have.
    let keys = keys();
    let stranger = generate(Party::ModelOwner).unwrap();
    let p1 = pinning(Party::Client, &keys[1], [&stranger, &keys[1], &keys[2]]);
    let errors = setup_errors(&[
        (Party::ModelOwner, tls_config(Party::ModelOwner, &keys)),
        (Party::Client, p1),
    ]);
    match &errors[..] {
        [Some(NetError::CertificateRefusedByPeer {
            me: Party::ModelOwner,
            peer: Some(Party::Client),
            ..
        }), Some(NetError::PeerCertificateRejected {
            peer: Party::ModelOwner,
            presented,
            expected,
            ..
        })] => {
            assert_eq!(presented, &keys[0].fingerprint);
            assert_eq!(expected, &stranger.fingerprint);
        }
        other => panic!("expected the certificate refused on both ends, got {other:?}"),
    }
}

#[test]
fn a_plaintext_dialler_and_a_tls_acceptor_both_name_the_mix_up() {
    let keys = keys();
    let errors = setup_errors(&[
        (Party::ModelOwner, tls_config(Party::ModelOwner, &keys)),
        (Party::Client, config()),
    ]);
    match &errors[..] {
        [Some(
            p0 @ NetError::PlaintextPeer {
                peer: Some(Party::Client),
                ..
            },
        ), Some(
            p1 @ NetError::TlsPeer {
                peer: Some(Party::ModelOwner),
                ..
            },
        )] => {
            assert!(p0.to_string().contains("speaks plaintext"), "{p0}");
            assert!(p1.to_string().contains("speaks TLS"), "{p1}");
        }
        other => panic!("expected PlaintextPeer and TlsPeer, got {other:?}"),
    }
}

#[test]
fn a_tls_dialler_and_a_plaintext_acceptor_both_name_the_mix_up() {
    let keys = keys();
    let errors = setup_errors(&[
        (Party::ModelOwner, config()),
        (Party::Client, tls_config(Party::Client, &keys)),
    ]);
    match &errors[..] {
        [Some(NetError::TlsPeer { peer: None, .. }), Some(NetError::PlaintextPeer {
            peer: Some(Party::ModelOwner),
            ..
        })] => {}
        other => panic!("expected TlsPeer and PlaintextPeer, got {other:?}"),
    }
}

/// P0 alone, with TLS, against a raw TLS client; returns P0's error.
fn p0_against(
    client: impl FnOnce(std::net::SocketAddr, &[PartyCertificate; 3]),
) -> Option<NetError> {
    let keys = keys();
    let (listeners, addrs) = listeners();
    let [listener, ..] = listeners;
    let config = tls_config(Party::ModelOwner, &keys);
    let p0 = thread::spawn(move || {
        TcpTransport::connect_with_listener(Party::ModelOwner, listener, addrs, &config).err()
    });
    client(addrs[0], &keys);
    p0.join().unwrap()
}

#[test]
fn a_hello_claiming_another_party_than_the_certificate_is_refused() {
    let error = p0_against(|addr, keys| {
        // P2's real certificate, but a hello that says P1.
        let mut raw = RawClient::connect(addr, &keys[2], "p2.cryptflow");
        raw.write(&hello(1, &config().session_id)).unwrap();
        let mut answer = [0; 23];
        let _ = raw.read_exact(&mut answer);
    });
    assert!(
        matches!(
            error,
            Some(NetError::PartyNotCertified {
                certified: Party::Helper,
                claimed: 1,
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn a_certificate_of_another_party_is_refused_naming_the_claimed_one() {
    // P1's real certificate, but the connection claims to be P2.
    let error = p0_against(|addr, keys| {
        let mut raw = RawClient::connect(addr, &keys[1], "p2.cryptflow");
        let _ = raw.write(&hello(2, &config().session_id));
    });
    assert!(
        matches!(
            error,
            Some(NetError::PeerCertificateRejected {
                peer: Party::Helper,
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn a_tls_client_that_names_no_party_is_refused() {
    let error = p0_against(|addr, keys| {
        let _ = RawClient::connect(addr, &keys[2], "example.com");
    });
    match error {
        Some(NetError::UnnamedTlsPeer { server_name, .. }) => {
            assert_eq!(server_name.as_deref(), Some("example.com"));
        }
        other => panic!("expected UnnamedTlsPeer, got {other:?}"),
    }
}

#[test]
fn a_record_that_fails_to_decrypt_is_a_tls_channel_error_naming_the_peer() {
    let keys = keys();
    let (listeners, addrs) = listeners();
    let [l0, l1, _] = listeners;
    let start = |me: Party, listener| {
        let config = tls_config(me, &keys);
        thread::spawn(move || TcpTransport::connect_with_listener(me, listener, addrs, &config))
    };
    let p0 = start(Party::ModelOwner, l0);
    let p1 = start(Party::Client, l1);
    // Play P2 with its real key: dial P0 and P1 and say hello properly.
    let mut to_peers = [addrs[0], addrs[1]].map(|addr| {
        let mut raw = RawClient::connect(addr, &keys[2], "p2.cryptflow");
        raw.write(&hello(2, &config().session_id)).unwrap();
        let mut answer = [0; 23];
        raw.read_exact(&mut answer).unwrap();
        raw
    });
    let mut p0 = p0.join().unwrap().unwrap();
    let _p1 = p1.join().unwrap().unwrap();
    // An application-data record whose contents are not sealed with the session key.
    let mut forged = vec![0x17, 0x03, 0x03, 0x00, 0x30];
    forged.extend([0x5a; 0x30]);
    to_peers[0].socket.write_all(&forged).unwrap();
    match p0.recv(Party::Helper) {
        Err(
            error @ NetError::TlsChannel {
                peer: Party::Helper,
                ..
            },
        ) => assert!(error.to_string().contains("tampered"), "{error}"),
        other => panic!("expected TlsChannel, got {other:?}"),
    }
}

#[test]
fn a_key_that_is_not_the_partys_certificate_is_refused() {
    let keys = keys();
    let certs = [0, 1, 2].map(|i| keys[i].certificate_der());
    match TlsIdentity::new(Party::Client, keys[2].key_der(), certs) {
        Err(
            error @ NetError::KeyMismatch {
                me: Party::Client, ..
            },
        ) => {
            assert!(
                error
                    .to_string()
                    .contains("the certificate pinned for P1 (client)"),
                "{error}"
            );
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }
}

#[test]
fn an_identity_of_another_party_is_refused() {
    let keys = keys();
    let config = tls_config(Party::Client, &keys);
    let (listeners, addrs) = listeners();
    let [l0, ..] = listeners;
    assert!(matches!(
        TcpTransport::connect_with_listener(Party::ModelOwner, l0, addrs, &config),
        Err(NetError::WrongIdentity {
            me: Party::ModelOwner,
            identity: Party::Client
        })
    ));
}

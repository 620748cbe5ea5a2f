//! What a party sees when a peer is absent, misconfigured or hostile.

mod tcp_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use cryptflow_net::{NetError, Party, TcpConfig, TcpTransport, Transport};
use tcp_support::{config, listeners, run_parties};

/// The protocol version these tests speak, spelled out on purpose (2: TLS and the
/// hello inside it).
const VERSION: u16 = 2;

/// The hello a party sends, spelled out here on purpose: this test should fail if
/// the wire format changes by accident.
fn hello(magic: &[u8; 4], version: u16, party_index: u8, session_id: &[u8; 16]) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.push(party_index);
    bytes.extend_from_slice(session_id);
    bytes
}

fn short_timeout() -> TcpConfig {
    TcpConfig {
        connect_timeout: Duration::from_secs(1),
        ..config()
    }
}

#[test]
fn a_party_that_never_starts_is_named_by_those_waiting_for_it() {
    // P2 never starts: P0 and P1 wait to accept it.
    let start = Instant::now();
    let present = [Party::ModelOwner, Party::Client].map(|party| (party, short_timeout()));
    let outcomes = run_parties(&present, |transport| transport.err());
    let elapsed = start.elapsed();
    for (outcome, (me, _)) in outcomes.into_iter().zip(present) {
        match outcome {
            Some(NetError::AcceptTimeout {
                me: reported,
                missing,
                timeout,
                ..
            }) => {
                assert_eq!(reported, me);
                assert_eq!(missing, [Party::Helper]);
                assert_eq!(timeout, Duration::from_secs(1));
            }
            other => panic!("{me}: expected AcceptTimeout, got {other:?}"),
        }
    }
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn a_party_nobody_answers_for_is_named_by_the_dialler() {
    // Only P2 runs; P0's and P1's addresses have nobody listening.
    let dead = || {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    let addrs = [dead(), dead(), "127.0.0.1:0".parse().unwrap()];
    let start = Instant::now();
    let outcome = TcpTransport::connect(Party::Helper, addrs, &short_timeout());
    let elapsed = start.elapsed();
    match outcome {
        Err(
            error @ NetError::ConnectTimeout {
                peer: Party::ModelOwner,
                addr,
                ..
            },
        ) => {
            assert_eq!(addr, addrs[0]);
            assert!(error.to_string().contains("P0 (model owner)"), "{error}");
        }
        other => panic!("expected ConnectTimeout naming P0, got {:?}", other.err()),
    }
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn a_wrong_session_id_fails_the_handshake_on_both_ends() {
    let other_session = TcpConfig {
        session_id: [0xee; 16],
        ..config()
    };
    let present = [
        (Party::ModelOwner, config()),
        (Party::Client, other_session),
    ];
    let start = Instant::now();
    let outcomes = run_parties(&present, |transport| transport.err());
    // Both fail at once rather than waiting for the absent helper.
    assert!(start.elapsed() < Duration::from_secs(2));
    match &outcomes[..] {
        [Some(NetError::SessionMismatch {
            peer: Party::Client,
            ours: p0_ours,
            theirs: p0_theirs,
        }), Some(NetError::SessionMismatch {
            peer: Party::ModelOwner,
            ours: p1_ours,
            theirs: p1_theirs,
        })] => {
            assert_eq!(*p0_ours, config().session_id);
            assert_eq!(*p0_theirs, [0xee; 16]);
            assert_eq!((p1_ours, p1_theirs), (p0_theirs, p0_ours));
        }
        other => panic!("expected SessionMismatch on both ends, got {other:?}"),
    }
}

/// Runs P0 alone against a raw socket that opens with `opening`; returns P0's
/// error and whatever P0 answered.
fn p0_against_raw_opening(opening: &[u8]) -> (Option<NetError>, Vec<u8>) {
    let (listeners, addrs) = listeners();
    let [listener, ..] = listeners;
    let p0 = thread::spawn(move || {
        TcpTransport::connect_with_listener(Party::ModelOwner, listener, addrs, &config()).err()
    });
    let mut raw = TcpStream::connect(addrs[0]).unwrap();
    raw.write_all(opening).unwrap();
    let error = p0.join().unwrap();
    let mut answer = Vec::new();
    // P0 has closed the connection by now, so this ends.
    let _ = raw.read_to_end(&mut answer);
    (error, answer)
}

#[test]
fn a_stranger_is_refused_without_an_answer() {
    let (error, answer) = p0_against_raw_opening(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        matches!(error, Some(NetError::BadMagic { found, .. }) if found == *b"GET "),
        "{error:?}"
    );
    assert!(answer.is_empty());
}

#[test]
fn another_protocol_version_is_refused_after_answering() {
    let (error, answer) =
        p0_against_raw_opening(&hello(b"CFLW", VERSION + 1, 1, &config().session_id));
    assert!(
        matches!(
            error,
            Some(NetError::VersionMismatch {
                ours: VERSION,
                theirs: 3,
                ..
            })
        ),
        "{error:?}"
    );
    // The answer lets the other side diagnose the mismatch too.
    assert_eq!(answer, hello(b"CFLW", VERSION, 0, &config().session_id));
}

#[test]
fn a_party_claiming_the_wrong_index_is_refused() {
    for index in [0, 3] {
        let (error, _) =
            p0_against_raw_opening(&hello(b"CFLW", VERSION, index, &config().session_id));
        match error {
            Some(NetError::UnexpectedParty {
                me,
                found,
                expected,
                ..
            }) => {
                assert_eq!(me, Party::ModelOwner);
                assert_eq!(found, index);
                assert_eq!(expected, [Party::Client, Party::Helper]);
            }
            other => panic!("expected UnexpectedParty, got {other:?}"),
        }
    }
}

/// Plays P2 over raw sockets: dials P0 and P1 and does the handshakes.
fn raw_helper(addrs: &[SocketAddr; 3], config: &TcpConfig) -> [TcpStream; 2] {
    [addrs[0], addrs[1]].map(|addr| {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(&hello(b"CFLW", VERSION, 2, &config.session_id))
            .unwrap();
        let mut answer = [0; 23];
        stream.read_exact(&mut answer).unwrap();
        stream
    })
}

#[test]
fn an_oversized_frame_is_refused_without_allocating_it() {
    const LIMIT: u64 = 1024;
    let small = TcpConfig {
        max_frame_bytes: LIMIT,
        ..config()
    };
    let (listeners, addrs) = listeners();
    let [l0, l1, _] = listeners;
    let start = |me, listener| {
        let small = small.clone();
        thread::spawn(move || TcpTransport::connect_with_listener(me, listener, addrs, &small))
    };
    let p0 = start(Party::ModelOwner, l0);
    let p1 = start(Party::Client, l1);
    let [mut to_p0, _to_p1] = raw_helper(&addrs, &small);
    let mut p0 = p0.join().unwrap().unwrap();
    let _p1 = p1.join().unwrap().unwrap();

    // A frame of exactly the limit is fine; one byte more is not.
    to_p0.write_all(&LIMIT.to_le_bytes()).unwrap();
    to_p0.write_all(&[1; LIMIT as usize]).unwrap();
    to_p0.write_all(&(1u64 << 60).to_le_bytes()).unwrap();
    assert_eq!(p0.recv(Party::Helper).unwrap().len(), LIMIT as usize);
    match p0.recv(Party::Helper) {
        Err(NetError::FrameTooLarge {
            peer,
            length,
            limit,
        }) => {
            assert_eq!((peer, length, limit), (Party::Helper, 1 << 60, LIMIT));
        }
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }

    // We refuse to send what the peer would refuse to read.
    assert!(matches!(
        p0.send(Party::Client, vec![0; LIMIT as usize + 1]),
        Err(NetError::FrameTooLarge {
            peer: Party::Client,
            ..
        })
    ));
}

#[test]
fn a_peer_that_stops_mid_frame_is_reported_disconnected() {
    let (listeners, addrs) = listeners();
    let [l0, l1, _] = listeners;
    let p0 = thread::spawn(move || {
        TcpTransport::connect_with_listener(Party::ModelOwner, l0, addrs, &config())
    });
    let p1 = thread::spawn(move || {
        TcpTransport::connect_with_listener(Party::Client, l1, addrs, &config())
    });
    let [mut to_p0, to_p1] = raw_helper(&addrs, &config());
    let mut p0 = p0.join().unwrap().unwrap();
    let _p1 = p1.join().unwrap().unwrap();
    to_p0.write_all(&100u64.to_le_bytes()).unwrap();
    to_p0.write_all(&[0; 10]).unwrap();
    drop((to_p0, to_p1));
    assert!(matches!(
        p0.recv(Party::Helper),
        Err(NetError::PeerDisconnected {
            peer: Party::Helper
        })
    ));
}

#[test]
fn a_silent_peer_times_out_naming_it_and_may_be_waited_for_again() {
    let quick = TcpConfig {
        io_timeout: Duration::from_millis(200),
        ..config()
    };
    let present = Party::ALL.map(|party| (party, quick.clone()));
    run_parties(&present, |transport| {
        let mut transport = transport.unwrap();
        if transport.me() == Party::ModelOwner {
            match transport.recv(Party::Helper) {
                Err(NetError::RecvTimeout { peer, timeout }) => {
                    assert_eq!((peer, timeout), (Party::Helper, Duration::from_millis(200)));
                }
                other => panic!("expected RecvTimeout, got {other:?}"),
            }
            // Nothing of a message was consumed, so waiting again is safe.
            let late = loop {
                match transport.recv(Party::Helper) {
                    Err(NetError::RecvTimeout { .. }) => continue,
                    other => break other,
                }
            };
            assert_eq!(late.expect("the late message"), b"late");
        } else {
            // Stay connected past P0's timeout, then speak.
            thread::sleep(Duration::from_millis(400));
            if transport.me() == Party::Helper {
                transport
                    .send(Party::ModelOwner, b"late".to_vec())
                    .expect("queued");
            }
            thread::sleep(Duration::from_millis(300));
        }
    });
}

//! Three real TCP parties on 127.0.0.1 doing what protocols do.

mod common;
mod tcp_support;

use std::thread;
use std::time::Duration;

use cryptflow_net::{NetError, Party, TcpTransport, Transport};
use tcp_support::run_all;

#[test]
fn messages_flow_in_every_direction_in_order() {
    run_all(|mut transport| common::every_direction_in_order(&mut transport));
}

#[test]
fn a_simultaneous_64_mib_exchange_does_not_deadlock() {
    run_all(|mut transport| common::simultaneous_large_exchange(&mut transport, 64 << 20));
}

#[test]
fn byte_counters_are_exact() {
    run_all(|mut transport| common::exact_byte_counts(&mut transport, TcpTransport::stats_with));
}

#[test]
fn talking_to_yourself_is_refused() {
    run_all(|mut transport| common::talking_to_yourself_is_refused(&mut transport));
}

#[test]
fn the_last_message_before_exit_arrives_then_the_peer_is_reported_gone() {
    // 8 MiB does not fit in the socket buffers, so P1's drop has to wait for P0 to
    // read it; P0 waits a little first so the drop really happens mid-delivery.
    const LAST: usize = 8 << 20;
    run_all(|mut transport| match transport.me() {
        Party::ModelOwner => {
            thread::sleep(Duration::from_millis(200));
            assert_eq!(transport.recv(Party::Client).unwrap().len(), LAST);
            assert!(matches!(
                transport.recv(Party::Client),
                Err(NetError::PeerDisconnected {
                    peer: Party::Client
                })
            ));
            assert!(matches!(
                transport.recv(Party::Client),
                Err(NetError::ConnectionFailed {
                    peer: Party::Client
                })
            ));
            // Writes to the departed peer fail in the writer thread; the failure
            // must come back out of a later call.
            let mut outcome = Ok(());
            for _ in 0..500 {
                outcome = transport.send(Party::Client, vec![0; 1024]);
                if outcome.is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(2));
            }
            assert!(
                matches!(
                    outcome,
                    Err(NetError::PeerDisconnected {
                        peer: Party::Client
                    })
                ),
                "{outcome:?}"
            );
            // The helper is unaffected.
            assert_eq!(transport.recv(Party::Helper).unwrap(), b"still here");
        }
        Party::Client => {
            transport.send(Party::ModelOwner, vec![7; LAST]).unwrap();
        }
        Party::Helper => {
            transport
                .send(Party::ModelOwner, b"still here".to_vec())
                .unwrap();
            transport.close().unwrap();
        }
    });
}

#[test]
fn words_and_bytes_interleave() {
    run_all(|mut transport| {
        let me = transport.me();
        let next = Party::from_index((me.index() + 1) % 3).unwrap();
        let previous = Party::from_index((me.index() + 2) % 3).unwrap();
        transport
            .send_words(next, &[u64::MAX, me.index() as u64])
            .unwrap();
        transport.send(next, Vec::new()).unwrap();
        assert_eq!(
            transport.recv_words(previous).unwrap(),
            [u64::MAX, previous.index() as u64]
        );
        assert_eq!(transport.recv(previous).unwrap(), b"");
        transport.close().unwrap();
    });
}

/// The helper sends 12 messages of 4 MiB to the client, which reads nothing for a
/// while: returns how many `send` calls had returned by then, and checks every
/// message arrives intact afterwards.
fn sends_before_the_client_reads(helper: cryptflow_net::TcpConfig) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const MESSAGES: usize = 12;
    const BYTES: usize = 4 << 20;
    let sent = AtomicUsize::new(0);
    let present = [
        (Party::ModelOwner, tcp_support::config()),
        (Party::Client, tcp_support::config()),
        (Party::Helper, helper),
    ];
    let counts = tcp_support::run_parties(&present, |transport| {
        let mut transport = transport.unwrap();
        match transport.me() {
            Party::Helper => {
                for i in 0..MESSAGES {
                    transport.send(Party::Client, vec![i as u8; BYTES]).unwrap();
                    sent.fetch_add(1, Ordering::SeqCst);
                }
                None
            }
            Party::Client => {
                thread::sleep(Duration::from_millis(500));
                let before = sent.load(Ordering::SeqCst);
                for i in 0..MESSAGES {
                    assert_eq!(transport.recv(Party::Helper).unwrap(), vec![i as u8; BYTES]);
                }
                Some(before)
            }
            Party::ModelOwner => None,
        }
    });
    counts
        .into_iter()
        .flatten()
        .next()
        .expect("the client's count")
}

#[test]
fn a_bounded_send_queue_makes_the_sender_wait_for_the_reader() {
    // The kernel's socket buffers take a few MiB; the 16 MiB queue four messages.
    let bounded = cryptflow_net::TcpConfig {
        send_queue_limit: Some(cryptflow_net::TcpConfig::HELPER_SEND_QUEUE_BYTES),
        ..tcp_support::config()
    };
    let waited = sends_before_the_client_reads(bounded);
    assert!(waited < 12, "the sender ran {waited} messages ahead");
    // Unbounded (the share-holders' default), nothing waits.
    assert_eq!(sends_before_the_client_reads(tcp_support::config()), 12);
}

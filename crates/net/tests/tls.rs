//! Three TCP parties on 127.0.0.1 over mutually authenticated TLS, doing what
//! protocols do: the same scenarios as tcp.rs.

mod common;
mod tcp_support;
mod tls_support;

use std::thread;
use std::time::Duration;

use cryptflow_net::{NetError, Party, TcpTransport, Transport};
use tcp_support::run_parties;
use tls_support::{keys, tls_config};

/// All three parties over TLS with matching keys.
fn run_all_tls<T: Send>(body: impl Fn(TcpTransport) -> T + Sync) -> Vec<T> {
    let keys = keys();
    let present = Party::ALL.map(|party| (party, tls_config(party, &keys)));
    run_parties(&present, |transport| body(transport.unwrap()))
}

#[test]
fn messages_flow_in_every_direction_in_order_over_tls() {
    run_all_tls(|mut transport| common::every_direction_in_order(&mut transport));
}

#[test]
fn a_simultaneous_64_mib_exchange_over_tls_does_not_deadlock() {
    run_all_tls(|mut transport| common::simultaneous_large_exchange(&mut transport, 64 << 20));
}

#[test]
fn byte_counters_count_payloads_over_tls_too() {
    run_all_tls(|mut transport| {
        common::exact_byte_counts(&mut transport, TcpTransport::stats_with)
    });
}

#[test]
fn talking_to_yourself_over_tls_is_refused() {
    run_all_tls(|mut transport| common::talking_to_yourself_is_refused(&mut transport));
}

#[test]
fn the_last_message_before_exit_arrives_over_tls_then_the_peer_is_reported_gone() {
    // Bigger than the socket buffers, so the close has to wait for P0 to read.
    const LAST: usize = 8 << 20;
    run_all_tls(|mut transport| match transport.me() {
        Party::ModelOwner => {
            thread::sleep(Duration::from_millis(200));
            assert_eq!(transport.recv(Party::Client).unwrap().len(), LAST);
            assert!(matches!(
                transport.recv(Party::Client),
                Err(NetError::PeerDisconnected {
                    peer: Party::Client
                })
            ));
            assert_eq!(transport.recv(Party::Helper).unwrap(), b"still here");
        }
        Party::Client => transport.send(Party::ModelOwner, vec![7; LAST]).unwrap(),
        Party::Helper => {
            transport
                .send(Party::ModelOwner, b"still here".to_vec())
                .unwrap();
            transport.close().unwrap();
        }
    });
}

#[test]
fn many_small_rounds_over_tls_arrive_in_order() {
    // Request/response rounds as the protocols do them, each a separate TLS record.
    run_all_tls(|mut transport| {
        let me = transport.me();
        let Some(peer) = me.share_peer() else { return };
        for round in 0..500u64 {
            transport
                .send_words(peer, &[round, me.index() as u64])
                .unwrap();
            assert_eq!(
                transport.recv_words(peer).unwrap(),
                [round, peer.index() as u64]
            );
        }
    });
}

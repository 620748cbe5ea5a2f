mod common;

use std::thread;
use std::time::{Duration, Instant};

use cryptflow_net::{MemoryTransport, NetError, Party, Transport};

/// Runs `body` for each party on its own thread.
fn run_parties<T: Send>(body: impl Fn(MemoryTransport) -> T + Sync) -> Vec<T> {
    let body = &body;
    thread::scope(|scope| {
        let parties: Vec<_> = MemoryTransport::triple()
            .into_iter()
            .map(|transport| scope.spawn(move || body(transport)))
            .collect();
        parties
            .into_iter()
            .map(|party| party.join().unwrap())
            .collect()
    })
}

#[test]
fn endpoints_are_the_three_parties_in_order() {
    let [p0, p1, p2] = MemoryTransport::triple();
    assert_eq!([p0.me(), p1.me(), p2.me()], Party::ALL);
}

#[test]
fn messages_flow_in_every_direction_in_order() {
    run_parties(|mut transport| common::every_direction_in_order(&mut transport));
}

#[test]
fn a_simultaneous_large_exchange_does_not_deadlock() {
    run_parties(|mut transport| common::simultaneous_large_exchange(&mut transport, 8 << 20));
}

#[test]
fn byte_counters_are_exact() {
    let totals = run_parties(|mut transport| {
        common::exact_byte_counts(&mut transport, MemoryTransport::stats_with)
    });
    let sent: u64 = totals.iter().map(|stats| stats.bytes_sent).sum();
    let received: u64 = totals.iter().map(|stats| stats.bytes_received).sum();
    assert_eq!(sent, received);
}

#[test]
fn talking_to_yourself_is_refused() {
    for mut transport in MemoryTransport::triple() {
        common::talking_to_yourself_is_refused(&mut transport);
    }
}

#[test]
fn a_dropped_party_is_heard_out_then_reported_disconnected() {
    let [mut p0, mut p1, p2] = MemoryTransport::triple();
    p1.send(Party::ModelOwner, b"last words".to_vec()).unwrap();
    drop(p1);
    assert_eq!(p0.recv(Party::Client).unwrap(), b"last words");
    assert!(matches!(
        p0.recv(Party::Client),
        Err(NetError::PeerDisconnected {
            peer: Party::Client
        })
    ));
    assert!(matches!(
        p0.send(Party::Client, vec![1]),
        Err(NetError::PeerDisconnected {
            peer: Party::Client
        })
    ));
    // The remaining pair still works.
    p0.send(Party::Helper, vec![2]).unwrap();
    let mut p2 = p2;
    assert_eq!(p2.recv(Party::ModelOwner).unwrap(), [2]);
}

#[test]
fn a_silent_peer_times_out_naming_it() {
    let timeout = Duration::from_millis(50);
    let [mut p0, _p1, _p2] = MemoryTransport::triple_with_timeout(timeout);
    let start = Instant::now();
    match p0.recv(Party::Helper) {
        Err(NetError::RecvTimeout {
            peer,
            timeout: reported,
        }) => {
            assert_eq!(peer, Party::Helper);
            assert_eq!(reported, timeout);
        }
        other => panic!("expected RecvTimeout, got {other:?}"),
    }
    assert!(start.elapsed() >= timeout);
}

#[test]
fn a_partial_word_is_malformed_naming_the_sender() {
    let [mut p0, mut p1, _p2] = MemoryTransport::triple();
    p1.send(Party::ModelOwner, vec![0; 12]).unwrap();
    assert!(matches!(
        p0.recv_words(Party::Client),
        Err(NetError::MalformedMessage {
            peer: Party::Client,
            ..
        })
    ));
}

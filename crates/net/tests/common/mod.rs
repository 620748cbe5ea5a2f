//! Scenarios written once against `Transport` and run by each party's thread, for
//! both transports.

use cryptflow_net::{CommStats, NetError, Party, Transport};

pub const ROUNDS: usize = 40;

fn others(me: Party) -> impl Iterator<Item = Party> {
    Party::ALL.into_iter().filter(move |&party| party != me)
}

fn text(from: Party, to: Party, round: usize) -> Vec<u8> {
    format!("{from} -> {to} #{round}").into_bytes()
}

fn words(from: Party, round: usize) -> Vec<u64> {
    (0..round as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ from.index() as u64)
        .collect()
}

/// Every party sends everything first, then receives: checks order, contents and
/// that queued sends never wait for the reader.
pub fn every_direction_in_order(transport: &mut impl Transport) {
    let me = transport.me();
    for round in 0..ROUNDS {
        for peer in others(me) {
            transport.send(peer, text(me, peer, round)).unwrap();
            transport.send_words(peer, &words(me, round)).unwrap();
        }
    }
    for peer in others(me) {
        for round in 0..ROUNDS {
            assert_eq!(transport.recv(peer).unwrap(), text(peer, me, round));
            assert_eq!(transport.recv_words(peer).unwrap(), words(peer, round));
        }
    }
}

/// P0 and P1 both send `bytes` to each other, then both receive.
pub fn simultaneous_large_exchange(transport: &mut impl Transport, bytes: usize) {
    let me = transport.me();
    let Some(peer) = me.share_peer() else { return };
    let pattern = |from: Party| (0..bytes).map(move |i| (i % 251) as u8 ^ from.index() as u8);
    transport.send(peer, pattern(me).collect()).unwrap();
    let received = transport.recv(peer).unwrap();
    assert_eq!(received.len(), bytes);
    assert!(received.iter().copied().eq(pattern(peer)));
    let expected = CommStats {
        bytes_sent: bytes as u64 + 8,
        bytes_received: bytes as u64 + 8,
        messages_sent: 1,
        messages_received: 1,
    };
    assert_eq!(transport.stats(), expected);
}

/// Payload lengths party `from` sends to party `to` in `exact_byte_counts`.
fn lengths(from: Party, to: Party) -> Vec<usize> {
    vec![0, 1, 7 + 10 * from.index() + to.index(), 1000]
}

/// Sends known sizes and checks the counters to the byte, per peer and in total.
/// Returns the final totals.
pub fn exact_byte_counts<T: Transport>(
    transport: &mut T,
    stats_with: impl Fn(&T, Party) -> CommStats,
) -> CommStats {
    let me = transport.me();
    for peer in others(me) {
        for length in lengths(me, peer) {
            transport.send(peer, vec![0xa5; length]).unwrap();
        }
    }
    for peer in others(me) {
        for length in lengths(peer, me) {
            assert_eq!(transport.recv(peer).unwrap().len(), length);
        }
    }
    let wire = |lengths: Vec<usize>| lengths.iter().map(|&l| l as u64 + 8).sum::<u64>();
    let mut total = CommStats::default();
    for peer in others(me) {
        let expected = CommStats {
            bytes_sent: wire(lengths(me, peer)),
            bytes_received: wire(lengths(peer, me)),
            messages_sent: 4,
            messages_received: 4,
        };
        assert_eq!(stats_with(transport, peer), expected, "{me} with {peer}");
        total.bytes_sent += expected.bytes_sent;
        total.bytes_received += expected.bytes_received;
        total.messages_sent += expected.messages_sent;
        total.messages_received += expected.messages_received;
    }
    assert_eq!(stats_with(transport, me), CommStats::default());
    assert_eq!(transport.stats(), total);
    total
}

pub fn talking_to_yourself_is_refused(transport: &mut impl Transport) {
    let me = transport.me();
    assert!(matches!(
        transport.send(me, vec![1]),
        Err(NetError::SelfMessage { party }) if party == me
    ));
    assert!(matches!(
        transport.recv(me),
        Err(NetError::SelfMessage { party }) if party == me
    ));
}

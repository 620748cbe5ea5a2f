//! A host that misbehaves on purpose, for testing attested mode: it tampers with one
//! of its party's outgoing messages (`--inject-fault party=N,kind=K,message=M`).
//!
//! It sits where a malicious host sits: between its party's boundary (crates/attest)
//! and the network, seeing only the bytes the boundary hands it. Messages are counted
//! from 0 across all peers in the order the party sends them, the prelude included.

use crate::{CommStats, NetError, Transport};
use cryptflow_ring::Party;
use std::fmt;
use std::str::FromStr;

/// What the host does to the chosen message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Flips the last bit of the message (in a framed message, its authentication tag).
    Flip,
    /// Never sends it.
    Drop,
    /// Sends the previous message to the same peer again in its place (or, for the
    /// first message to a peer, sends it twice).
    Replay,
    /// Holds it back and sends it after the next message to the same peer.
    Reorder,
}

/// Which party's host tampers, how, and with which of its outgoing messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub party: Party,
    pub kind: FaultKind,
    pub message: u64,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FaultKind::Flip => "flip",
            FaultKind::Drop => "drop",
            FaultKind::Replay => "replay",
            FaultKind::Reorder => "reorder",
        };
        write!(
            f,
            "party={},kind={kind},message={}",
            self.party.index(),
            self.message
        )
    }
}

impl FromStr for Fault {
    type Err = String;

    /// Parses `party=N,kind=flip|drop|replay|reorder,message=K`.
    fn from_str(s: &str) -> Result<Fault, String> {
        let (mut party, mut kind, mut message) = (None, None, None);
        for field in s.split(',') {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("`{field}` is not key=value"))?;
            match key.trim() {
                "party" => {
                    let index: usize = value
                        .parse()
                        .map_err(|_| format!("party `{value}` is not 0, 1 or 2"))?;
                    party = Some(
                        Party::from_index(index)
                            .ok_or_else(|| format!("party `{value}` is not 0, 1 or 2"))?,
                    );
                }
                "kind" => {
                    kind = Some(match value.trim() {
                        "flip" => FaultKind::Flip,
                        "drop" => FaultKind::Drop,
                        "replay" => FaultKind::Replay,
                        "reorder" => FaultKind::Reorder,
                        other => {
                            return Err(format!(
                                "kind `{other}` is not flip, drop, replay or reorder"
                            ))
                        }
                    })
                }
                "message" => {
                    message = Some(
                        value
                            .trim()
                            .parse()
                            .map_err(|_| format!("message `{value}` is not a number"))?,
                    )
                }
                other => return Err(format!("unknown key `{other}` (party, kind, message)")),
            }
        }
        Ok(Fault {
            party: party.ok_or("missing party=N")?,
            kind: kind.ok_or("missing kind=flip|drop|replay|reorder")?,
            message: message.ok_or("missing message=K")?,
        })
    }
}

/// A transport whose host applies `fault` if it is this party's; otherwise a plain
/// pass-through.
#[derive(Debug)]
pub struct FaultyHost<T> {
    inner: T,
    fault: Option<Fault>,
    sent: u64,
    /// The last message sent to each peer, kept only for a replay still to come.
    last: [Option<Vec<u8>>; 3],
    /// A message held back for a reorder, and its peer.
    held: Option<(Party, Vec<u8>)>,
}

impl<T: Transport> FaultyHost<T> {
    pub fn new(inner: T, fault: Option<Fault>) -> FaultyHost<T> {
        let fault = fault.filter(|f| f.party == inner.me());
        FaultyHost {
            inner,
            fault,
            sent: 0,
            last: Default::default(),
            held: None,
        }
    }

    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for FaultyHost<T> {
    fn me(&self) -> Party {
        self.inner.me()
    }

    fn send(&mut self, to: Party, mut payload: Vec<u8>) -> Result<(), NetError> {
        let index = self.sent;
        self.sent += 1;
        let Some(fault) = self.fault else {
            return self.inner.send(to, payload);
        };
        if fault.kind == FaultKind::Replay && index < fault.message {
            self.last[to.index()] = Some(payload.clone());
        }
        if index == fault.message {
            match fault.kind {
                FaultKind::Flip => match payload.last_mut() {
                    Some(byte) => *byte ^= 1,
                    None => payload.push(1),
                },
                FaultKind::Drop => return Ok(()),
                FaultKind::Replay => match self.last[to.index()].take() {
                    // The earlier message takes this one's place.
                    Some(earlier) => return self.inner.send(to, earlier),
                    // Nothing earlier to this peer: this one goes twice.
                    None => self.inner.send(to, payload.clone())?,
                },
                FaultKind::Reorder => {
                    self.held = Some((to, payload));
                    return Ok(());
                }
            }
            return self.inner.send(to, payload);
        }
        if let Some((peer, held)) = self.held.take() {
            if peer == to {
                self.inner.send(to, payload)?;
                return self.inner.send(to, held);
            }
            self.held = Some((peer, held));
        }
        self.inner.send(to, payload)
    }

    fn recv(&mut self, from: Party) -> Result<Vec<u8>, NetError> {
        self.inner.recv(from)
    }

    fn stats(&self) -> CommStats {
        self.inner.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryTransport;

    fn run(fault: &str, messages: &[&[u8]]) -> Vec<Vec<u8>> {
        let [owner, mut client, _helper] = MemoryTransport::triple();
        let mut host = FaultyHost::new(owner, Some(fault.parse().expect("valid fault")));
        for m in messages {
            host.send(Party::Client, m.to_vec()).expect("queued");
        }
        let mut got = Vec::new();
        let dropped = fault.starts_with("party=0") && fault.contains("drop");
        for _ in 0..messages.len() - usize::from(dropped) {
            got.push(client.recv(Party::ModelOwner).expect("delivered"));
        }
        got
    }

    #[test]
    fn each_kind_tampers_with_exactly_the_chosen_message() {
        let m: [&[u8]; 3] = [b"a", b"b", b"c"];
        let v = |s: &[&[u8]]| s.iter().map(|m| m.to_vec()).collect::<Vec<_>>();
        assert_eq!(
            run("party=0,kind=flip,message=1", &m),
            v(&[b"a", b"c", b"c"])
        );
        assert_eq!(run("party=0,kind=drop,message=1", &m), v(&[b"a", b"c"]));
        assert_eq!(
            run("party=0,kind=replay,message=1", &m),
            v(&[b"a", b"a", b"c"])
        );
        assert_eq!(
            run("party=0,kind=replay,message=0", &m),
            v(&[b"a", b"a", b"b", b"c"])[..3]
        );
        assert_eq!(
            run("party=0,kind=reorder,message=0", &m),
            v(&[b"b", b"a", b"c"])
        );
        // Another party's fault leaves this host honest.
        assert_eq!(run("party=1,kind=drop,message=0", &m), v(&m));
    }

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        let f: Fault = "party=2,kind=reorder,message=7".parse().expect("valid");
        assert_eq!(
            f,
            Fault {
                party: Party::Helper,
                kind: FaultKind::Reorder,
                message: 7
            }
        );
        assert_eq!(f.to_string(), "party=2,kind=reorder,message=7");
        for (bad, why) in [
            ("party=3,kind=flip,message=0", "not 0, 1 or 2"),
            ("party=0,kind=smash,message=0", "not flip"),
            ("party=0,kind=flip", "missing message"),
            ("party=0,kind=flip,message=x", "not a number"),
            ("party=0,colour=red", "unknown key"),
            ("party", "not key=value"),
        ] {
            let err = bad.parse::<Fault>().expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}

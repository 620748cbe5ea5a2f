//! The attested channel: the boundary's side of every message after the prelude.
//!
//! It implements [`Transport`] for the protocol code, which runs unchanged on top of
//! it, and uses the host's transport below it only to move framed bytes. It seals
//! each outgoing message (transcript.rs) and opens each incoming one; the first fault
//! it finds (changed, replayed, reordered, dropped) fails the session: it tells every
//! peer's boundary why, in an authenticated abort, and returns an error naming the
//! party whose host misbehaved. A session ends with [`finish`](AttestedChannel::finish):
//! every boundary confirms to every other that it saw no fault, so a party that
//! receives nothing late in the run (the helper) still learns of an abort.
//!
//! **Naming the host that dropped a message.** A timeout alone cannot: when the
//! helper's host drops a message to the client, the client waits on the helper and
//! the model owner waits on the client, and both time out. So a boundary that has
//! waited one whole timeout for a peer tells every peer so (a `Waiting` notice: whom
//! it waits on, and the index of the last message it sent to each), and waits one
//! more. A boundary waiting on the notice's sender then knows that peer is alive and
//! waits on, unless the notice shows the sender sent it a message it never got: then
//! that message was dropped on the sender's side. Only a peer silent for two
//! timeouts, notices included, is blamed for stalling.

use crate::transcript::{DirectionKey, FrameKind, Opened, Opener, Received, Sealer};
use cryptflow_net::{CommStats, Misbehaviour, NetError, Transport};
use cryptflow_ring::Party;

/// An abort reason longer than this is cut (it is only for people to read).
const MAX_REASON_BYTES: usize = 1024;

/// How many whole timeouts a boundary waits for a silent peer before blaming it.
const PATIENCE: u32 = 2;

/// The payload of a waiting notice.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct WaitingNotice {
    on: Party,
    /// The sender's index of the last message it sent to each party.
    last_sent: [Option<u64>; 3],
}

/// The payload of an abort frame.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct AbortNotice {
    culprit: Option<Party>,
    reason: String,
}

pub struct AttestedChannel<'h> {
    me: Party,
    host: &'h mut dyn Transport,
    sealers: [Option<Sealer>; 3],
    openers: [Option<Opener>; 3],
    /// This party's count of its outgoing messages, the prelude included.
    sent: u64,
    /// The index of the last message sent to each peer.
    last_sent: [Option<u64>; 3],
    /// Set once the session failed: nothing more is sent or accepted.
    failed: Option<String>,
}

impl std::fmt::Debug for AttestedChannel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys and the host stay out of debug output.
        f.debug_struct("AttestedChannel")
            .field("me", &self.me)
            .field("sent", &self.sent)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<'h> AttestedChannel<'h> {
    /// `shared[p]` is the X25519 secret agreed with `p` (missing where the prelude
    /// failed with `p`: then nothing can be sent to or accepted from it).
    pub(crate) fn new(
        me: Party,
        host: &'h mut dyn Transport,
        shared: &[Option<[u8; 32]>; 3],
        session: &[u8; 32],
        sent: u64,
    ) -> AttestedChannel<'h> {
        let mut id = [0u8; 16];
        id.copy_from_slice(&session[..16]);
        let mut sealers: [Option<Sealer>; 3] = Default::default();
        let mut openers: [Option<Opener>; 3] = Default::default();
        for peer in Party::ALL.into_iter().filter(|&p| p != me) {
            if let Some(secret) = &shared[peer.index()] {
                let out = DirectionKey::derive(secret, session, me, peer);
                let back = DirectionKey::derive(secret, session, peer, me);
                sealers[peer.index()] = Some(Sealer::new(me, peer, id, out));
                openers[peer.index()] = Some(Opener::new(peer, me, id, back));
            }
        }
        AttestedChannel {
            me,
            host,
            sealers,
            openers,
            sent,
            last_sent: [None; 3],
            failed: None,
        }
    }

    fn send_frame(&mut self, to: Party, kind: FrameKind, payload: &[u8]) -> Result<(), NetError> {
        let index = self.sent;
        let sealer = self.sealers[to.index()]
            .as_mut()
            .ok_or(NetError::ConnectionFailed { peer: to })?;
        let frame = sealer.seal(kind, index, payload);
        self.sent += 1;
        self.last_sent[to.index()] = Some(index);
        self.host.send(to, frame)
    }

    /// Tells every peer we share keys with that this session is over, whom we blame
    /// and why.
    pub(crate) fn abort(&mut self, culprit: Option<Party>, reason: &str) {
        if self.failed.is_some() {
            return;
        }
        let mut reason = reason.to_string();
        if reason.len() > MAX_REASON_BYTES {
            let mut cut = MAX_REASON_BYTES;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        let notice = AbortNotice {
            culprit,
            reason: reason.clone(),
        };
        let payload = postcard::to_stdvec(&notice).unwrap_or_default();
        let me = self.me;
        for peer in Party::ALL.into_iter().filter(|&p| p != me) {
            // Best effort: the peer may be gone, which is the reason we abort.
            let _ = self.send_frame(peer, FrameKind::Abort, &payload);
        }
        self.failed = Some(reason);
    }

    fn misbehaved(&mut self, culprit: Party, what: Misbehaviour) -> NetError {
        let error = NetError::HostMisbehaved { culprit, what };
        self.abort(Some(culprit), &format!("{} found that {error}", self.me));
        error
    }

    fn stopped(&self) -> Result<(), NetError> {
        match &self.failed {
            Some(reason) => Err(NetError::PeerAborted {
                reporter: self.me,
                culprit: None,
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The next authentic frame from `from`, in order; any fault fails the session.
    fn next_frame(&mut self, from: Party) -> Result<(Opened, Vec<u8>), NetError> {
        self.stopped()?;
        self.read_frame(from)
    }

    /// As `next_frame`, also after the session failed (to collect the peers' word).
    /// Waiting notices are handled here and never returned.
    fn read_frame(&mut self, from: Party) -> Result<(Opened, Vec<u8>), NetError> {
        let mut strikes = 0;
        loop {
            let frame = match self.host.recv(from) {
                Ok(frame) => frame,
                Err(NetError::RecvTimeout { timeout, .. }) => {
                    strikes += 1;
                    if strikes >= PATIENCE {
                        let waited = timeout * strikes;
                        let what = self.opener(from)?.dropped(Some(waited));
                        return Err(self.misbehaved(from, what));
                    }
                    self.announce_waiting(from);
                    continue;
                }
                Err(other) => {
                    self.abort(None, &format!("{} lost its connection: {other}", self.me));
                    return Err(other);
                }
            };
            let opened = self.open_in_order(from, frame)?;
            let (opened, frame) = opened;
            if opened.kind != FrameKind::Waiting {
                return Ok((opened, frame));
            }
            let notice: Option<WaitingNotice> = postcard::from_bytes(&frame[opened.payload]).ok();
            let last_received = self.opener(from)?.last_index();
            match notice {
                Some(notice) if notice.last_sent[self.me.index()] > last_received => {
                    // It sent us a message we never got, and nothing after it.
                    let what = self.opener(from)?.dropped(None);
                    return Err(self.misbehaved(from, what));
                }
                // Alive, and waiting on someone: wait on, with fresh patience.
                _ => strikes = 0,
            }
        }
    }

    /// Opens `frame` as the next from `from`; any fault fails the session.
    fn open_in_order(
        &mut self,
        from: Party,
        frame: Vec<u8>,
    ) -> Result<(Opened, Vec<u8>), NetError> {
        match self.opener(from)?.open(&frame) {
            Ok(Received::InOrder(opened)) => Ok((opened, frame)),
            Ok(Received::Early(early)) => {
                // Reordered if the one we wait for comes next; dropped otherwise.
                let what = match self.host.recv(from) {
                    Ok(next) => match self.opener(from)?.open(&next) {
                        Ok(Received::InOrder(_)) => Misbehaviour::Reordered {
                            message: early.index,
                        },
                        _ => self.opener(from)?.dropped(None),
                    },
                    Err(NetError::RecvTimeout { .. }) => self.opener(from)?.dropped(None),
                    Err(other) => return Err(other),
                };
                self.opener(from)?.skip_to(&early);
                Err(self.misbehaved(from, what))
            }
            Err(what) => Err(self.misbehaved(from, what)),
        }
    }

    /// Tells every peer we have waited a whole timeout for `on`.
    fn announce_waiting(&mut self, on: Party) {
        let notice = WaitingNotice {
            on,
            last_sent: self.last_sent,
        };
        let payload = postcard::to_stdvec(&notice).unwrap_or_default();
        let me = self.me;
        for peer in Party::ALL.into_iter().filter(|&p| p != me) {
            // Best effort: a peer we cannot reach will be blamed on its own.
            let _ = self.send_frame(peer, FrameKind::Waiting, &payload);
        }
    }

    fn opener(&mut self, from: Party) -> Result<&mut Opener, NetError> {
        self.openers[from.index()]
            .as_mut()
            .ok_or(NetError::ConnectionFailed { peer: from })
    }

    fn peer_aborted(&mut self, from: Party, payload: &[u8]) -> NetError {
        let notice: AbortNotice = postcard::from_bytes(payload).unwrap_or(AbortNotice {
            culprit: None,
            reason: "(an abort notice that does not decode)".into(),
        });
        self.abort(
            notice.culprit,
            &format!("{from} aborted: {}", notice.reason),
        );
        NetError::PeerAborted {
            reporter: from,
            culprit: notice.culprit,
            reason: notice.reason,
        }
    }

    fn unexpected(&mut self, from: Party, what: &str) -> NetError {
        // An authentic frame of the wrong kind: the two schedules disagree, which
        // honest boundaries on the same program cannot.
        let reason = format!("{from} {what}");
        self.abort(None, &reason);
        NetError::PeerAborted {
            reporter: self.me,
            culprit: None,
            reason,
        }
    }

    /// Ends the session: confirms to every peer that this boundary saw no fault, and
    /// waits for every peer's confirmation or abort. Of several faults it reports the
    /// most telling: its own finding, else a peer's abort that blames someone else,
    /// else the first.
    pub fn finish(&mut self) -> Result<(), NetError> {
        self.stopped()?;
        let peers: Vec<Party> = Party::ALL.into_iter().filter(|&p| p != self.me).collect();
        for &peer in &peers {
            // A failed send shows up as the peer's missing confirmation below.
            let _ = self.send_frame(peer, FrameKind::Finished, &[]);
        }
        let mut errors = Vec::new();
        for &peer in &peers {
            match self.read_frame(peer) {
                Ok((opened, frame)) => match opened.kind {
                    FrameKind::Finished => {}
                    FrameKind::Abort => {
                        errors.push(self.peer_aborted(peer, &frame[opened.payload]))
                    }
                    FrameKind::Data | FrameKind::Waiting => errors
                        .push(self.unexpected(peer, "sent a message after the session's last")),
                },
                Err(error) => errors.push(error),
            }
        }
        let rank = |e: &NetError| match e {
            NetError::HostMisbehaved { .. } => 0,
            NetError::PeerAborted {
                reporter,
                culprit: Some(culprit),
                ..
            } if reporter != culprit => 1,
            _ => 2,
        };
        match errors.into_iter().min_by_key(rank) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl Transport for AttestedChannel<'_> {
    fn me(&self) -> Party {
        self.me
    }

    fn send(&mut self, to: Party, payload: Vec<u8>) -> Result<(), NetError> {
        self.stopped()?;
        self.send_frame(to, FrameKind::Data, &payload)
    }

    fn recv(&mut self, from: Party) -> Result<Vec<u8>, NetError> {
        let (opened, mut frame) = self.next_frame(from)?;
        match opened.kind {
            FrameKind::Data => {
                frame.truncate(opened.payload.end);
                frame.drain(..opened.payload.start);
                Ok(frame)
            }
            FrameKind::Abort => Err(self.peer_aborted(from, &frame[opened.payload])),
            FrameKind::Finished | FrameKind::Waiting => {
                Err(self.unexpected(from, "finished while we still expected a message"))
            }
        }
    }

    fn stats(&self) -> CommStats {
        self.host.stats()
    }
}

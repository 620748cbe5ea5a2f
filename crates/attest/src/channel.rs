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

fn decode_notice(payload: &[u8]) -> AbortNotice {
    postcard::from_bytes(payload).unwrap_or(AbortNotice {
        culprit: None,
        proven: false,
        reason: "(an abort notice that does not decode)".into(),
    })
}

/// How telling an error is, lowest first: a fault proven by an authentic message
/// out of place or a failed tag (ours or a peer's report); then a culprit inferred
/// from silence, which a stall elsewhere can also explain; then an error that blames
/// nobody but its reporter (a lost connection).
fn rank(error: &NetError) -> u8 {
    match error {
        NetError::HostMisbehaved { what, .. } if what.is_proven() => 0,
        NetError::PeerAborted {
            culprit: Some(_),
            proven: true,
            ..
        } => 0,
        NetError::HostMisbehaved { .. } => 1,
        NetError::PeerAborted {
            reporter,
            culprit: Some(culprit),
            ..
        } if culprit != reporter => 1,
        _ => 2,
    }
}

/// What one wait for a frame gave.
enum Polled {
    Frame(Opened, Vec<u8>),
    /// A waiting notice: the peer is alive.
    Waiting,
    /// Nothing for a whole timeout.
    Silent(std::time::Duration),
}

/// The payload of an abort frame.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct AbortNotice {
    culprit: Option<Party>,
    proven: bool,
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

    fn send_frame(&mut self, to: Party, kind: FrameKind, payload: Vec<u8>) -> Result<(), NetError> {
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
    pub(crate) fn abort(&mut self, culprit: Option<Party>, proven: bool, reason: &str) {
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
            proven,
            reason: reason.clone(),
        };
        let payload = postcard::to_stdvec(&notice).unwrap_or_default();
        let me = self.me;
        for peer in Party::ALL.into_iter().filter(|&p| p != me) {
            // Best effort: the peer may be gone, which is the reason we abort.
            let _ = self.send_frame(peer, FrameKind::Abort, payload.clone());
        }
        self.failed = Some(reason);
    }

    /// Fails the session for a reason of this party's own (its protocol code
    /// stopped), telling every peer.
    pub fn fail(&mut self, reason: &str) {
        self.abort(None, false, &format!("{} stopped: {reason}", self.me));
    }

    fn misbehaved(&mut self, culprit: Party, what: Misbehaviour) -> NetError {
        let proven = what.is_proven();
        let error = NetError::HostMisbehaved { culprit, what };
        self.abort(
            Some(culprit),
            proven,
            &format!("{} found that {error}", self.me),
        );
        error
    }

    fn stopped(&self) -> Result<(), NetError> {
        match &self.failed {
            Some(reason) => Err(NetError::PeerAborted {
                reporter: self.me,
                culprit: None,
                proven: false,
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
            match self.receive_one(from)? {
                Polled::Frame(opened, frame) => return Ok((opened, frame)),
                // Alive, and waiting on someone: wait on, with fresh patience.
                Polled::Waiting => strikes = 0,
                Polled::Silent(timeout) => {
                    strikes += 1;
                    if strikes >= PATIENCE {
                        let what = self.opener(from)?.dropped(Some(timeout * strikes));
                        return Err(self.misbehaved(from, what));
                    }
                    self.announce_waiting(from);
                }
            }
        }
    }

    /// One wait for one frame from `from`.
    fn receive_one(&mut self, from: Party) -> Result<Polled, NetError> {
        let frame = match self.host.recv(from) {
            Ok(frame) => frame,
            Err(NetError::RecvTimeout { timeout, .. }) => return Ok(Polled::Silent(timeout)),
            Err(other) => return Err(self.gone(from, other)),
        };
        let (opened, frame) = self.open_in_order(from, frame)?;
        if opened.kind != FrameKind::Waiting {
            return Ok(Polled::Frame(opened, frame));
        }
        let notice: Option<WaitingNotice> = postcard::from_bytes(&frame[opened.payload]).ok();
        let last_received = self.opener(from)?.last_index();
        match notice {
            Some(notice) if notice.last_sent[self.me.index()] > last_received => {
                // It sent us a message we never got, and nothing after it.
                let what = self.opener(from)?.dropped(None);
                Err(self.misbehaved(from, what))
            }
            _ => Ok(Polled::Waiting),
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
            let _ = self.send_frame(peer, FrameKind::Waiting, payload.clone());
        }
    }

    fn opener(&mut self, from: Party) -> Result<&mut Opener, NetError> {
        self.openers[from.index()]
            .as_mut()
            .ok_or(NetError::ConnectionFailed { peer: from })
    }

    fn peer_aborted(&mut self, from: Party, payload: &[u8]) -> NetError {
        let notice = decode_notice(payload);
        let first = NetError::PeerAborted {
            reporter: from,
            culprit: notice.culprit,
            proven: notice.proven,
            reason: notice.reason,
        };
        self.settle(from, first)
    }

    /// The connection to `peer` failed (it hung up). The peers' aborts, still queued
    /// behind their last messages, usually say more.
    fn gone(&mut self, peer: Party, error: NetError) -> NetError {
        let own = self.queued_abort(peer);
        self.settle(peer, own.unwrap_or(error))
    }

    /// Ends the session on `error` (about `peer`), or on what the third party says if
    /// `error` blames nobody but its reporter: a peer that only lost its connection
    /// to the culprit says less than the peer that caught it. Reading the third
    /// party may wait one timeout; this only happens on the way out.
    fn settle(&mut self, peer: Party, error: NetError) -> NetError {
        let me = self.me;
        let error = if rank(&error) == 0 {
            error
        } else {
            let third = Party::ALL.into_iter().find(|&p| p != me && p != peer);
            match third.and_then(|p| self.queued_abort(p)) {
                Some(better) if rank(&better) < rank(&error) => better,
                _ => error,
            }
        };
        let (culprit, proven) = match &error {
            NetError::PeerAborted {
                culprit, proven, ..
            } => (*culprit, *proven),
            NetError::HostMisbehaved { culprit, what } => (Some(*culprit), what.is_proven()),
            _ => (None, false),
        };
        self.abort(culprit, proven, &format!("{me} stopped: {error}"));
        error
    }

    /// The abort `from` sent, if one is queued (behind any messages of its).
    fn queued_abort(&mut self, from: Party) -> Option<NetError> {
        while let Ok(frame) = self.host.recv(from) {
            let Ok(Ok(Received::InOrder(opened))) = self.opener(from).map(|o| o.open(&frame))
            else {
                return None;
            };
            if opened.kind == FrameKind::Abort {
                let notice = decode_notice(&frame[opened.payload]);
                return Some(NetError::PeerAborted {
                    reporter: from,
                    culprit: notice.culprit,
                    proven: notice.proven,
                    reason: notice.reason,
                });
            }
        }
        None
    }

    fn unexpected(&mut self, from: Party, what: &str) -> NetError {
        // An authentic frame of the wrong kind: the two schedules disagree, which
        // honest boundaries on the same program cannot.
        let reason = format!("{from} {what}");
        self.abort(None, false, &reason);
        NetError::PeerAborted {
            reporter: self.me,
            culprit: None,
            proven: false,
            reason,
        }
    }

    /// Ends the session in two steps. `Finished`: this boundary sent its last
    /// message; once every peer's `Finished` arrived, everything before it was
    /// verified. `Confirmed`: so this boundary saw no fault. A party that returns Ok
    /// has every peer's confirmation; one that detects a fault while the others are
    /// finishing tells them by an abort in place of its confirmation.
    pub fn finish(&mut self) -> Result<(), NetError> {
        for kind in [FrameKind::Finished, FrameKind::Confirmed] {
            self.stopped()?;
            let me = self.me;
            for peer in Party::ALL.into_iter().filter(|&p| p != me) {
                // A failed send shows up as the peer's missing word below.
                let _ = self.send_frame(peer, kind, Vec::new());
            }
            let errors = self.collect(kind);
            if let Some(error) = errors.into_iter().min_by_key(rank) {
                return Err(error);
            }
        }
        Ok(())
    }

    /// Waits for a frame of `kind` from every peer, polling them in turn: a party
    /// done early (the helper) may wait long for the others, which talk to each
    /// other meanwhile, so only silence from all of them for two timeouts each is a
    /// stall. Returns every fault found.
    fn collect(&mut self, kind: FrameKind) -> Vec<NetError> {
        let mut pending: Vec<Party> = Party::ALL.into_iter().filter(|&p| p != self.me).collect();
        let mut errors = Vec::new();
        let mut quiet = 0;
        while let Some(&peer) = pending.first() {
            let done = match self.receive_one(peer) {
                Ok(Polled::Frame(opened, frame)) => {
                    quiet = 0;
                    if opened.kind == FrameKind::Abort {
                        errors.push(self.peer_aborted(peer, &frame[opened.payload]));
                    } else if opened.kind != kind {
                        errors
                            .push(self.unexpected(peer, "sent a message after the session's last"));
                    }
                    true
                }
                Ok(Polled::Waiting) => {
                    quiet = 0;
                    false
                }
                Ok(Polled::Silent(timeout)) => {
                    quiet += 1;
                    if quiet >= PATIENCE as usize * pending.len() {
                        match self.opener(peer) {
                            Ok(opener) => {
                                let what = opener.dropped(Some(timeout * PATIENCE));
                                errors.push(self.misbehaved(peer, what));
                            }
                            Err(error) => errors.push(error),
                        }
                        true
                    } else {
                        if quiet == pending.len() {
                            self.announce_waiting(peer);
                        }
                        false
                    }
                }
                Err(error) => {
                    errors.push(error);
                    true
                }
            };
            pending.remove(0);
            if !done {
                pending.push(peer);
            }
        }
        errors
    }
}

impl Transport for AttestedChannel<'_> {
    fn me(&self) -> Party {
        self.me
    }

    fn send(&mut self, to: Party, payload: Vec<u8>) -> Result<(), NetError> {
        self.stopped()?;
        match self.send_frame(to, FrameKind::Data, payload) {
            Ok(()) => Ok(()),
            Err(error) => Err(self.gone(to, error)),
        }
    }

    fn send_words(&mut self, to: Party, words: &[u64]) -> Result<(), NetError> {
        // Room for the trailer and tag, so sealing appends without moving the words.
        let room = crate::transcript::HEADER_BYTES + crate::transcript::TAG_BYTES;
        self.send(to, cryptflow_net::words_to_bytes_with_room(words, room))
    }

    fn recv(&mut self, from: Party) -> Result<Vec<u8>, NetError> {
        let (opened, mut frame) = self.next_frame(from)?;
        match opened.kind {
            FrameKind::Data => {
                // The payload is the frame's start: no bytes move.
                frame.truncate(opened.payload.end);
                Ok(frame)
            }
            FrameKind::Abort => Err(self.peer_aborted(from, &frame[opened.payload])),
            FrameKind::Finished | FrameKind::Waiting | FrameKind::Confirmed => {
                Err(self.unexpected(from, "finished while we still expected a message"))
            }
        }
    }

    fn stats(&self) -> CommStats {
        self.host.stats()
    }
}

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
//! more (twice). A boundary waiting on the notice's sender then knows that peer is alive and
//! waits on, unless the notice shows the sender sent it a message it never got: then
//! that message was dropped on the sender's side. Only a peer silent for three
//! timeouts, notices included, is blamed for stalling.

mod ending;

use crate::transcript::{DirectionKey, FrameKind, Opened, Opener, Received, Sealer};
use cryptflow_net::{CommStats, Misbehaviour, NetError, Transport};
use cryptflow_ring::Party;

/// How many whole timeouts a boundary waits for a silent peer before blaming it:
/// one more than the prelude's two, so that a peer stuck in its prelude (waiting on
/// the third party) reports its abort before we give up on it.
const PATIENCE: u32 = 3;

/// A protocol message longer than this goes as several frames (parts), each sealed on
/// its own: the receiver checks one part's tag while the sender seals the next, so
/// the MAC of a long message (a model's masked weights, a wide layer's openings) costs
/// about one part's time on the receiver's side, not the message's. 256 KiB keeps a
/// part in cache between the copy and the hash; the cost is 75 bytes (trailer and tag) per part.
const PART_BYTES: usize = 256 << 10;

/// The longest protocol message the channel reassembles from parts: the host
/// transport's default frame limit.
const MAX_MESSAGE_BYTES: usize = 4 << 30;

/// The label of messages outside the protocol steps (the program, tests' scripts).
const UNLABELLED: u64 = 0;

/// Room after a payload for the trailer and tag, so sealing never moves the payload.
const ROOM: usize = crate::transcript::HEADER_BYTES + crate::transcript::TAG_BYTES;

/// The payload of a waiting notice.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct WaitingNotice {
    on: Party,
    /// The sender's index of the last message it sent to each party.
    last_sent: [Option<u64>; 3],
}

/// What one wait for a frame gave.
enum Polled {
    Frame(Opened, Vec<u8>),
    /// A waiting notice: the peer is alive.
    Waiting,
    /// Nothing for a whole timeout.
    Silent(std::time::Duration),
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
        self.send_labelled_frame(to, kind, UNLABELLED, payload)
    }

    fn send_labelled_frame(
        &mut self,
        to: Party,
        kind: FrameKind,
        label: u64,
        payload: Vec<u8>,
    ) -> Result<(), NetError> {
        let index = self.sent;
        let sealer = self.sealers[to.index()]
            .as_mut()
            .ok_or(NetError::ConnectionFailed { peer: to })?;
        let frame = sealer.seal(kind, index, label, payload);
        self.sent += 1;
        self.last_sent[to.index()] = Some(index);
        self.host.send(to, frame)
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

    fn send_part(
        &mut self,
        to: Party,
        kind: FrameKind,
        label: u64,
        frame: Vec<u8>,
    ) -> Result<(), NetError> {
        self.send_labelled_frame(to, kind, label, frame)
            .map_err(|error| self.gone(to, error))
    }

    /// The next part of a protocol message from `from` of the step `label`, and
    /// whether it is the last.
    fn next_part(&mut self, from: Party, label: u64) -> Result<(bool, Opened, Vec<u8>), NetError> {
        let (opened, frame) = self.next_frame(from)?;
        if matches!(opened.kind, FrameKind::Data | FrameKind::Part) && opened.label != label {
            return Err(self.out_of_step(from, label, opened.label));
        }
        match opened.kind {
            FrameKind::Data => Ok((true, opened, frame)),
            FrameKind::Part => Ok((false, opened, frame)),
            FrameKind::Abort => Err(self.peer_aborted(from, &frame[opened.payload])),
            FrameKind::Finished | FrameKind::Waiting | FrameKind::Confirmed => {
                Err(self.unexpected(from, "finished while we still expected a message"))
            }
        }
    }

    /// Sends one protocol message as `count` frames, `part(i)` the i-th: every frame
    /// but the last a `Part`, the last `Data`. The one place a message is cut.
    fn send_parts(
        &mut self,
        to: Party,
        label: u64,
        count: usize,
        mut part: impl FnMut(usize) -> Vec<u8>,
    ) -> Result<(), NetError> {
        self.stopped()?;
        for i in 0..count {
            let kind = if i + 1 == count {
                FrameKind::Data
            } else {
                FrameKind::Part
            };
            self.send_part(to, kind, label, part(i))?;
        }
        Ok(())
    }

    /// Receives one protocol message of the step `label` from `from`, handing each
    /// part's payload to `take` in order. The one place a message is reassembled.
    fn recv_parts(
        &mut self,
        from: Party,
        label: u64,
        mut take: impl FnMut(&[u8]) -> Result<(), NetError>,
    ) -> Result<(), NetError> {
        let mut received = 0usize;
        loop {
            let (last, opened, frame) = self.next_part(from, label)?;
            received = received.saturating_add(opened.payload.len());
            if received > MAX_MESSAGE_BYTES {
                return Err(self.unexpected(from, "a message longer than the limit"));
            }
            take(&frame[opened.payload])?;
            if last {
                return Ok(());
            }
        }
    }

    fn opener(&mut self, from: Party) -> Result<&mut Opener, NetError> {
        self.openers[from.index()]
            .as_mut()
            .ok_or(NetError::ConnectionFailed { peer: from })
    }
}

impl Transport for AttestedChannel<'_> {
    fn me(&self) -> Party {
        self.me
    }

    fn send(&mut self, to: Party, payload: Vec<u8>) -> Result<(), NetError> {
        // All but the last part are copied out (cache-hot for the MAC); the last
        // stays in the payload's own buffer.
        let count = payload.len().div_ceil(PART_BYTES).max(1);
        let mut payload = payload;
        self.send_parts(to, UNLABELLED, count, |i| {
            if i + 1 < count {
                let mut frame = Vec::with_capacity(PART_BYTES + ROOM);
                frame.extend_from_slice(&payload[i * PART_BYTES..(i + 1) * PART_BYTES]);
                frame
            } else {
                payload.drain(..i * PART_BYTES);
                std::mem::take(&mut payload)
            }
        })
    }

    fn send_words(&mut self, to: Party, words: &[u64]) -> Result<(), NetError> {
        self.send_labelled(to, UNLABELLED, words)
    }

    fn send_labelled(&mut self, to: Party, label: u64, words: &[u64]) -> Result<(), NetError> {
        // Each part's words go straight into its frame, with room for the trailer and
        // tag, so sealing appends without moving them: one copy, as in plain mode.
        let per_part = PART_BYTES / 8;
        let count = words.len().div_ceil(per_part).max(1);
        self.send_parts(to, label, count, |i| {
            let part = &words[i * per_part..words.len().min((i + 1) * per_part)];
            cryptflow_net::words_to_bytes_with_room(part, ROOM)
        })
    }

    fn recv(&mut self, from: Party) -> Result<Vec<u8>, NetError> {
        let mut message = Vec::new();
        self.recv_parts(from, UNLABELLED, |part| {
            message.extend_from_slice(part);
            Ok(())
        })?;
        Ok(message)
    }

    fn recv_words(&mut self, from: Party) -> Result<Vec<u64>, NetError> {
        self.recv_labelled(from, UNLABELLED)
    }

    fn recv_labelled(&mut self, from: Party, label: u64) -> Result<Vec<u64>, NetError> {
        // Each part's bytes go straight into the words: one copy, as in plain mode.
        let mut words = Vec::new();
        self.recv_parts(from, label, |part| {
            cryptflow_net::extend_words(from, &mut words, part)
        })?;
        Ok(words)
    }

    fn stats(&self) -> CommStats {
        self.host.stats()
    }
}

//! How an attested session ends: aborts (whom we blame, whether proven, why), the
//! choice of the most telling of several faults, and the two-step finish.

use super::{AttestedChannel, Polled, PATIENCE};
use crate::transcript::{FrameKind, Received};
use cryptflow_net::{Misbehaviour, NetError};
use cryptflow_ring::Party;

/// An abort reason longer than this is cut (it is only for people to read).
const MAX_REASON_BYTES: usize = 1024;

/// The payload of an abort frame.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct AbortNotice {
    culprit: Option<Party>,
    proven: bool,
    reason: String,
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
        NetError::OutOfStep { .. } => 0,
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

impl AttestedChannel<'_> {
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

    /// An authentic message from `from` for another protocol step than ours: its
    /// boundary follows another schedule (proven: the message is authentic).
    pub(super) fn out_of_step(&mut self, from: Party, expected: u64, got: u64) -> NetError {
        let error = NetError::OutOfStep {
            peer: from,
            expected,
            got,
        };
        self.abort(Some(from), true, &format!("{} found that {error}", self.me));
        error
    }

    pub(super) fn misbehaved(&mut self, culprit: Party, what: Misbehaviour) -> NetError {
        let proven = what.is_proven();
        let error = NetError::HostMisbehaved { culprit, what };
        self.abort(
            Some(culprit),
            proven,
            &format!("{} found that {error}", self.me),
        );
        error
    }

    pub(super) fn stopped(&self) -> Result<(), NetError> {
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

    pub(super) fn peer_aborted(&mut self, from: Party, payload: &[u8]) -> NetError {
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
    pub(super) fn gone(&mut self, peer: Party, error: NetError) -> NetError {
        let own = self.queued_abort(peer);
        self.settle(peer, own.unwrap_or(error))
    }

    /// Ends the session on `error` (about `peer`), or on what the third party says if
    /// `error` blames nobody but its reporter: a peer that only lost its connection
    /// to the culprit says less than the peer that caught it. Reading the third
    /// party may wait one timeout; this only happens on the way out.
    pub(super) fn settle(&mut self, peer: Party, error: NetError) -> NetError {
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
    pub(super) fn queued_abort(&mut self, from: Party) -> Option<NetError> {
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

    pub(super) fn unexpected(&mut self, from: Party, what: &str) -> NetError {
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
    /// other meanwhile, so only silence from all of them for three timeouts each is a
    /// stall. Returns every fault found.
    pub(super) fn collect(&mut self, kind: FrameKind) -> Vec<NetError> {
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

//! The runtime's view of the transport: protocol messages to a named peer, each
//! labelled with its step (kind, instruction, round), and a count of the
//! communication rounds between the two share-holders.

use crate::RuntimeError;
use cryptflow_net::{NetError, Transport};
use cryptflow_protocol::msgs::{Label, Message, MessageKind, Outgoing};
use cryptflow_protocol::{PairwiseSeeds, Step, StreamId};
use cryptflow_ring::{Party, Prg};

pub(crate) struct Link<'t> {
    transport: &'t mut dyn Transport,
    pub seeds: PairwiseSeeds,
    pub rounds: u64,
}

impl<'t> Link<'t> {
    pub fn new(transport: &'t mut dyn Transport, seeds: PairwiseSeeds) -> Link<'t> {
        Link {
            transport,
            seeds,
            rounds: 0,
        }
    }

    pub fn me(&self) -> Party {
        self.transport.me()
    }

    /// Sends `message` as the one of kind `M` at `step` (round 0).
    pub fn send<M: Message>(
        &mut self,
        to: Party,
        step: usize,
        message: &M,
    ) -> Result<(), RuntimeError> {
        self.send_round(to, step, 0, message)
    }

    /// Sends `message` as the one of kind `M` at `step`, round `round` (a message in
    /// parts: one per round).
    pub fn send_round<M: Message>(
        &mut self,
        to: Party,
        step: usize,
        round: u16,
        message: &M,
    ) -> Result<(), RuntimeError> {
        self.send_labelled(to, Label::new(M::KIND, step, round), message.words())
    }

    /// Sends a message built by a protocol step as the one of instruction `step`.
    pub fn send_outgoing(
        &mut self,
        to: Party,
        step: usize,
        message: Outgoing,
    ) -> Result<(), RuntimeError> {
        self.send_labelled(to, message.label(step), &message.words)
    }

    /// Receives the words of the message of kind `kind` at `step` (round 0); the
    /// protocol decodes them, checking their length.
    pub fn recv(
        &mut self,
        from: Party,
        kind: MessageKind,
        step: usize,
    ) -> Result<Vec<u64>, RuntimeError> {
        self.recv_round(from, kind, step, 0)
    }

    /// As [`recv`](Self::recv), the message of round `round` of the step.
    pub fn recv_round(
        &mut self,
        from: Party,
        kind: MessageKind,
        step: usize,
        round: u16,
    ) -> Result<Vec<u64>, RuntimeError> {
        self.recv_labelled(from, Label::new(kind, step, round))
    }

    fn send_labelled(
        &mut self,
        to: Party,
        label: Label,
        words: &[u64],
    ) -> Result<(), RuntimeError> {
        Ok(self.transport.send_labelled(to, label.code(), words)?)
    }

    fn recv_labelled(&mut self, from: Party, label: Label) -> Result<Vec<u64>, RuntimeError> {
        self.transport
            .recv_labelled(from, label.code())
            .map_err(|error| match error {
                NetError::OutOfStep { peer, got, .. } => RuntimeError::OutOfStep {
                    peer,
                    expected: label,
                    got: Label::from_code(got),
                },
                other => other.into(),
            })
    }

    /// One round with the other share-holder: send, then receive its message of the
    /// same step and round.
    fn exchange(&mut self, step: usize, message: Outgoing) -> Result<Vec<u64>, RuntimeError> {
        let peer = self.me().share_peer().unwrap_or(Party::ModelOwner);
        let label = message.label(step);
        self.send_labelled(peer, label, &message.words)?;
        self.rounds += 1;
        self.recv_labelled(peer, label)
    }

    /// Drives an interactive protocol of instruction `step` to its end, its rounds
    /// numbered from `first_round` (a step's later pieces follow its earlier ones).
    pub fn drive<T>(
        &mut self,
        step: usize,
        first_round: u16,
        mut next: Step<T>,
        mut protocol: impl FnMut(Vec<u64>) -> Result<Step<T>, cryptflow_protocol::ProtocolError>,
    ) -> Result<T, RuntimeError> {
        loop {
            match next {
                Step::Done(out) => return Ok(out),
                Step::Send(mut message) => {
                    message.round = message.round.saturating_add(first_round);
                    let incoming = self.exchange(step, message)?;
                    next = protocol(incoming)?;
                }
            }
        }
    }

    pub fn stream(&self, peer: Party, stream: StreamId) -> Prg {
        self.seeds.stream(peer, stream)
    }

    pub fn stats(&self) -> cryptflow_net::CommStats {
        self.transport.stats()
    }
}

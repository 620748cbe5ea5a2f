//! The runtime's view of the transport: words to a named peer, and a count of the
//! communication rounds between the two share-holders.

use crate::RuntimeError;
use cryptflow_net::Transport;
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

    pub fn send(&mut self, to: Party, words: &[u64]) -> Result<(), RuntimeError> {
        Ok(self.transport.send_words(to, words)?)
    }

    pub fn recv(&mut self, from: Party) -> Result<Vec<u64>, RuntimeError> {
        Ok(self.transport.recv_words(from)?)
    }

    /// One round with the other share-holder: send, then receive its message.
    pub fn exchange(&mut self, words: &[u64]) -> Result<Vec<u64>, RuntimeError> {
        let peer = self.me().share_peer().unwrap_or(Party::ModelOwner);
        self.send(peer, words)?;
        self.rounds += 1;
        self.recv(peer)
    }

    /// Drives an interactive protocol to its end.
    pub fn drive<T>(
        &mut self,
        mut next: Step<T>,
        mut step: impl FnMut(&[u64]) -> Result<Step<T>, cryptflow_protocol::ProtocolError>,
    ) -> Result<T, RuntimeError> {
        loop {
            match next {
                Step::Done(out) => return Ok(out),
                Step::Send(message) => {
                    let incoming = self.exchange(&message)?;
                    next = step(&incoming)?;
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

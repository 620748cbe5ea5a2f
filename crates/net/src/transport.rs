use cryptflow_ring::Party;

use crate::words::{bytes_to_words, words_to_bytes};
use crate::{CommStats, NetError};

/// Point-to-point messages between the three parties.
///
/// Messages from one peer arrive whole and in the order it sent them. `send` only
/// queues, so two parties may both send (however much) and then both receive
/// without deadlocking.
pub trait Transport: Send {
    /// The party this endpoint belongs to.
    fn me(&self) -> Party;

    /// Queues a message to `to` and returns without waiting for `to` to read it.
    fn send(&mut self, to: Party, payload: Vec<u8>) -> Result<(), NetError>;

    /// Blocks until the next message from `from` arrives.
    fn recv(&mut self, from: Party) -> Result<Vec<u8>, NetError>;

    /// Sends ring elements, each as 8 little-endian bytes.
    fn send_words(&mut self, to: Party, words: &[u64]) -> Result<(), NetError> {
        self.send(to, words_to_bytes(words))
    }

    /// Receives a message sent with [`send_words`](Transport::send_words).
    /// A message whose length is not a multiple of 8 is a
    /// [`NetError::MalformedMessage`].
    fn recv_words(&mut self, from: Party) -> Result<Vec<u64>, NetError> {
        let bytes = self.recv(from)?;
        bytes_to_words(from, &bytes)
    }

    /// Sends ring elements as the message of the protocol step `label` names. A
    /// transport that authenticates messages (the attested channel) binds the label to
    /// the message; the others send the words alone.
    fn send_labelled(&mut self, to: Party, label: u64, words: &[u64]) -> Result<(), NetError> {
        let _ = label;
        self.send_words(to, words)
    }

    /// Receives the message of the step `label` names, sent with
    /// [`send_labelled`](Transport::send_labelled). A transport that authenticates
    /// labels refuses one with another label ([`NetError::OutOfStep`]).
    fn recv_labelled(&mut self, from: Party, label: u64) -> Result<Vec<u64>, NetError> {
        let _ = label;
        self.recv_words(from)
    }

    /// Traffic so far, summed over both peers.
    fn stats(&self) -> CommStats;
}

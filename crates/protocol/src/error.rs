use cryptflow_ring::Party;
use thiserror::Error;

/// What can go wrong inside a protocol step. Only a peer can cause these: the steps
/// themselves are total on well-formed messages.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    #[error("{from} sent a malformed {message} message: expected {expected} words, got {actual}")]
    MalformedMessage {
        from: Party,
        message: &'static str,
        expected: usize,
        actual: usize,
    },
    #[error("{party} cannot take part in {protocol}: that protocol is run by {expected}")]
    WrongParty {
        party: Party,
        protocol: &'static str,
        expected: &'static str,
    },
}

/// Checks a received message's length.
pub(crate) fn expect_len(
    from: Party,
    message: &'static str,
    words: &[u64],
    expected: usize,
) -> Result<(), ProtocolError> {
    if words.len() == expected {
        Ok(())
    } else {
        Err(ProtocolError::MalformedMessage {
            from,
            message,
            expected,
            actual: words.len(),
        })
    }
}

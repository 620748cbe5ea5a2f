use crate::token::TokenRejection;
use cryptflow_net::NetError;
use cryptflow_ring::Party;

/// Why attested setup failed. Each names the party at fault where there is one.
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("{party}'s attestation was rejected: {reason}")]
    Rejected {
        party: Party,
        reason: TokenRejection,
    },

    #[error(
        "{party}'s host sent different hellos to {seen_by} and to us (the nonce {seen_by}'s \
         token states is not the one we received)"
    )]
    InconsistentHellos { party: Party, seen_by: Party },

    #[error(
        "{owner}'s host sent {to} a different program than it sent us ({to}'s \
         attested program hash differs from ours)",
        owner = Party::ModelOwner
    )]
    ProgramSentDifferently { to: Party },

    #[error("{party} sent a malformed hello: {detail}")]
    MalformedHello { party: Party, detail: String },

    #[error(transparent)]
    Net(#[from] NetError),

    #[error("this party's boundary could not attest: {0}")]
    Attest(String),

    #[error("no entropy from the operating system: {0}")]
    Entropy(String),
}

impl AttestError {
    /// The party this error blames, if any.
    pub fn culprit(&self) -> Option<Party> {
        match self {
            AttestError::Rejected { party, .. }
            | AttestError::InconsistentHellos { party, .. }
            | AttestError::MalformedHello { party, .. } => Some(*party),
            AttestError::ProgramSentDifferently { .. } => Some(Party::ModelOwner),
            AttestError::Net(NetError::RecvTimeout { peer, .. }) => Some(*peer),
            AttestError::Net(error) => error.culprit(),
            _ => None,
        }
    }
}

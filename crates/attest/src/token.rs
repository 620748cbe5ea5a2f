//! Attestation tokens: what a party's boundary claims (its party, code identity, the
//! key-exchange key it made inside, the session's nonces) and the evidence that binds
//! those claims to the code, as an SGX quote binds REPORT_DATA to MRENCLAVE.
//!
//! The evidence never carries the claims themselves, only their hash (`report_data`),
//! exactly as a hardware quote carries 64 bytes of REPORT_DATA: so the same claims fit
//! every backend, and a verifier recomputes the hash from the claims it was sent.

use crate::identity::{CodeIdentity, Digest};
use cryptflow_ring::Party;
use serde::{Deserialize, Serialize};

/// Random bytes each party's boundary contributes to bind tokens to one session.
pub type Nonce = [u8; 32];

/// What a boundary states about itself in its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub party: Party,
    pub identity: CodeIdentity,
    /// The X25519 public key generated inside the boundary for this session.
    pub kx_public: [u8; 32],
    /// Every party's nonce as this boundary received it (its own included), by index.
    pub nonces: [Nonce; 3],
}

impl Claims {
    /// The 64 bytes a hardware quote would carry as REPORT_DATA: a hash of the claims.
    pub fn report_data(&self) -> [u8; 64] {
        let mut hasher = blake3::Hasher::new_derive_key("cryptflow 2026-12 report data v1");
        hasher.update(&[self.party.index() as u8]);
        hasher.update(&self.identity.code.0);
        hasher.update(&self.identity.protocol_version.to_le_bytes());
        hasher.update(&self.identity.program.0);
        hasher.update(&self.kx_public);
        for nonce in &self.nonces {
            hasher.update(nonce);
        }
        let mut out = [0u8; 64];
        hasher.finalize_xof().fill(&mut out);
        out
    }
}

/// Backend-specific proof that `report_data` comes from code measuring `measurement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    /// Signed by a software attestation root (see [`crate::software`]).
    Software {
        measurement: Digest,
        /// 64 bytes (serde has no arrays longer than 32; the length is checked).
        report_data: Vec<u8>,
        /// An Ed25519 signature by the root, 64 bytes.
        signature: Vec<u8>,
    },
}

/// A party's token: its claims and the evidence for them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub claims: Claims,
    pub evidence: Evidence,
}

/// What verified evidence says: the code it measured and the data it binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attested {
    pub measurement: Digest,
    pub report_data: [u8; 64],
}

/// Why a token was not accepted. Each names what the verifier saw, so the error says
/// whether the peer runs other code, holds another program or belongs to another session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("its token could not be decoded ({0})")]
    Malformed(String),
    #[error("its token is not signed by the trusted attestation root")]
    NotSignedByRoot,
    #[error("its token is evidence of another kind than this session's backend ({0})")]
    WrongBackend(&'static str),
    #[error("its token's evidence does not match its claims (report data differs)")]
    ClaimsNotBound,
    #[error("its token names {claimed}, not the party it came from")]
    WrongParty { claimed: Party },
    #[error("it runs other code: measurement {theirs}, ours {ours}")]
    WrongMeasurement { theirs: Digest, ours: Digest },
    #[error("it speaks protocol version {theirs}, we speak {ours}")]
    WrongVersion { theirs: u32, ours: u32 },
    #[error(
        "it holds another program: hash {theirs}, ours {ours} (the model owner's host \
         sent it a different program, or sent us one)"
    )]
    WrongProgram { theirs: Digest, ours: Digest },
    #[error("its token does not carry our nonce: it was made for another session (replayed)")]
    NotThisSession,
    #[error(
        "the nonce in its hello differs from the one its token states: its host changed the hello"
    )]
    HelloChanged,
    #[error("its token carries another nonce for {of} than {of} sent us")]
    NonceDiffers { of: Party },
    #[error("its key-exchange key is degenerate")]
    WeakKey,
}

/// Issues evidence for claims: the boundary's side of F_attest.
pub trait Attester {
    fn attest(&self, measurement: Digest, report_data: &[u8; 64]) -> Result<Evidence, String>;
}

/// Checks evidence against a trusted root: the verifier's side of F_attest.
pub trait EvidenceVerifier {
    fn verify(&self, evidence: &Evidence) -> Result<Attested, TokenRejection>;
}

impl Token {
    /// Checks the evidence and that it binds exactly these claims; returns the
    /// attested measurement. Session checks (nonces) are the prelude's.
    pub fn verify(&self, verifier: &dyn EvidenceVerifier) -> Result<Digest, TokenRejection> {
        let attested = verifier.verify(&self.evidence)?;
        if attested.report_data != self.claims.report_data() {
            return Err(TokenRejection::ClaimsNotBound);
        }
        Ok(attested.measurement)
    }
}

//! The boundary: what a party's trusted side holds and the host never sees.
//!
//! An [`Enclave`] is launched for one session with its code identity; it draws its
//! key-exchange key and its nonce from the operating system's randomness itself (in
//! SGX: `sgx_read_rand`), so the host neither chooses nor sees them. Everything
//! derived from them (pairwise seeds, MAC keys) stays in the [`AttestedChannel`] and
//! the protocol state the channel serves; host code only ever holds the bytes of
//! framed messages.
//!
//! [`AttestedChannel`]: crate::AttestedChannel

use crate::error::AttestError;
use crate::identity::{CodeIdentity, Digest};
use crate::token::{Claims, Nonce};
use cryptflow_ring::Party;
use x25519_dalek::{PublicKey, StaticSecret};

/// One party's boundary for one session.
pub struct Enclave {
    party: Party,
    identity: CodeIdentity,
    kx_secret: StaticSecret,
    kx_public: PublicKey,
    nonce: Nonce,
}

impl std::fmt::Debug for Enclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key-exchange secret is never printed.
        f.debug_struct("Enclave")
            .field("party", &self.party)
            .field("measurement", &self.identity.measurement())
            .finish_non_exhaustive()
    }
}

fn random32() -> Result<[u8; 32], AttestError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| AttestError::Entropy(e.to_string()))?;
    Ok(bytes)
}

impl Enclave {
    /// Commits to `identity` and makes this session's key and nonce inside.
    pub fn launch(party: Party, identity: CodeIdentity) -> Result<Enclave, AttestError> {
        let kx_secret = StaticSecret::from(random32()?);
        Ok(Enclave {
            party,
            identity,
            kx_public: PublicKey::from(&kx_secret),
            kx_secret,
            nonce: random32()?,
        })
    }

    pub fn party(&self) -> Party {
        self.party
    }

    pub fn identity(&self) -> &CodeIdentity {
        &self.identity
    }

    pub fn measurement(&self) -> Digest {
        self.identity.measurement()
    }

    pub(crate) fn nonce(&self) -> Nonce {
        self.nonce
    }

    pub(crate) fn claims(&self, nonces: [Nonce; 3]) -> Claims {
        Claims {
            party: self.party,
            identity: self.identity,
            kx_public: self.kx_public.to_bytes(),
            nonces,
        }
    }

    /// The X25519 secret shared with the owner of `theirs`, or `None` if `theirs` is a
    /// low-order point that would make the secret predictable.
    pub(crate) fn agree(&self, theirs: &[u8; 32]) -> Option<[u8; 32]> {
        let shared = self.kx_secret.diffie_hellman(&PublicKey::from(*theirs));
        shared.was_contributory().then(|| shared.to_bytes())
    }
}

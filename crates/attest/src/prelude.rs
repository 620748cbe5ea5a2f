//! The prelude (the paper's §V-C): before any protocol message, every party checks
//! every other party's token, and the parties agree on keys that only their
//! boundaries hold.
//!
//! Two rounds over the untrusted host transport:
//! 1. each boundary sends every peer a [`Hello`] with a fresh nonce;
//! 2. each sends its [`Token`]: claims (party, code identity, an X25519 key made
//!    inside, every nonce it received) bound by the backend's evidence.
//!
//! A token is accepted only if it chains to the trusted root, names its sender, was
//! made by the same code on the same program and protocol version (its measurement
//! equals ours), states the nonce its sender's hello carried, and carries our nonce
//! (so it was made for this session, not replayed). Then each pair derives, from its
//! X25519 secret and the session's nonces, its pairwise seed and a MAC key per
//! direction. Any failure aborts before inputs are touched, naming the party.

use crate::channel::AttestedChannel;
use crate::enclave::Enclave;
use crate::error::AttestError;
use crate::identity::PROTOCOL_VERSION;
use crate::token::{Attester, EvidenceVerifier, Nonce, Token, TokenRejection};
use cryptflow_net::{NetError, Transport};
use cryptflow_protocol::PairwiseSeeds;
use cryptflow_ring::{Party, Seed};
use serde::{Deserialize, Serialize};

/// The first message of the prelude.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub version: u32,
    pub party: Party,
    pub nonce: Nonce,
}

/// A prelude message. Tagged, so one kind can never be read as the other (a host
/// that reorders a hello and a token is caught as such).
#[derive(Clone, Debug, Serialize, Deserialize)]
enum PreludeMessage {
    Hello(Hello),
    Token(Box<Token>),
}

impl PreludeMessage {
    fn encode(&self) -> Result<Vec<u8>, AttestError> {
        postcard::to_stdvec(self).map_err(|e| AttestError::Attest(e.to_string()))
    }

    fn decode(bytes: &[u8]) -> Result<PreludeMessage, String> {
        match postcard::take_from_bytes(bytes) {
            Ok((message, [])) => Ok(message),
            Ok((_, rest)) => Err(format!("{} bytes after the message", rest.len())),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// What the prelude needs besides the boundary and the host.
#[derive(Clone, Copy)]
pub struct PreludeConfig<'a> {
    /// Issues this party's evidence (its backend).
    pub attester: &'a dyn Attester,
    /// Checks the peers' evidence against the trusted root.
    pub verifier: &'a dyn EvidenceVerifier,
    /// Messages this party sent through the host before the prelude (the model
    /// owner's program), so message indices count from the session's start.
    pub sent_before: u64,
}

impl std::fmt::Debug for PreludeConfig<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreludeConfig")
            .field("sent_before", &self.sent_before)
            .finish_non_exhaustive()
    }
}

/// An attested session: the channel every protocol message goes through, and the
/// pairwise seeds (derived inside, never chosen or seen by the host).
#[derive(Debug)]
pub struct AttestedSession<'h> {
    pub channel: AttestedChannel<'h>,
    pub seeds: PairwiseSeeds,
}

fn peers(me: Party) -> impl Iterator<Item = Party> {
    Party::ALL.into_iter().filter(move |&p| p != me)
}

/// Runs the prelude for `enclave` over `host`.
pub fn run_prelude<'h>(
    enclave: Enclave,
    host: &'h mut dyn Transport,
    config: PreludeConfig<'_>,
) -> Result<AttestedSession<'h>, AttestError> {
    let me = enclave.party();
    let mut sent = config.sent_before;
    let hello = Hello {
        version: PROTOCOL_VERSION,
        party: me,
        nonce: enclave.nonce(),
    };
    let hello_bytes = PreludeMessage::Hello(hello).encode()?;
    for peer in peers(me) {
        host.send(peer, hello_bytes.clone())?;
        sent += 1;
    }
    // A peer whose hello fails is left out from here on (its stream is out of step),
    // but the prelude goes on with the other: the keys agreed with it carry our abort,
    // so it learns whom to blame rather than seeing us hang up. The nonce we state for
    // a failed peer is zero, which its honest peers see as inconsistent hellos.
    let mut failures = Vec::new();
    let mut nonces = [[0u8; 32]; 3];
    nonces[me.index()] = enclave.nonce();
    let mut live = [false; 3];
    for peer in peers(me) {
        match receive_hello(host, peer) {
            Ok(nonce) => {
                nonces[peer.index()] = nonce;
                live[peer.index()] = true;
            }
            Err(error) => failures.push(error),
        }
    }

    let claims = enclave.claims(nonces);
    let evidence = config
        .attester
        .attest(enclave.measurement(), &claims.report_data())
        .map_err(AttestError::Attest)?;
    let token = PreludeMessage::Token(Box::new(Token { claims, evidence })).encode()?;
    for peer in peers(me) {
        // A peer that is gone shows up when we read its token.
        let _ = host.send(peer, token.clone());
        sent += 1;
    }
    let mut tokens: [Option<Token>; 3] = Default::default();
    for peer in peers(me).filter(|p| live[p.index()]) {
        let bytes = match patient_recv(host, peer) {
            Ok(bytes) => bytes,
            Err(error) => {
                failures.push(error.into());
                continue;
            }
        };
        match check_token(&enclave, &nonces, peer, &bytes, config.verifier) {
            Ok(token) => tokens[peer.index()] = Some(token),
            // The program comes from P0: if a third party holds another one than we
            // do (and P0 attests ours), P0's host sent it a different program. P0
            // itself knows what it sent, so it names the peer.
            Err(TokenRejection::WrongProgram { .. })
                if peer != Party::ModelOwner && me != Party::ModelOwner =>
            {
                failures.push(AttestError::ProgramSentDifferently { to: peer })
            }
            Err(reason) => failures.push(AttestError::Rejected {
                party: peer,
                reason,
            }),
        }
    }
    // A nonce that two accepted tokens state differently: its owner's host sent the
    // peers different hellos.
    for (q, token) in tokens.iter().enumerate() {
        let Some(token) = token else { continue };
        for p in peers(me).filter(|p| p.index() != q && live[p.index()]) {
            if token.claims.nonces[p.index()] != nonces[p.index()] {
                failures.push(AttestError::InconsistentHellos {
                    party: p,
                    seen_by: token.claims.party,
                });
            }
        }
    }

    let session = session_binding(&nonces);
    let mut shared: [Option<[u8; 32]>; 3] = [None; 3];
    for peer in peers(me) {
        if let Some(token) = &tokens[peer.index()] {
            match enclave.agree(&token.claims.kx_public) {
                Some(secret) => shared[peer.index()] = Some(secret),
                None => failures.push(AttestError::Rejected {
                    party: peer,
                    reason: TokenRejection::WeakKey,
                }),
            }
        }
    }
    let mut channel = AttestedChannel::new(me, host, &shared, &session, sent);
    if let Some(first) = failures.into_iter().next() {
        // Tell the peers we could agree keys with, so they stop too and know why.
        let proven = !matches!(first, AttestError::Net(_));
        channel.abort(first.culprit(), proven, &first.to_string());
        return Err(first);
    }
    let mut seeds = [None; 3];
    for peer in peers(me) {
        seeds[peer.index()] = shared[peer.index()].map(|s| pairwise_seed(&s, &session));
    }
    Ok(AttestedSession {
        channel,
        seeds: PairwiseSeeds::new(me, seeds),
    })
}

/// Receives from `peer`, waiting two whole timeouts: a peer that is itself stuck
/// waiting on the third party gives up (and disconnects) within one, so only the
/// party that really stalls is blamed for it.
fn patient_recv(host: &mut dyn Transport, peer: Party) -> Result<Vec<u8>, NetError> {
    match host.recv(peer) {
        Err(NetError::RecvTimeout { .. }) => host.recv(peer),
        other => other,
    }
}

fn receive_hello(host: &mut dyn Transport, peer: Party) -> Result<Nonce, AttestError> {
    let bytes = patient_recv(host, peer)?;
    let malformed = |detail: String| AttestError::MalformedHello {
        party: peer,
        detail,
    };
    let hello = match PreludeMessage::decode(&bytes).map_err(malformed)? {
        PreludeMessage::Hello(hello) => hello,
        PreludeMessage::Token(_) => {
            return Err(malformed("a token came where its hello was due".into()))
        }
    };
    if hello.party != peer {
        return Err(malformed(format!("it claims to be {}", hello.party)));
    }
    if hello.version != PROTOCOL_VERSION {
        return Err(malformed(format!(
            "protocol version {}, we speak {PROTOCOL_VERSION}",
            hello.version
        )));
    }
    Ok(hello.nonce)
}

/// Every check of one peer's token that does not involve the third party.
fn check_token(
    enclave: &Enclave,
    nonces: &[Nonce; 3],
    peer: Party,
    bytes: &[u8],
    verifier: &dyn EvidenceVerifier,
) -> Result<Token, TokenRejection> {
    let token = match PreludeMessage::decode(bytes).map_err(TokenRejection::Malformed)? {
        PreludeMessage::Token(token) => *token,
        PreludeMessage::Hello(_) => {
            return Err(TokenRejection::Malformed(
                "a hello came where its token was due".into(),
            ))
        }
    };
    let measurement = token.verify(verifier)?;
    let (theirs, ours) = (&token.claims.identity, enclave.identity());
    if token.claims.party != peer {
        return Err(TokenRejection::WrongParty {
            claimed: token.claims.party,
        });
    }
    if theirs.protocol_version != ours.protocol_version {
        return Err(TokenRejection::WrongVersion {
            theirs: theirs.protocol_version,
            ours: ours.protocol_version,
        });
    }
    if theirs.program != ours.program {
        return Err(TokenRejection::WrongProgram {
            theirs: theirs.program,
            ours: ours.program,
        });
    }
    // The attested measurement is what counts; the claimed identity only explains it.
    if measurement != enclave.measurement() || theirs.measurement() != measurement {
        return Err(TokenRejection::WrongMeasurement {
            theirs: measurement,
            ours: enclave.measurement(),
        });
    }
    if token.claims.nonces[enclave.party().index()] != nonces[enclave.party().index()] {
        return Err(TokenRejection::NotThisSession);
    }
    if token.claims.nonces[peer.index()] != nonces[peer.index()] {
        return Err(TokenRejection::HelloChanged);
    }
    Ok(token)
}

/// One value all three derive from all three nonces: names the session in every
/// frame and in every derived key.
fn session_binding(nonces: &[Nonce; 3]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("cryptflow 2026-12 session v1");
    for nonce in nonces {
        hasher.update(nonce);
    }
    *hasher.finalize().as_bytes()
}

fn pairwise_seed(shared: &[u8; 32], session: &[u8; 32]) -> Seed {
    let mut hasher = blake3::Hasher::new_derive_key("cryptflow 2026-12 pairwise seed v1");
    hasher.update(shared);
    hasher.update(session);
    let mut seed = [0u8; 16];
    seed.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    Seed(seed)
}

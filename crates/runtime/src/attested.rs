//! Attested mode (the paper's Aramis, §V-C): each party's semi-honest protocol runs
//! inside its boundary, which is committed to this binary, the protocol version and
//! the program, so a host that deviates is caught and named.
//!
//! The session: P0 sends the public program through its host (its hash goes into
//! every party's measurement, so a changed program fails the prelude); the prelude
//! checks every party's token and derives the pairwise seeds from an attested key
//! exchange, inside (the semi-honest mode's seeds, drawn by one party of each pair
//! and sent, are not used); then the same protocol as semi-honest mode runs over the
//! [`AttestedChannel`](cryptflow_attest::AttestedChannel), and every party confirms
//! the end of the session to every other.
//!
//! The protocol code is identical in both modes: it only sees a `Transport`. The host
//! side (the network transport, and `--inject-fault`'s tampering) only ever sees the
//! channel's framed bytes.

use crate::client::{client_session, Prediction};
use crate::helper::helper_session;
use crate::owner::{check, owner_session};
use crate::report::Recorder;
use crate::session::SessionOptions;
use crate::session::{self, ProgramHash};
use crate::{PartyReport, RuntimeError};
use cryptflow_attest::{
    run_prelude, AttestedSession, CodeIdentity, Digest, Enclave, PreludeConfig, SoftwareRoot,
};
use cryptflow_ir::{Program, WeightSource};
use cryptflow_net::Transport;
use cryptflow_ring::{Party, Tensor};

/// What a party needs to run attested.
#[derive(Debug)]
pub struct Attestation<'a> {
    /// The trusted root: verifies the peers' tokens, and issues ours.
    pub root: &'a SoftwareRoot,
    /// The code identity to claim instead of this binary's hash (tests use it to
    /// play a party that runs other code).
    pub code_override: Option<Digest>,
    /// This party's memory budget in MiB (`None`: unbounded; see
    /// [`session::agree_plan`]).
    pub memory_budget_mib: Option<u64>,
    /// Whether this party asks for an offline phase (see [`SessionOptions`]).
    pub offline_phase: bool,
}

impl Attestation<'_> {
    fn session_options(&self) -> SessionOptions {
        SessionOptions {
            memory_budget_mib: self.memory_budget_mib,
            offline_phase: self.offline_phase,
        }
    }

    fn enclave(&self, party: Party, program: ProgramHash) -> Result<Enclave, RuntimeError> {
        let program = Digest(program.0);
        let identity = match self.code_override {
            Some(code) => CodeIdentity {
                code,
                protocol_version: cryptflow_attest::PROTOCOL_VERSION,
                program,
            },
            None => CodeIdentity::of_this_binary(program).map_err(|e| {
                RuntimeError::Attest(cryptflow_attest::AttestError::Attest(format!(
                    "cannot measure this binary: {e}"
                )))
            })?,
        };
        Ok(Enclave::launch(party, identity)?)
    }

    fn prelude<'h>(
        &self,
        enclave: Enclave,
        host: &'h mut dyn Transport,
        sent_before: u64,
    ) -> Result<AttestedSession<'h>, RuntimeError> {
        let config = PreludeConfig {
            attester: self.root,
            verifier: self.root,
            sent_before,
        };
        Ok(run_prelude(enclave, host, config)?)
    }
}

/// Runs `body` in the attested session, then confirms its end with every peer. A
/// failure of `body` itself is announced to the peers before it is returned.
fn within<T>(
    mut session: AttestedSession<'_>,
    body: impl FnOnce(&mut dyn Transport, cryptflow_protocol::PairwiseSeeds) -> Result<T, RuntimeError>,
) -> Result<T, RuntimeError> {
    let result = body(&mut session.channel, session.seeds);
    match result {
        Ok(value) => {
            session.channel.finish()?;
            Ok(value)
        }
        Err(error) => {
            session.channel.fail(&error.to_string());
            Err(error)
        }
    }
}

/// The program's bytes from P0, waiting two timeouts. If none come, the session
/// goes on with no program: the prelude then fails naming the model owner (its
/// attested program is not ours), so the other honest party learns whom to blame
/// too, rather than seeing us hang up.
fn patient_program(host: &mut dyn Transport) -> Result<(Vec<u8>, ProgramHash), RuntimeError> {
    for _ in 0..2 {
        match session::receive_program_bytes(host) {
            Err(RuntimeError::Net(cryptflow_net::NetError::RecvTimeout { .. })) => continue,
            other => return other,
        }
    }
    Ok((Vec::new(), ProgramHash(*blake3::hash(&[]).as_bytes())))
}

/// P0 in attested mode.
pub fn run_model_owner_attested(
    host: &mut dyn Transport,
    program: &Program,
    weights: &dyn WeightSource,
    attestation: &Attestation<'_>,
) -> Result<PartyReport, RuntimeError> {
    check(program, weights)?;
    let recorder = Recorder::new();
    let hash = session::send_program(host, program)?;
    let enclave = attestation.enclave(Party::ModelOwner, hash)?;
    // The program went to P1 and P2: messages 0 and 1.
    let session = attestation.prelude(enclave, host, 2)?;
    within(session, |channel, seeds| {
        owner_session(
            channel,
            program,
            weights,
            seeds,
            attestation.session_options(),
            recorder,
        )
    })
}

/// P1 in attested mode.
pub fn run_client_attested(
    host: &mut dyn Transport,
    input: &Tensor<f32>,
    attestation: &Attestation<'_>,
) -> Result<Prediction, RuntimeError> {
    let recorder = Recorder::new();
    let (bytes, hash) = patient_program(host)?;
    let enclave = attestation.enclave(Party::Client, hash)?;
    let session = attestation.prelude(enclave, host, 0)?;
    within(session, |channel, seeds| {
        let program = session::decode_program(&bytes)?;
        client_session(
            channel,
            &program,
            input,
            seeds,
            attestation.session_options(),
            recorder,
        )
    })
}

/// P2 in attested mode.
pub fn run_helper_attested(
    host: &mut dyn Transport,
    attestation: &Attestation<'_>,
) -> Result<PartyReport, RuntimeError> {
    let recorder = Recorder::new();
    let (bytes, hash) = patient_program(host)?;
    let enclave = attestation.enclave(Party::Helper, hash)?;
    let session = attestation.prelude(enclave, host, 0)?;
    within(session, |channel, seeds| {
        let program = session::decode_program(&bytes)?;
        helper_session(
            channel,
            &program,
            seeds,
            attestation.session_options(),
            recorder,
        )
    })
}

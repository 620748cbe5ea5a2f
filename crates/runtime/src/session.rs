//! Session setup: fresh pairwise seeds, and the public program from the model owner.
//!
//! Each pair's seed is drawn from the operating system by the lower-numbered party of
//! the pair and sent to the other, so no key material is shared by all three parties
//! (EzPC's Porthos loads one key file for everyone). The seeds travel inside the
//! parties' mutually authenticated TLS channels (crates/net); a run with `--plaintext`
//! leaves them only as private as the network.

use crate::RuntimeError;
use cryptflow_compiler::passes::memory::{self, MemoryPlan};
use cryptflow_ir::Program;
use cryptflow_net::Transport;
use cryptflow_protocol::PairwiseSeeds;
use cryptflow_ring::{Party, Seed};

pub fn establish_seeds(transport: &mut dyn Transport) -> Result<PairwiseSeeds, RuntimeError> {
    let me = transport.me();
    let mut seeds = [None; 3];
    for peer in Party::ALL.into_iter().filter(|&p| p != me) {
        let seed = if me < peer {
            let seed = Seed::random().map_err(|e| RuntimeError::Entropy(e.to_string()))?;
            transport.send(peer, seed.0.to_vec())?;
            seed
        } else {
            let bytes = transport.recv(peer)?;
            let key: [u8; 16] = bytes
                .try_into()
                .map_err(|_| RuntimeError::MalformedMessage {
                    from: peer,
                    what: "session seed",
                })?;
            Seed(key)
        };
        seeds[peer.index()] = Some(seed);
    }
    Ok(PairwiseSeeds::new(me, seeds))
}

/// P0: sends the public program to the other two parties; returns the hash of the
/// bytes sent (what attested mode binds into every party's measurement).
pub fn send_program(
    transport: &mut dyn Transport,
    program: &Program,
) -> Result<ProgramHash, RuntimeError> {
    let bytes = postcard::to_stdvec(program).map_err(|e| RuntimeError::MalformedProgram {
        from: Party::ModelOwner,
        detail: e.to_string(),
    })?;
    let hash = ProgramHash(*blake3::hash(&bytes).as_bytes());
    transport.send(Party::Client, bytes.clone())?;
    transport.send(Party::Helper, bytes)?;
    Ok(hash)
}

/// P1, P2: receives and checks the program; returns it and the hash of its bytes.
pub fn receive_program(
    transport: &mut dyn Transport,
) -> Result<(Program, ProgramHash), RuntimeError> {
    let (bytes, hash) = receive_program_bytes(transport)?;
    Ok((decode_program(&bytes)?, hash))
}

/// P1, P2: the program's bytes as received, and their hash. Attested mode measures
/// the bytes before decoding them, so that a program the model owner's host changed
/// fails the prelude naming the model owner, even if it no longer decodes.
pub fn receive_program_bytes(
    transport: &mut dyn Transport,
) -> Result<(Vec<u8>, ProgramHash), RuntimeError> {
    let bytes = transport.recv(Party::ModelOwner)?;
    let hash = ProgramHash(*blake3::hash(&bytes).as_bytes());
    Ok((bytes, hash))
}

/// Decodes and validates a program as P0 sent it.
pub fn decode_program(bytes: &[u8]) -> Result<Program, RuntimeError> {
    let program: Program =
        postcard::from_bytes(bytes).map_err(|e| RuntimeError::MalformedProgram {
            from: Party::ModelOwner,
            detail: e.to_string(),
        })?;
    program.validate()?;
    Ok(program)
}

/// What a party asks of the session's schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionOptions {
    /// This party's memory budget (MiB; `None`: unbounded).
    pub memory_budget_mib: Option<u64>,
    /// Run an offline phase: before the client's input is shared, P1 computes every
    /// linear step's product with the masked weights (`f(F, A) + C₁`) and the helper
    /// deals them, so that the online phase (input to output) holds only the model
    /// owner's products and the comparisons. It costs P1 the memory of every step's
    /// mask and share, and end to end it is no faster; a memory budget rules it out.
    pub offline_phase: bool,
}

impl SessionOptions {
    pub fn within(memory_budget_mib: Option<u64>) -> SessionOptions {
        SessionOptions {
            memory_budget_mib,
            ..SessionOptions::default()
        }
    }
}

/// What the three parties agreed: the memory plan, and whether there is an offline
/// phase.
#[derive(Debug)]
pub struct Agreed {
    pub plan: MemoryPlan,
    pub offline_phase: bool,
}

/// Agrees the schedule: each party tells the others its budget (MiB per party;
/// `None`: unbounded) and whether it asks for an offline phase; every party plans for
/// the smallest of the three budgets from the public program, so a party's plan is its
/// own computation, not a peer's word, and runs an offline phase if any party asked
/// and no budget binds. A budget too small for this model stops all three before the
/// protocol starts, each naming the smallest budget that works.
pub fn agree_plan(
    transport: &mut dyn Transport,
    program: &Program,
    options: SessionOptions,
) -> Result<Agreed, RuntimeError> {
    let me = transport.me();
    let mut message = options
        .memory_budget_mib
        .unwrap_or(u64::MAX)
        .to_le_bytes()
        .to_vec();
    message.extend_from_slice(&u64::from(options.offline_phase).to_le_bytes());
    for peer in Party::ALL.into_iter().filter(|&p| p != me) {
        transport.send(peer, message.clone())?;
    }
    let mut smallest = options.memory_budget_mib;
    let mut offline = options.offline_phase;
    for peer in Party::ALL.into_iter().filter(|&p| p != me) {
        let bytes = transport.recv(peer)?;
        let malformed = || RuntimeError::MalformedMessage {
            from: peer,
            what: "memory budget",
        };
        let words: [u8; 16] = bytes.try_into().map_err(|_| malformed())?;
        let word = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&words[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let budget = word(0);
        offline |= match word(8) {
            0 => false,
            1 => true,
            _ => return Err(malformed()),
        };
        let theirs = Some(budget).filter(|&b| b != u64::MAX);
        smallest = match (smallest, theirs) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(Agreed {
        offline_phase: offline && smallest.is_none(),
        plan: memory::plan(program, smallest)?,
    })
}

/// The BLAKE3 hash of a program as it went over the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramHash(pub [u8; 32]);

use cryptflow_net::NetError;
use cryptflow_protocol::ProtocolError;
use cryptflow_ring::Party;
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RuntimeError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("protocol failure: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("the input has shape {got:?} but the model expects {expected:?}{}", reshape_hint(.expected, .got))]
    InputShape {
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("the input holds {value} at index {index}: inputs must be finite numbers that fit the fixed-point scale")]
    InputNotEncodable { index: usize, value: f32 },
    #[error("{from} sent a program that cannot be decoded ({detail}); are all parties running the same cryptflow version?")]
    MalformedProgram { from: Party, detail: String },
    #[error("{from} sent an invalid program: {0}", from = Party::ModelOwner)]
    InvalidProgram(#[from] cryptflow_ir::InvalidProgram),
    #[error("the weights do not match the program (a compiler bug or a corrupted model file)")]
    WeightsMismatch,
    #[error("cannot load the model's weights: {0}")]
    Weights(#[from] cryptflow_ir::artifact::ArtifactError),
    #[error("{from} sent a malformed {what}")]
    MalformedMessage { from: Party, what: &'static str },
    #[error(transparent)]
    Attest(#[from] cryptflow_attest::AttestError),
    #[error("{peer} sent {} where {expected} was due: its code follows another schedule", describe(.got))]
    OutOfStep {
        peer: Party,
        expected: cryptflow_protocol::msgs::Label,
        got: Option<cryptflow_protocol::msgs::Label>,
    },
    #[error(transparent)]
    BudgetTooSmall(#[from] cryptflow_compiler::passes::memory::BudgetTooSmall),
    #[error("could not get randomness from the operating system: {0}")]
    Entropy(String),
    #[error("internal error: {0} (a bug: please report it)")]
    Internal(&'static str),
}

impl RuntimeError {
    /// In attested mode: the party whose host this error blames, if it names one.
    pub fn culprit(&self) -> Option<Party> {
        match self {
            RuntimeError::Attest(error) => error.culprit(),
            RuntimeError::Net(error) => error.culprit(),
            RuntimeError::OutOfStep { peer, .. } => Some(*peer),
            _ => None,
        }
    }
}

fn describe(label: &Option<cryptflow_protocol::msgs::Label>) -> String {
    label.map_or_else(
        || "a message with an unknown label".into(),
        |l| l.to_string(),
    )
}

fn reshape_hint(expected: &[usize], got: &[usize]) -> String {
    if expected.iter().product::<usize>() == got.iter().product::<usize>() {
        format!(" (same number of elements: reshape it, e.g. numpy x.reshape({expected:?}))")
    } else {
        String::new()
    }
}

//! The messages of every protocol step, as types (after mpz's per-protocol `msgs.rs`).
//!
//! A message is ring words with a [`MessageKind`]; each type decodes only from words
//! of the length its step expects, so a malformed message is refused naming the
//! step, and a [`Label`] (kind, instruction, round) travels with it: the attested
//! transcript authenticates the label with the message and refuses one out of step.
//! The words are kept as they go on the wire (no copy between a type and its
//! encoding); accessors give the parts a step reads.

use crate::error::{expect_len, ProtocolError};
use cryptflow_ring::Party;
use std::fmt;

/// What a message is for: the protocol step that sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Not a protocol step's message (the program, the semi-honest seed exchange).
    Unlabelled = 0,
    /// P0 → P1 at setup: `F = W − B` ([`crate::linear`]).
    MaskedWeight = 1,
    /// P1 → P0: `E = X₁ − A` ([`crate::linear`]).
    MaskedInput = 2,
    /// P2 → P1: `C₁ = f(B, A) − C₀` ([`crate::linear`]).
    LinearCorrection = 3,
    /// P2 → P1: the client's corrections of the dealt selection randomness
    /// ([`crate::relu`], [`crate::pool`]).
    SelectCorrection = 4,
    /// P0 ↔ P1: `y = x + r` and `f = v − a` ([`crate::relu`]).
    MaskedOpening = 5,
    /// P0 ↔ P1: the AND-gate openings of one carry-tree level ([`crate::bits`]).
    AndOpening = 6,
    /// P0 ↔ P1: `e = β ⊕ c` ([`crate::relu`]).
    SelectionOpening = 7,
    /// P0 → P1: P0's share of the output ([`crate::sharing`]).
    OutputShare = 8,
    /// P2 → P1: `C₁ = A ⊙ B − C₀` of a multiplication triple ([`crate::product`]).
    ProductCorrection = 9,
    /// P0 ↔ P1: `E = X − A` and `F = Y − B` ([`crate::product`]).
    ProductOpening = 10,
}

impl MessageKind {
    const ALL: [MessageKind; 11] = [
        MessageKind::Unlabelled,
        MessageKind::MaskedWeight,
        MessageKind::MaskedInput,
        MessageKind::LinearCorrection,
        MessageKind::SelectCorrection,
        MessageKind::MaskedOpening,
        MessageKind::AndOpening,
        MessageKind::SelectionOpening,
        MessageKind::OutputShare,
        MessageKind::ProductCorrection,
        MessageKind::ProductOpening,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Unlabelled => "unlabelled",
            MessageKind::MaskedWeight => "masked weight",
            MessageKind::MaskedInput => "masked input",
            MessageKind::LinearCorrection => "linear-layer correlation",
            MessageKind::SelectCorrection => "selection correlation",
            MessageKind::MaskedOpening => "ReLU masked opening",
            MessageKind::AndOpening => "AND opening",
            MessageKind::SelectionOpening => "ReLU selection opening",
            MessageKind::OutputShare => "output share",
            MessageKind::ProductCorrection => "multiplication-triple correlation",
            MessageKind::ProductOpening => "product opening",
        }
    }

    fn from_code(code: u8) -> Option<MessageKind> {
        Self::ALL.into_iter().find(|k| *k as u8 == code)
    }
}

/// Where a message belongs in the schedule: what it is, the instruction it serves
/// (or the weight, for a masked weight) and its round within that instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub kind: MessageKind,
    pub step: u32,
    pub round: u16,
}

impl Label {
    /// The label of messages that belong to no protocol step.
    pub const UNLABELLED: Label = Label {
        kind: MessageKind::Unlabelled,
        step: 0,
        round: 0,
    };

    pub fn new(kind: MessageKind, step: usize, round: u16) -> Label {
        Label {
            kind,
            // Programs are far shorter than 2³² instructions (validated); saturate
            // rather than wrap if one were not.
            step: u32::try_from(step).unwrap_or(u32::MAX),
            round,
        }
    }

    /// The label on the wire: kind, round and step in one word.
    pub fn code(self) -> u64 {
        self.kind as u64 | u64::from(self.round) << 8 | u64::from(self.step) << 24
    }

    /// The label a code stands for, if any.
    pub fn from_code(code: u64) -> Option<Label> {
        let kind = MessageKind::from_code((code & 0xff) as u8)?;
        let step = u32::try_from(code >> 24).ok()?;
        Some(Label {
            kind,
            step,
            round: ((code >> 8) & 0xffff) as u16,
        })
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            MessageKind::Unlabelled => f.write_str("a message outside the protocol steps"),
            MessageKind::MaskedWeight => write!(f, "the masked weight {}", self.step),
            kind => write!(
                f,
                "the {} of instruction {} (round {})",
                kind.name(),
                self.step,
                self.round
            ),
        }
    }
}

/// A protocol step's message: ring words of one kind.
pub trait Message: Sized {
    const KIND: MessageKind;

    /// The message from `from`, if it has the `len` words its step expects.
    fn decode(from: Party, words: Vec<u64>, len: usize) -> Result<Self, ProtocolError>;

    fn words(&self) -> &[u64];

    fn into_words(self) -> Vec<u64>;
}

/// A message on its way out, with the round it belongs to (the instruction is the
/// runtime's to add).
#[derive(Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub kind: MessageKind,
    pub round: u16,
    pub words: Vec<u64>,
}

impl Outgoing {
    pub fn new<M: Message>(message: M, round: u16) -> Outgoing {
        Outgoing {
            kind: M::KIND,
            round,
            words: message.into_words(),
        }
    }

    pub fn label(&self, step: usize) -> Label {
        Label::new(self.kind, step, self.round)
    }
}

/// Message types whose words are one vector with no inner structure.
macro_rules! flat_messages {
    ($($(#[$doc:meta])* $name:ident => $kind:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(Vec<u64>);

        impl $name {
            /// The message as this party builds it (lengths are its own to get right).
            pub fn new(words: Vec<u64>) -> $name {
                $name(words)
            }
        }

        impl Message for $name {
            const KIND: MessageKind = MessageKind::$kind;

            fn decode(from: Party, words: Vec<u64>, len: usize) -> Result<Self, ProtocolError> {
                expect_len(from, Self::KIND.name(), &words, len)?;
                Ok($name(words))
            }

            fn words(&self) -> &[u64] {
                &self.0
            }

            fn into_words(self) -> Vec<u64> {
                self.0
            }
        }
    )*};
}

flat_messages! {
    /// `F = W − B`, one weight's worth.
    MaskedWeight => MaskedWeight,
    /// `E = X₁ − A`, in the shape of the layer's input.
    MaskedInput => MaskedInput,
    /// `C₁ = f(B, A) − C₀`, in the shape of the layer's output.
    LinearCorrection => LinearCorrection,
    /// The helper's corrections for a batch of selections (see `ReluCorrelation`).
    SelectCorrection => SelectCorrection,
    /// One party's openings `x ⊕ a, y ⊕ b` of a level's AND gates, packed.
    AndOpening => AndOpening,
    /// `e = β ⊕ c`, packed one bit per element.
    SelectionOpening => SelectionOpening,
    /// P0's share of the model output.
    OutputShare => OutputShare,
    /// `C₁ = A ⊙ B − C₀`, in the shape of the product.
    ProductCorrection => ProductCorrection,
    /// One share-holder's `E = X − A` then `F = Y − B`.
    ProductOpening => ProductOpening,
}

/// `y = x + r` (mod 2^w, packed w bits an element) then `f = v − a` (one word an
/// element), for each element of the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskedOpening {
    words: Vec<u64>,
    /// Words of the packed `y` part.
    y_words: usize,
}

impl MaskedOpening {
    /// From the packed `y` and each element's `f`.
    pub fn new(y_packed: Vec<u64>, f: impl Iterator<Item = u64>) -> Self {
        let y_words = y_packed.len();
        let mut words = y_packed;
        words.extend(f);
        MaskedOpening { words, y_words }
    }

    /// The opening from `from` of a batch of `n` whose packed `y` is `y_words` long.
    pub fn decode_packed(
        from: Party,
        words: Vec<u64>,
        y_words: usize,
        n: usize,
    ) -> Result<Self, ProtocolError> {
        expect_len(from, Self::KIND.name(), &words, y_words.saturating_add(n))?;
        Ok(MaskedOpening { words, y_words })
    }

    pub fn y(&self) -> &[u64] {
        &self.words[..self.y_words]
    }

    pub fn f(&self) -> &[u64] {
        &self.words[self.y_words..]
    }
}

impl Message for MaskedOpening {
    const KIND: MessageKind = MessageKind::MaskedOpening;

    /// `len` is the batch size of a full-width (64-bit) opening: `2 · len` words.
    fn decode(from: Party, words: Vec<u64>, len: usize) -> Result<Self, ProtocolError> {
        Self::decode_packed(from, words, len, len)
    }

    fn words(&self) -> &[u64] {
        &self.words
    }

    fn into_words(self) -> Vec<u64> {
        self.words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_their_code_and_differ_in_every_field() {
        let mut seen = std::collections::HashSet::new();
        for kind in MessageKind::ALL {
            for step in [0, 1, 7, u32::MAX] {
                for round in [0, 1, 9, u16::MAX] {
                    let label = Label { kind, step, round };
                    assert_eq!(Label::from_code(label.code()), Some(label));
                    assert!(seen.insert(label.code()), "{label:?} shares a code");
                }
            }
        }
        assert_eq!(Label::from_code(0xff), None, "an unknown kind");
    }

    #[test]
    fn a_message_of_the_wrong_length_is_refused_naming_its_step() {
        let err = MaskedInput::decode(Party::Client, vec![1, 2, 3], 4).expect_err("short");
        assert_eq!(
            err,
            ProtocolError::MalformedMessage {
                from: Party::Client,
                message: "masked input",
                expected: 4,
                actual: 3,
            }
        );
        let err = MaskedOpening::decode(Party::ModelOwner, vec![0; 5], 3).expect_err("odd");
        assert!(err.to_string().contains("ReLU masked opening"), "{err}");
        let ok = MaskedOpening::decode(Party::ModelOwner, vec![1, 2, 3, 4], 2).expect("2 × 2");
        assert_eq!((ok.y(), ok.f()), (&[1, 2][..], &[3, 4][..]));
        let packed = MaskedOpening::decode_packed(Party::Client, vec![1, 2, 3], 1, 2);
        let packed = packed.expect("1 packed word and 2 words");
        assert_eq!((packed.y(), packed.f()), (&[1][..], &[2, 3][..]));
        let err = MaskedOpening::decode_packed(Party::Client, vec![1, 2, 3], 1, 3);
        assert!(err.is_err(), "one word short");
    }

    #[test]
    fn labels_say_what_and_where() {
        let label = Label::new(MessageKind::AndOpening, 12, 3);
        assert_eq!(
            label.to_string(),
            "the AND opening of instruction 12 (round 3)"
        );
        let weight = Label::new(MessageKind::MaskedWeight, 4, 0);
        assert_eq!(weight.to_string(), "the masked weight 4");
    }
}

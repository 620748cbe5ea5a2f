//! Runs a compiled [`Program`]: in the clear ([`plain`]), or as one of the three
//! parties of the secure protocol over any [`Transport`](cryptflow_net::Transport):
//! [`run_model_owner`] (P0), [`run_client`] (P1), [`run_helper`] (P2).
//!
//! A session: the parties agree on fresh pairwise seeds; P0 sends the public program;
//! P0 masks its weights for P1 once; P1 shares its input (for free, from the seed it
//! shares with P0); the instructions run; P0 sends P1 its output share.

mod attested;
#[cfg(test)]
mod budget_tests;
mod client;
mod encoding;
mod error;
mod helper;
mod link;
mod local;
pub mod loopback;
mod owner;
pub mod plain;
pub mod reference;
mod report;
pub mod session;
mod shareholder;
mod slots;

pub use attested::{
    run_client_attested, run_helper_attested, run_model_owner_attested, Attestation,
};
pub use client::{run_client, run_client_within, Prediction};
pub use encoding::{decode_output, encode_input};
pub use error::RuntimeError;
pub use helper::{run_helper, run_helper_within};
pub use owner::{run_model_owner, run_model_owner_within};
pub use report::{LayerReport, PartyReport};
pub use session::SessionOptions;

//! Input sharing and output reveal.
//!
//! The client shares its input with the model owner without sending anything: P0's
//! share is drawn from the seed P0 and P1 share, and P1 keeps `x − share`. (P1 knows
//! both shares, which is harmless: it knows x.) The output is revealed to the client
//! only: P0 sends its share to P1.

use crate::error::ProtocolError;
use crate::msgs::{Message, OutputShare};
use cryptflow_ring::{Party, Prg};

/// The model owner's share of the client's input of `n` elements.
pub fn owner_input_share(n: usize, owner_client_prg: &mut Prg) -> Vec<u64> {
    owner_client_prg.u64s(n)
}

/// The client's share of its input `x`, given the same stream as the owner's.
pub fn client_input_share(x: &[u64], owner_client_prg: &mut Prg) -> Vec<u64> {
    let owner = owner_client_prg.u64s(x.len());
    x.iter()
        .zip(owner)
        .map(|(x, o)| x.wrapping_sub(o))
        .collect()
}

/// The client reconstructs the output from its share and the owner's message.
pub fn reveal_to_client(
    client_share: &[u64],
    owner_share: Vec<u64>,
) -> Result<Vec<u64>, ProtocolError> {
    let owner_share = OutputShare::decode(Party::ModelOwner, owner_share, client_share.len())?;
    Ok(client_share
        .iter()
        .zip(owner_share.words())
        .map(|(a, b)| a.wrapping_add(*b))
        .collect())
}

#[cfg(test)]
mod tests;

//! Input sharing and output reveal.
//!
//! The client shares its input with the model owner without sending anything: P0's
//! share is drawn from the seed P0 and P1 share, and P1 keeps `x − share`. (P1 knows
//! both shares, which is harmless: it knows x.) The output is revealed to the client
//! only: P0 sends its share to P1.

use crate::error::{expect_len, ProtocolError};
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
    owner_share: &[u64],
) -> Result<Vec<u64>, ProtocolError> {
    expect_len(
        Party::ModelOwner,
        "output share",
        owner_share,
        client_share.len(),
    )?;
    Ok(client_share
        .iter()
        .zip(owner_share)
        .map(|(a, b)| a.wrapping_add(*b))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{owner_client_prg, uniformity_z};

    #[test]
    fn shares_reconstruct_the_input() {
        let x: Vec<u64> = (0..100u64).map(|i| i.wrapping_mul(0x9e37_79b9)).collect();
        let x0 = owner_input_share(x.len(), &mut owner_client_prg(1));
        let x1 = client_input_share(&x, &mut owner_client_prg(1));
        assert_eq!(reveal_to_client(&x1, &x0).expect("same length"), x);
    }

    #[test]
    fn owner_share_does_not_depend_on_the_input() {
        // The owner's share is the same for any input, and uniform.
        let x0 = owner_input_share(4096, &mut owner_client_prg(2));
        assert!(uniformity_z(&x0).abs() < 5.0);
    }

    #[test]
    fn truncated_owner_share_is_rejected() {
        let err = reveal_to_client(&[1, 2, 3], &[1, 2]).unwrap_err();
        assert!(err.to_string().contains("expected 3 words, got 2"), "{err}");
    }
}

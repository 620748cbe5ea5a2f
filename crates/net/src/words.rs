//! Ring elements on the wire: each u64 as 8 little-endian bytes.

use cryptflow_ring::Party;

use crate::NetError;

pub(crate) fn words_to_bytes(words: &[u64]) -> Vec<u8> {
    words_to_bytes_with_room(words, 0)
}

/// The bytes of `words`, in a buffer with room for `spare` more bytes, so that a layer
/// that appends to the message (attested mode's trailer and tag) does not move it.
pub fn words_to_bytes_with_room(words: &[u64], spare: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(words.len() * 8 + spare);
    if cfg!(target_endian = "little") {
        // In memory the words already are their little-endian encoding.
        bytes.extend_from_slice(bytemuck::cast_slice(words));
    } else {
        bytes.extend(words.iter().flat_map(|word| word.to_le_bytes()));
    }
    bytes
}

pub(crate) fn bytes_to_words(from: Party, bytes: &[u8]) -> Result<Vec<u64>, NetError> {
    let mut words = Vec::new();
    extend_words(from, &mut words, bytes)?;
    Ok(words)
}

/// Appends the ring elements encoded in `bytes` (a message, or a part of one cut at a
/// word boundary) to `words`.
pub fn extend_words(from: Party, words: &mut Vec<u64>, bytes: &[u8]) -> Result<(), NetError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(NetError::MalformedMessage {
            peer: from,
            reason: format!(
                "expected ring elements (a multiple of 8 bytes) but got {} bytes",
                bytes.len()
            ),
        });
    }
    let start = words.len();
    if cfg!(target_endian = "little") {
        // Copies into the u64-aligned buffer: the byte buffer may be unaligned.
        words.resize(start + bytes.len() / 8, 0);
        bytemuck::cast_slice_mut::<u64, u8>(&mut words[start..]).copy_from_slice(bytes);
    } else {
        words.extend(bytes.chunks_exact(8).map(|chunk| {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            u64::from_le_bytes(word)
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_little_endian_and_round_trip() {
        let words = [1u64, 0x0102_0304_0506_0708, u64::MAX];
        let bytes = words_to_bytes(&words);
        assert_eq!(&bytes[..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&bytes[8..16], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(bytes_to_words(Party::Client, &bytes).unwrap(), words);
        // An unaligned start must still decode.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&bytes);
        assert_eq!(bytes_to_words(Party::Client, &shifted[1..]).unwrap(), words);
    }

    #[test]
    fn a_partial_word_is_a_malformed_message_naming_the_peer() {
        match bytes_to_words(Party::Helper, &[0; 12]) {
            Err(NetError::MalformedMessage { peer, .. }) => assert_eq!(peer, Party::Helper),
            other => panic!("expected MalformedMessage, got {other:?}"),
        }
    }
}

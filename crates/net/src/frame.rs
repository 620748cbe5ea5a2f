//! The wire format of one message: its length as a little-endian u64, then the payload.

use std::io::{self, Read, Write};

/// Size of the length prefix in front of every payload.
pub(crate) const HEADER_BYTES: usize = 8;

/// We never reserve more than this before the bytes have actually arrived, so a
/// peer announcing a huge (but allowed) frame and then stalling cannot make us
/// allocate it up front.
const MAX_PREALLOCATION: u64 = 16 << 20;

/// Reading a frame failed.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The header announced more than the limit; nothing after it was read.
    TooLarge {
        length: u64,
    },
    Io(io::Error),
}

impl From<io::Error> for FrameError {
    fn from(error: io::Error) -> Self {
        FrameError::Io(error)
    }
}

pub(crate) fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    out.write_all(&(payload.len() as u64).to_le_bytes())?;
    out.write_all(payload)
}

/// Reads one frame, refusing (before allocating) any longer than `limit` bytes.
/// A stream that ends inside a frame gives `UnexpectedEof`.
pub(crate) fn read_frame(input: &mut impl Read, limit: u64) -> Result<Vec<u8>, FrameError> {
    let mut header = [0; HEADER_BYTES];
    input.read_exact(&mut header)?;
    let length = u64::from_le_bytes(header);
    if length > limit || usize::try_from(length).is_err() {
        return Err(FrameError::TooLarge { length });
    }
    // The buffer grows only as bytes arrive, beyond the first MAX_PREALLOCATION.
    let mut payload = Vec::with_capacity(length.min(MAX_PREALLOCATION) as usize);
    input.take(length).read_to_end(&mut payload)?;
    if (payload.len() as u64) < length {
        return Err(
            io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended inside a frame").into(),
        );
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_back_to_back() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        write_frame(&mut wire, b"").unwrap();
        assert_eq!(&wire[..8], &5u64.to_le_bytes());
        let mut input = wire.as_slice();
        assert_eq!(read_frame(&mut input, 100).unwrap(), b"hello");
        assert_eq!(read_frame(&mut input, 100).unwrap(), b"");
        assert!(input.is_empty());
    }

    #[test]
    fn oversized_frames_are_refused_before_reading_them() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&u64::MAX.to_le_bytes());
        match read_frame(&mut wire.as_slice(), 1 << 20) {
            Err(FrameError::TooLarge { length }) => assert_eq!(length, u64::MAX),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn truncated_frames_are_an_unexpected_eof() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        for cut in [3, 10] {
            match read_frame(&mut &wire[..cut], 100) {
                Err(FrameError::Io(error)) => {
                    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof)
                }
                other => panic!("expected UnexpectedEof, got {other:?}"),
            }
        }
    }
}

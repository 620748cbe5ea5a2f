//! One established connection to one peer, plaintext or TLS: we read frames from
//! the connection ourselves and hand frames to write to a [`Writer`] thread.

use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

use cryptflow_ring::Party;

use crate::duplex::{Established, ReadHalf};
use crate::error::{is_disconnect, is_timeout, tls_source};
use crate::frame::{read_frame, FrameError};
use crate::writer::Writer;
use crate::NetError;

const READ_BUFFER_BYTES: usize = 64 << 10;

/// At close we throw away at most this much unread input (see `discard_unread`).
const DISCARD_LIMIT: usize = 64 << 20;

#[derive(Debug)]
pub(crate) struct Link {
    peer: Party,
    reader: BufReader<ReadHalf>,
    /// Set after any read error: the stream may be mid-frame, so nothing after it
    /// can be trusted.
    reader_failed: bool,
    writer: Writer,
    io_timeout: Duration,
    max_frame_bytes: u64,
}

impl Link {
    /// Takes over a connection whose handshake is done.
    pub(crate) fn new(
        me: Party,
        peer: Party,
        connection: Established,
        io_timeout: Duration,
        max_frame_bytes: u64,
        send_queue_limit: Option<usize>,
    ) -> Result<Link, NetError> {
        let io = |action: &str| {
            let context = format!("{action} the connection to {peer}");
            move |source| NetError::Io { context, source }
        };
        // A zero timeout is refused by the OS; we take it to mean "wait forever".
        let timeout = Some(io_timeout).filter(|timeout| !timeout.is_zero());
        let socket = connection.socket();
        socket
            .set_read_timeout(timeout)
            .map_err(io("setting the read timeout on"))?;
        // Also bounds how long a writer (and so dropping the transport) can hang on
        // a peer that stopped reading.
        socket
            .set_write_timeout(timeout)
            .map_err(io("setting the write timeout on"))?;
        let (read_half, write_half) = connection.split().map_err(io("splitting"))?;
        Ok(Link {
            peer,
            reader: BufReader::with_capacity(READ_BUFFER_BYTES, read_half),
            reader_failed: false,
            writer: Writer::spawn(me, peer, write_half, io_timeout, send_queue_limit)?,
            io_timeout,
            max_frame_bytes,
        })
    }

    pub(crate) fn send(&mut self, payload: Vec<u8>) -> Result<(), NetError> {
        let length = payload.len() as u64;
        if length > self.max_frame_bytes {
            // The peer would refuse it anyway; failing here names the real culprit.
            return Err(NetError::FrameTooLarge {
                peer: self.peer,
                length,
                limit: self.max_frame_bytes,
            });
        }
        self.writer.send(payload)
    }

    pub(crate) fn recv(&mut self) -> Result<Vec<u8>, NetError> {
        if self.reader_failed {
            return Err(NetError::ConnectionFailed { peer: self.peer });
        }
        // Wait for the frame's first byte apart: a timeout before it consumed nothing,
        // so the caller may wait again (attested mode does, to tell a stalled peer
        // from one that waits on someone else).
        if let Err(error) = self.reader.fill_buf() {
            if is_timeout(&error) {
                return Err(NetError::RecvTimeout {
                    peer: self.peer,
                    timeout: self.io_timeout,
                });
            }
            self.reader_failed = true;
            return Err(self.read_error(FrameError::Io(error)));
        }
        read_frame(&mut self.reader, self.max_frame_bytes).map_err(|error| {
            self.reader_failed = true;
            self.read_error(error)
        })
    }

    /// Reports a failure of the writer thread that was not reported yet.
    pub(crate) fn check_writer(&mut self) -> Result<(), NetError> {
        self.writer.check()
    }

    /// Delivers everything queued, then makes the socket safe to close.
    pub(crate) fn close(&mut self) -> Result<(), NetError> {
        let result = self.writer.finish();
        self.discard_unread();
        result
    }

    /// Closing a TCP socket that still holds unread input makes the kernel send a
    /// reset instead of a normal close, and a reset throws away whatever of *our*
    /// output the peer has not yet received. So before closing we read and drop any
    /// input that has already arrived (without waiting for more). Over TLS we drop
    /// the ciphertext itself: nothing in it is read any more.
    fn discard_unread(&mut self) {
        let mut stream = self.reader.get_ref().socket();
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let mut scratch = vec![0; READ_BUFFER_BYTES];
        let mut discarded = 0;
        while discarded < DISCARD_LIMIT {
            match stream.read(&mut scratch) {
                Ok(0) | Err(_) => break,
                Ok(read) => discarded += read,
            }
        }
    }

    fn read_error(&self, error: FrameError) -> NetError {
        let peer = self.peer;
        match error {
            FrameError::TooLarge { length } => NetError::FrameTooLarge {
                peer,
                length,
                limit: self.max_frame_bytes,
            },
            FrameError::Io(error) if is_disconnect(&error) => NetError::PeerDisconnected { peer },
            FrameError::Io(error) if is_timeout(&error) => NetError::RecvTimeout {
                peer,
                timeout: self.io_timeout,
            },
            FrameError::Io(source) => match tls_source(&source) {
                // A record that fails to decrypt or parse: tampered, injected or
                // garbled on the way.
                Some(tls) => NetError::TlsChannel {
                    peer,
                    source: tls.clone(),
                },
                None => NetError::Io {
                    context: format!("reading from {peer}"),
                    source,
                },
            },
        }
    }
}

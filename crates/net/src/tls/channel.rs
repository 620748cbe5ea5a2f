//! An established TLS connection split into a reading and a writing half, so that
//! the link can read on the caller's thread while its writer thread sends.
//!
//! Both halves share the rustls state behind a mutex and each owns a handle to
//! the socket. Neither ever holds the lock across a blocking socket call: the reader
//! waits for ciphertext with the lock released, then takes it to decrypt; the
//! writer encrypts under the lock into its own buffer, releases it, then writes.
//! Holding it across a socket call would bring back the deadlock the writer thread
//! exists to avoid (P0 and P1 both sending a large message, each reader waiting
//! for a lock that a blocked writer holds).
//!
//! Only the writer ever takes ciphertext out of rustls (`write_tls`), so records
//! reach the socket in the order they were sealed. Anything rustls wants to send
//! in answer to what the reader fed it (a key update) leaves with the next message;
//! no peer waits for such an answer.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::Connection;

/// Ciphertext read from the socket at a time.
const RAW_BUFFER_BYTES: usize = 64 << 10;

/// Plaintext sealed per lock: bounds how long the reader can wait for the lock and
/// how much ciphertext is buffered before it reaches the socket.
const SEAL_CHUNK_BYTES: usize = 256 << 10;

type Shared = Arc<Mutex<Connection>>;

/// Splits a connection whose handshake is complete.
pub(crate) fn split(socket: TcpStream, mut tls: Connection) -> io::Result<(TlsReader, TlsWriter)> {
    // Everything written is encrypted at once into our own buffer, which the writer
    // drains right away; the limit would only make `write` return 0.
    tls.set_buffer_limit(None);
    let shared = Arc::new(Mutex::new(tls));
    let writer = TlsWriter {
        socket: socket.try_clone()?,
        shared: shared.clone(),
        sealed: Vec::new(),
    };
    let reader = TlsReader {
        socket,
        shared,
        raw: vec![0; RAW_BUFFER_BYTES],
        start: 0,
        end: 0,
    };
    Ok((reader, writer))
}

fn lock(shared: &Shared) -> io::Result<MutexGuard<'_, Connection>> {
    shared
        .lock()
        .map_err(|_| io::Error::other("the TLS state was poisoned by a panic in another thread"))
}

/// rustls reports a bad record (tampered, injected, out of order) as its own error;
/// it travels as the source of an `InvalidData` I/O error until the link names it.
fn tls_failure(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

/// Plaintext from the peer.
#[derive(Debug)]
pub(crate) struct TlsReader {
    socket: TcpStream,
    shared: Shared,
    /// Ciphertext read from the socket; `raw[start..end]` is not yet fed to rustls.
    raw: Vec<u8>,
    start: usize,
    end: usize,
}

impl TlsReader {
    /// The socket itself, for closing it cleanly.
    pub(crate) fn socket(&self) -> &TcpStream {
        &self.socket
    }

    /// Decrypted bytes into `buf`, if any are ready from what was read so far.
    /// `None`: rustls needs more ciphertext.
    fn decrypt_buffered(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut tls = lock(&self.shared)?;
        loop {
            // Plaintext is drained before more ciphertext goes in, so rustls's
            // received-plaintext limit is never reached.
            match tls.reader().read(buf) {
                // 0: the peer closed the session cleanly (close_notify).
                Ok(read) => return Ok(Some(read)),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                // UnexpectedEof: the socket ended without close_notify.
                Err(error) => return Err(error),
            }
            if self.start == self.end {
                return Ok(None);
            }
            let mut pending = &self.raw[self.start..self.end];
            let fed = tls.read_tls(&mut pending)?;
            self.start += fed;
            tls.process_new_packets().map_err(tls_failure)?;
            if fed == 0 {
                // rustls takes no more (the session was closed): what is left is
                // not part of the conversation.
                self.start = self.end;
            }
        }
    }
}

impl Read for TlsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(read) = self.decrypt_buffered(buf)? {
                return Ok(read);
            }
            // Wait for ciphertext with the lock released. The socket's read
            // timeout applies here, as on a plaintext link.
            let read = self.socket.read(&mut self.raw)?;
            (self.start, self.end) = (0, read);
            if read == 0 {
                let mut tls = lock(&self.shared)?;
                // An empty read tells rustls the stream ended.
                tls.read_tls(&mut io::empty())?;
                tls.process_new_packets().map_err(tls_failure)?;
                return match tls.reader().read(buf) {
                    Ok(read) => Ok(read),
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                        Err(io::ErrorKind::UnexpectedEof.into())
                    }
                    Err(error) => Err(error),
                };
            }
        }
    }
}

/// Plaintext to the peer; used by the link's writer thread only.
#[derive(Debug)]
pub(crate) struct TlsWriter {
    socket: TcpStream,
    shared: Shared,
    /// Ciphertext sealed under the lock, written after releasing it.
    sealed: Vec<u8>,
}

impl TlsWriter {
    pub(crate) fn socket(&self) -> &TcpStream {
        &self.socket
    }

    /// Seals `plaintext` (may be empty) and whatever else rustls has queued, then
    /// writes it all to the socket.
    fn seal_and_send(&mut self, plaintext: &[u8], close: bool) -> io::Result<usize> {
        let accepted = {
            let mut tls = lock(&self.shared)?;
            let accepted = tls.writer().write(plaintext)?;
            if close {
                tls.send_close_notify();
            }
            while tls.wants_write() {
                tls.write_tls(&mut self.sealed)?;
            }
            accepted
        };
        let result = self.socket.write_all(&self.sealed);
        self.sealed.clear();
        result.map(|()| accepted)
    }

    /// Ends the session with a close_notify, so that the peer can tell our last
    /// message from a connection cut short.
    pub(crate) fn close(&mut self) -> io::Result<()> {
        self.seal_and_send(&[], true).map(drop)
    }
}

impl Write for TlsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let chunk = &buf[..buf.len().min(SEAL_CHUNK_BYTES)];
        self.seal_and_send(chunk, false)
    }

    fn flush(&mut self) -> io::Result<()> {
        // `write` leaves nothing behind in rustls or in our buffer.
        Ok(())
    }
}

//! The writer thread of one connection.
//!
//! `send` hands payloads to this thread through an unbounded channel instead of
//! writing to the socket itself: if P0 and P1 both write a message bigger than the
//! socket buffers and only then read, direct writes would block forever on both
//! sides. The thread batches frames in a `BufWriter` and flushes whenever its queue
//! is momentarily empty, so small messages still leave at once. Over TLS the same
//! holds: the thread seals and writes while the caller's thread reads and decrypts
//! (see `tls::channel`).

use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use cryptflow_ring::Party;

use crate::duplex::WriteHalf;
use crate::error::{is_disconnect, is_timeout, tls_source};
use crate::frame::write_frame;
use crate::NetError;

const BUFFER_BYTES: usize = 64 << 10;

#[derive(Debug)]
pub(crate) struct Writer {
    peer: Party,
    io_timeout: Duration,
    /// `None` once closed, or once the thread's failure has been reported.
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    queue: Sender<Vec<u8>>,
    thread: JoinHandle<io::Result<()>>,
}

impl Writer {
    /// Starts the thread that writes frames to `stream`.
    pub(crate) fn spawn(
        me: Party,
        peer: Party,
        stream: WriteHalf,
        io_timeout: Duration,
    ) -> Result<Writer, NetError> {
        let (queue, pending) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(format!("cryptflow-net P{}->P{}", me.index(), peer.index()))
            .spawn(move || write_loop(stream, &pending))
            .map_err(|source| NetError::Io {
                context: format!("starting the writer thread for {peer}"),
                source,
            })?;
        Ok(Writer {
            peer,
            io_timeout,
            running: Some(Running { queue, thread }),
        })
    }

    /// Queues one payload; never blocks on the peer.
    pub(crate) fn send(&mut self, payload: Vec<u8>) -> Result<(), NetError> {
        self.check()?;
        let running = self
            .running
            .as_ref()
            .ok_or(NetError::ConnectionFailed { peer: self.peer })?;
        if running.queue.send(payload).is_err() {
            // The thread ended between the check and now: report why.
            return Err(self
                .finish()
                .err()
                .unwrap_or(NetError::ConnectionFailed { peer: self.peer }));
        }
        Ok(())
    }

    /// Reports (once) a failure of the thread; the thread only ends early on one.
    pub(crate) fn check(&mut self) -> Result<(), NetError> {
        match &self.running {
            Some(running) if running.thread.is_finished() => self.finish(),
            _ => Ok(()),
        }
    }

    /// Lets the thread write everything queued, close our sending half of the
    /// socket (so the peer sees end-of-stream after the last frame), and waits for
    /// it. A failure not yet reported is returned; later calls return `Ok`.
    pub(crate) fn finish(&mut self) -> Result<(), NetError> {
        let Some(Running { queue, thread }) = self.running.take() else {
            return Ok(());
        };
        // Closing the queue is what tells the thread to wind down.
        drop(queue);
        match thread.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(self.write_error(error)),
            Err(_) => Err(NetError::Io {
                context: format!("writing to {}", self.peer),
                source: io::Error::other("the writer thread panicked"),
            }),
        }
    }

    fn write_error(&self, error: io::Error) -> NetError {
        let peer = self.peer;
        if let Some(source) = tls_source(&error) {
            NetError::TlsChannel {
                peer,
                source: source.clone(),
            }
        } else if is_disconnect(&error) {
            NetError::PeerDisconnected { peer }
        } else if is_timeout(&error) {
            NetError::SendTimeout {
                peer,
                timeout: self.io_timeout,
            }
        } else {
            NetError::Io {
                context: format!("writing to {peer}"),
                source: error,
            }
        }
    }
}

/// Runs until the queue is closed (then flushes and shuts down writing) or a write
/// fails (then returns the error, dropping what is still queued).
fn write_loop(stream: WriteHalf, pending: &Receiver<Vec<u8>>) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(BUFFER_BYTES, stream);
    loop {
        let payload = match pending.try_recv() {
            Ok(payload) => payload,
            Err(TryRecvError::Empty) => {
                // Nothing more to batch: push out what we have before sleeping.
                out.flush()?;
                match pending.recv() {
                    Ok(payload) => payload,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        write_frame(&mut out, &payload)?;
    }
    out.flush()?;
    out.get_mut().finish()
}

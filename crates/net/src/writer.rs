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
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use cryptflow_ring::Party;

use crate::duplex::WriteHalf;
use crate::error::{is_disconnect, is_timeout, tls_source};
use crate::frame::write_frame;
use crate::NetError;

const BUFFER_BYTES: usize = 64 << 10;

/// Payload bytes handed to the thread and not yet written, for a bounded queue.
#[derive(Debug, Default)]
struct Queued {
    bytes: Mutex<usize>,
    written: Condvar,
}

impl Queued {
    fn remove(&self, bytes: usize) {
        if let Ok(mut queued) = self.bytes.lock() {
            *queued = queued.saturating_sub(bytes);
        }
        self.written.notify_all();
    }
}

/// How often a sender blocked on a full queue checks that the thread still runs.
const QUEUE_POLL: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(crate) struct Writer {
    peer: Party,
    io_timeout: Duration,
    /// With a limit: the bytes queued, which `send` keeps under it.
    limit: Option<(usize, Arc<Queued>)>,
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
        limit: Option<usize>,
    ) -> Result<Writer, NetError> {
        let (queue, pending) = mpsc::channel();
        let limit = limit.map(|bytes| (bytes, Arc::new(Queued::default())));
        let queued = limit.as_ref().map(|(_, queued)| Arc::clone(queued));
        let thread = thread::Builder::new()
            .name(format!("cryptflow-net P{}->P{}", me.index(), peer.index()))
            .spawn(move || write_loop(stream, &pending, queued.as_deref()))
            .map_err(|source| NetError::Io {
                context: format!("starting the writer thread for {peer}"),
                source,
            })?;
        Ok(Writer {
            peer,
            io_timeout,
            limit,
            running: Some(Running { queue, thread }),
        })
    }

    /// Queues one payload; never blocks on the peer, unless the queue is bounded
    /// and full: then it waits until the thread has written enough.
    pub(crate) fn send(&mut self, payload: Vec<u8>) -> Result<(), NetError> {
        self.check()?;
        self.wait_for_room(payload.len())?;
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

    fn wait_for_room(&mut self, bytes: usize) -> Result<(), NetError> {
        let Some((limit, queued)) = &self.limit else {
            return Ok(());
        };
        let queued = Arc::clone(queued);
        let limit = *limit;
        let Ok(mut waiting) = queued.bytes.lock() else {
            return Ok(());
        };
        // An empty queue takes any message, however long.
        while *waiting > 0 && *waiting + bytes > limit {
            waiting = match queued.written.wait_timeout(waiting, QUEUE_POLL) {
                Ok((guard, _)) => guard,
                Err(_) => return Ok(()),
            };
            if self
                .running
                .as_ref()
                .is_some_and(|r| r.thread.is_finished())
            {
                drop(waiting);
                return self.check();
            }
        }
        *waiting += bytes;
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
fn write_loop(
    stream: WriteHalf,
    pending: &Receiver<Vec<u8>>,
    queued: Option<&Queued>,
) -> io::Result<()> {
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
        if let Some(queued) = queued {
            queued.remove(payload.len());
        }
    }
    out.flush()?;
    out.get_mut().finish()
}

//! A connection whose setup is done, plaintext or TLS, and its split into the half
//! the link reads from and the half its writer thread writes to.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};

use crate::tls::channel::{self, TlsReader, TlsWriter};

/// What the connection setup hands to a link.
#[derive(Debug)]
pub(crate) enum Established {
    Plain(TcpStream),
    /// The TLS handshake and the hello inside it are complete.
    Tls {
        socket: TcpStream,
        /// Boxed: a connection's state is over a kilobyte.
        tls: Box<rustls::Connection>,
    },
}

impl Established {
    pub(crate) fn socket(&self) -> &TcpStream {
        match self {
            Established::Plain(socket) | Established::Tls { socket, .. } => socket,
        }
    }

    pub(crate) fn split(self) -> io::Result<(ReadHalf, WriteHalf)> {
        match self {
            Established::Plain(socket) => {
                let write = socket.try_clone()?;
                Ok((ReadHalf::Plain(socket), WriteHalf::Plain(write)))
            }
            Established::Tls { socket, tls } => {
                let (read, write) = channel::split(socket, *tls)?;
                Ok((ReadHalf::Tls(read), WriteHalf::Tls(write)))
            }
        }
    }
}

#[derive(Debug)]
pub(crate) enum ReadHalf {
    Plain(TcpStream),
    Tls(TlsReader),
}

impl ReadHalf {
    /// The socket underneath, for reading and dropping what is left at close.
    pub(crate) fn socket(&self) -> &TcpStream {
        match self {
            ReadHalf::Plain(socket) => socket,
            ReadHalf::Tls(reader) => reader.socket(),
        }
    }
}

impl Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ReadHalf::Plain(socket) => socket.read(buf),
            ReadHalf::Tls(reader) => reader.read(buf),
        }
    }
}

#[derive(Debug)]
pub(crate) enum WriteHalf {
    Plain(TcpStream),
    Tls(TlsWriter),
}

impl WriteHalf {
    /// After the last message: ends the TLS session (close_notify), then closes our
    /// sending half of the socket so that the peer sees end-of-stream.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        let socket = match self {
            WriteHalf::Plain(socket) => &*socket,
            WriteHalf::Tls(writer) => {
                writer.close()?;
                writer.socket()
            }
        };
        match socket.shutdown(Shutdown::Write) {
            // The peer may already have closed; everything was written, which is all
            // we promise.
            Err(error) if error.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

impl Write for WriteHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Plain(socket) => socket.write(buf),
            WriteHalf::Tls(writer) => writer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            WriteHalf::Plain(socket) => socket.flush(),
            WriteHalf::Tls(writer) => writer.flush(),
        }
    }
}

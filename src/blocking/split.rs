//! Full duplex over TCP: a [`Reader`] and a [`Writer`] for two threads
//! (RFC 6455 §5.4: control frames may be interleaved with a fragmented
//! message, so answers to pings never wait for the writer's messages to end).
//!
//! Both halves share the [`Connection`] behind a mutex that is never held
//! across I/O, and the socket's write side behind a second mutex. Writing
//! takes the write lock, then briefly the connection lock to take every
//! queued chunk, then writes them: frames leave in the order they were
//! queued, never interleaved.

use core::fmt;
use core::time::Duration;
use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};

use std::string::String;
use std::vec::Vec;

use bytes::Bytes;

use super::io::{Driver, ReadState, lock, write_chunks};
use crate::{CloseCode, Connection, Event, Message, StreamError};

struct Shared {
    conn: Mutex<Connection>,
    write: Mutex<WriteHalf>,
    protocol: Option<String>,
}

struct WriteHalf {
    stream: TcpStream,
    /// A write failed: part of a frame may be lost, nothing more may be sent.
    broken: bool,
}

impl Shared {
    /// Writes everything queued, in order. A write failure is fatal: the
    /// chunks taken off the queue cannot be put back, so the socket is shut
    /// down (the reader then sees the end of the transport).
    fn flush(&self) -> Result<(), StreamError> {
        let mut w = lock(&self.write);
        if w.broken {
            return Err(StreamError::Io(io::ErrorKind::BrokenPipe.into()));
        }
        loop {
            let chunks: Vec<Bytes> = {
                let mut conn = lock(&self.conn);
                core::iter::from_fn(|| conn.pop_output()).collect()
            };
            if chunks.is_empty() {
                return Ok(());
            }
            if let Err(e) = write_chunks(&mut w.stream, &chunks) {
                w.broken = true;
                let _ = w.stream.shutdown(Shutdown::Both);
                return Err(StreamError::Io(e));
            }
        }
    }
}

pub(super) fn new(
    read_half: TcpStream,
    write_half: TcpStream,
    conn: Connection,
    state: ReadState,
    protocol: Option<String>,
) -> (Reader, Writer) {
    let shared = Arc::new(Shared {
        conn: Mutex::new(conn),
        write: Mutex::new(WriteHalf {
            stream: write_half,
            broken: false,
        }),
        protocol,
    });
    (
        Reader {
            stream: read_half,
            state,
            shared: Arc::clone(&shared),
        },
        Writer { shared },
    )
}

/// The receiving half of a split [`WebSocket<TcpStream>`](super::WebSocket).
///
/// It writes pongs and close echoes itself (through the shared write lock).
pub struct Reader {
    stream: TcpStream,
    state: ReadState,
    shared: Arc<Shared>,
}

/// The sending half of a split [`WebSocket<TcpStream>`](super::WebSocket).
///
/// Its methods take `&self`: clones (or an `Arc`) may send from several threads.
#[derive(Clone)]
pub struct Writer {
    shared: Arc<Shared>,
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

struct SplitDriver<'a> {
    stream: &'a TcpStream,
    shared: &'a Shared,
}

impl Driver for SplitDriver<'_> {
    fn with_conn<R>(&mut self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(&mut lock(&self.shared.conn))
    }

    fn flush_output(&mut self) -> Result<(), StreamError> {
        self.shared.flush()
    }

    fn read_transport(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let mut stream = self.stream;
        stream.read(dst)
    }

    fn shutdown(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Option<Option<Duration>> {
        let previous = self.stream.read_timeout().ok()?;
        self.stream.set_read_timeout(timeout).ok()?;
        Some(previous)
    }
}

impl Reader {
    /// Reads the next message, as [`WebSocket::read`](super::WebSocket::read)
    /// does. Blocking here does not hold up the [`Writer`].
    ///
    /// # Errors
    /// As [`WebSocket::read`](super::WebSocket::read).
    pub fn read(&mut self) -> Result<Message, StreamError> {
        self.read_event().map(Message::from)
    }

    /// Reads the next [`Event`], as [`WebSocket::read_event`](super::WebSocket::read_event).
    ///
    /// # Errors
    /// As [`WebSocket::read`](super::WebSocket::read).
    pub fn read_event(&mut self) -> Result<Event, StreamError> {
        let mut d = SplitDriver {
            stream: &self.stream,
            shared: &self.shared,
        };
        self.state.read_event(&mut d)
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.shared.protocol.as_deref()
    }

    /// The socket this half reads from.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// Runs `f` on the shared connection (keep it short: the writer waits).
    pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(&mut lock(&self.shared.conn))
    }
}

impl Writer {
    /// Queues `message` and writes everything queued.
    ///
    /// # Errors
    /// As [`WebSocket::send`](super::WebSocket::send); a failed write is
    /// fatal for a split connection (the socket is shut down).
    pub fn send(&self, message: Message) -> Result<(), StreamError> {
        self.write(message)?;
        self.flush()
    }

    /// Queues `message` without writing it; [`flush`](Self::flush) writes it.
    ///
    /// # Errors
    /// [`StreamError::Protocol`] if the core refuses the message.
    pub fn write(&self, message: Message) -> Result<(), StreamError> {
        lock(&self.shared.conn).send(message)?;
        Ok(())
    }

    /// Writes everything queued.
    ///
    /// # Errors
    /// [`StreamError::Io`] if the write fails (fatal, see [`send`](Self::send)).
    pub fn flush(&self) -> Result<(), StreamError> {
        self.shared.flush()
    }

    /// Starts the close handshake (§7.1.2); the [`Reader`] then returns the
    /// peer's close frame.
    ///
    /// # Errors
    /// As [`WebSocket::close`](super::WebSocket::close).
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        lock(&self.shared.conn).close(code, reason)?;
        self.flush()
    }

    /// Runs `f` on the shared connection (for example to queue fragments with
    /// [`Connection::send_fragment`]); call [`flush`](Self::flush) afterwards.
    pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(&mut lock(&self.shared.conn))
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.shared.protocol.as_deref()
    }
}

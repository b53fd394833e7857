//! [`WebSocket`]: one connection over one blocking stream (RFC 6455 §5–§7).

use core::fmt;
use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};

use std::string::String;

use bytes::BytesMut;

use super::DEFAULT_CLOSE_TIMEOUT;
use super::io::{Driver, ReadState, write_output};
use crate::{CloseCode, Connection, Event, Message, StreamError};

/// Queued output past which [`WebSocket::write`] writes to the stream.
const WRITE_BUFFER_LIMIT: usize = 128 << 10;

/// What the adapter can do with a transport beyond reading and writing:
/// set for a `TcpStream` by the TCP entry points, absent for other streams.
pub(super) struct Hooks<S> {
    pub(super) shutdown: fn(&S),
    pub(super) read_timeout: fn(&S) -> io::Result<Option<Duration>>,
    pub(super) set_read_timeout: fn(&S, Option<Duration>) -> io::Result<()>,
}

impl<S> Clone for Hooks<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for Hooks<S> {}

pub(super) fn tcp_hooks() -> Hooks<TcpStream> {
    Hooks {
        shutdown: |s| {
            let _ = s.shutdown(Shutdown::Both);
        },
        read_timeout: TcpStream::read_timeout,
        set_read_timeout: TcpStream::set_read_timeout,
    }
}

/// A WebSocket connection over a blocking stream `S`.
///
/// Obtained from [`connect`](super::connect), [`client`](super::client),
/// [`accept`](super::accept) and the other handshake functions, or built with
/// [`from_connection`](Self::from_connection) after a handshake done elsewhere.
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    reader: ReadState,
    protocol: Option<String>,
    hooks: Option<Hooks<S>>,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("connection", &self.conn)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

struct Direct<'a, S> {
    stream: &'a mut S,
    conn: &'a mut Connection,
    hooks: Option<Hooks<S>>,
}

impl<S: Read + Write> Driver for Direct<'_, S> {
    fn with_conn<R>(&mut self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(self.conn)
    }

    fn flush_output(&mut self) -> Result<(), StreamError> {
        write_output(self.stream, self.conn).map_err(StreamError::Io)
    }

    fn read_transport(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        self.stream.read(dst)
    }

    fn shutdown(&mut self) {
        if let Some(h) = self.hooks {
            (h.shutdown)(self.stream);
        }
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Option<Option<Duration>> {
        let h = self.hooks?;
        let previous = (h.read_timeout)(self.stream).ok()?;
        (h.set_read_timeout)(self.stream, timeout).ok()?;
        Some(previous)
    }
}

impl<S: Read + Write> WebSocket<S> {
    /// A WebSocket over `stream` for a connection whose handshake is done:
    /// `buffered` holds the bytes read past the handshake (the peer's first
    /// frames), `protocol` the subprotocol agreed.
    ///
    /// The stream is closed by dropping the `WebSocket`.
    pub fn from_connection(
        stream: S,
        connection: Connection,
        buffered: BytesMut,
        protocol: Option<String>,
    ) -> Self {
        WebSocket {
            stream,
            conn: connection,
            reader: ReadState::new(buffered, DEFAULT_CLOSE_TIMEOUT),
            protocol,
            hooks: None,
        }
    }

    pub(super) fn with_hooks(mut self, hooks: Hooks<S>, close_timeout: Duration) -> Self {
        self.hooks = Some(hooks);
        self.reader.set_close_timeout(close_timeout);
        self
    }

    fn driver(&mut self) -> Direct<'_, S> {
        Direct {
            stream: &mut self.stream,
            conn: &mut self.conn,
            hooks: self.hooks,
        }
    }

    /// Reads the next message: text, binary, ping, pong or close.
    ///
    /// A ping's pong and a close frame's echo are written before the ping or
    /// the close is returned. After the peer's close, later calls return
    /// [`StreamError::Closed`] (a TCP client first waits, up to the close
    /// timeout, for the server to close the connection, §7.1.1).
    ///
    /// With [`Config::fragments`](crate::Config::fragments) on, data arrives
    /// as [`Message::Fragment`]s.
    ///
    /// # Errors
    /// - [`StreamError::Protocol`] when the peer violated the protocol (the
    ///   close frame with [`StreamError::close_code`] was written and the
    ///   transport shut down) or the transport ended before the close
    ///   handshake ([`Error::AbnormalClosure`](crate::Error::AbnormalClosure), 1006);
    /// - [`StreamError::Closed`] once the connection is over;
    /// - [`StreamError::Io`] for a transport error. A read timeout set on the
    ///   stream (`WouldBlock` / `TimedOut`) loses nothing: call again.
    pub fn read(&mut self) -> Result<Message, StreamError> {
        self.read_event().map(Message::from)
    }

    /// Reads the next [`Event`], as [`read`](Self::read) does, including
    /// [`Event::Fragment`] when the configuration asks for fragments.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn read_event(&mut self) -> Result<Event, StreamError> {
        let mut d = Direct {
            stream: &mut self.stream,
            conn: &mut self.conn,
            hooks: self.hooks,
        };
        self.reader.read_event(&mut d)
    }

    /// Queues `message` and writes everything queued.
    ///
    /// # Errors
    /// [`StreamError::Protocol`] if the core refuses the message (for
    /// example [`Error::SendAfterClose`](crate::Error::SendAfterClose), or the
    /// connection's failure), [`StreamError::Io`] if the write fails (a timed
    /// out write keeps the rest queued for [`flush`](Self::flush)).
    pub fn send(&mut self, message: Message) -> Result<(), StreamError> {
        self.conn.send(message)?;
        self.flush()
    }

    /// Queues `message` without writing it, unless more than 128 KiB are
    /// queued, in which case the queue is written. Call
    /// [`flush`](Self::flush) to write the rest.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn write(&mut self, message: Message) -> Result<(), StreamError> {
        self.conn.send(message)?;
        if self.conn.pending_output() > WRITE_BUFFER_LIMIT {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything queued (with vectored writes: large payloads are not
    /// copied) and flushes the stream.
    ///
    /// # Errors
    /// [`StreamError::Io`] if the write fails; what was not written stays queued.
    pub fn flush(&mut self) -> Result<(), StreamError> {
        self.driver().flush_output()
    }

    /// Starts the close handshake (§7.1.2): writes a close frame with `code`
    /// and `reason`. Keep calling [`read`](Self::read) until it returns the
    /// peer's close (then [`StreamError::Closed`]).
    ///
    /// # Errors
    /// [`StreamError::Protocol`] with
    /// [`Error::InvalidCloseToSend`](crate::Error::InvalidCloseToSend) for a
    /// code that may not be sent or a reason over 123 bytes,
    /// [`Error::SendAfterClose`](crate::Error::SendAfterClose) if a close was
    /// already sent; [`StreamError::Io`] if the write fails.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        self.conn.close(code, reason)?;
        self.flush()
    }
}

impl<S> WebSocket<S> {
    /// The connection state machine (state, configuration, failure).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection state machine, for what this type does not wrap (for
    /// example [`Connection::send_fragment`]); call
    /// [`flush`](Self::flush) afterwards to write what was queued.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream. Reading from or writing to it directly
    /// corrupts the connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream, the connection and the bytes read but not yet consumed.
    pub fn into_parts(self) -> (S, Connection, BytesMut) {
        (self.stream, self.conn, self.reader.into_buffer())
    }
}

impl WebSocket<TcpStream> {
    /// Splits the connection into a [`Reader`](super::Reader) and a
    /// [`Writer`](super::Writer) that may be used from two threads at once.
    ///
    /// # Errors
    /// If the socket cannot be cloned ([`TcpStream::try_clone`]).
    pub fn split(self) -> io::Result<(super::Reader, super::Writer)> {
        let write_half = self.stream.try_clone()?;
        Ok(super::split::new(
            self.stream,
            write_half,
            self.conn,
            self.reader,
            self.protocol,
        ))
    }
}
